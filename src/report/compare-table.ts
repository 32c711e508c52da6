// Text table for `loadscope compare`: per-endpoint latency/goodput deltas with the Mann–Whitney p-value.
import type { Comparison } from '../analysis/compare.ts';
import { fmtNum, fmtSigned } from './format.ts';

const ms = (v: number | undefined): string => (v === undefined ? '—' : fmtNum(v, 1));

function table(head: string[], rows: string[][]): string {
  const widths = head.map((hd, i) => Math.max(hd.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Human-readable comparison; `*` marks the all-endpoints row. Control characters in names are dropped. */
export function formatComparison(c: Comparison, labels: { base: string; run: string }): string {
  const clean = (s: string): string => s.replace(/\p{Cc}/gu, '');
  const rows = c.endpoints.map((e) => [
    e.endpoint === '*' ? '* (all)' : clean(e.endpoint),
    `${ms(e.base?.p95Ms)} → ${ms(e.run?.p95Ms)}`,
    fmtSigned(e.p95Change),
    `${ms(e.base?.p99Ms)} → ${ms(e.run?.p99Ms)}`,
    fmtSigned(e.p99Change),
    `${e.base ? fmtNum(e.base.goodputRps) : '—'} → ${e.run ? fmtNum(e.run.goodputRps) : '—'}`,
    fmtSigned(e.goodputChange),
    e.p === null ? '—' : e.p < 0.0001 ? '<0.0001' : e.p.toFixed(4),
    e.change.toUpperCase(),
  ]);
  const out = [
    `base: ${clean(labels.base)}`,
    `run:  ${clean(labels.run)}`,
    '',
    table(['endpoint', 'p95 ms', 'Δp95', 'p99 ms', 'Δp99', 'goodput req/s', 'Δgoodput', 'p (M-W)', 'change'], rows),
    '',
  ];
  out.push(c.verdictChange ? `verdict: ${c.verdictChange.base} → ${c.verdictChange.run}` : 'verdict: unchanged');
  for (const s of c.sloChanges) out.push(`SLO ${clean(s.name)}: ${s.base} → ${s.run}`);
  const regressed = c.endpoints.filter((e) => e.change === 'regressed').map((e) => e.endpoint);
  out.push(regressed.length ? `regressed (significant): ${regressed.map(clean).join(', ')}` : 'no significant latency regression');
  return `${out.join('\n')}\n`;
}
