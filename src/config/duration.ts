// Human durations and percentages → numbers with units in their names (ms, ratio).

const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `500ms`, `1s`, `1m30s`, `8h`, or a number of ms → ms; undefined when malformed. */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const s = input.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Number(s);
  if (!DURATION_RE.test(s)) return undefined;
  let totalMs = 0;
  for (const m of s.matchAll(PART_RE)) totalMs += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return totalMs;
}

/** `1%` → 0.01; a bare number is already a ratio. */
export function parsePercentRatio(input: string | number): number | undefined {
  if (typeof input === 'number') return input >= 0 && input <= 1 ? input : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(input.trim());
  if (!m) return undefined;
  const ratio = Number(m[1]) / 100;
  return ratio <= 1 ? ratio : undefined;
}

export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(2)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1_000);
  return s ? `${m}m${s}s` : `${m}m`;
}
