// Decode and merge the per-second HdrHistograms (µs). Every latency percentile in the analysis comes from
// a merged histogram over the window in question; stored per-second percentiles are never averaged.
import * as hdr from 'hdr-histogram-js';
import type { HistogramLine, WindowS } from './types.ts';

export type Histogram = hdr.Histogram;

/** Pseudo-endpoint name meaning "all endpoints merged". */
export const ALL_ENDPOINTS = '*';

export function createHistogram(): Histogram {
  // auto-resizing so histograms of any stored range can be added; pure JS (no wasm to destroy)
  return hdr.build({ bitBucketSize: 'packed', autoResize: true, useWebAssembly: false, numberOfSignificantValueDigits: 3 });
}

/** Decodes one compressed-base64 histogram; undefined when the payload is corrupt. */
export function decodeHistogram(b64: string): Histogram | undefined {
  try {
    return hdr.decodeFromCompressedBase64(b64, 32, false);
  } catch {
    return undefined;
  }
}

export interface LatencyStats {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Standard deviation, ms (bucket mid-points); absent where not computed. */
  sdMs?: number;
}

/** Percentiles (ms) of one histogram; null when it holds no values (no-data, never 0). */
export function latencyStats(h: Histogram): LatencyStats | null {
  if (h.totalCount === 0) return null;
  const ms = (us: number): number => us / 1000;
  return {
    count: h.totalCount,
    meanMs: ms(h.mean),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p95Ms: ms(h.getValueAtPercentile(95)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    maxMs: ms(h.maxValue),
  };
}

/** Non-zero buckets of one histogram: highest-equivalent value (µs), median-equivalent value (µs), count. */
export interface SparseHistogram {
  hi: number[];
  mid: number[];
  counts: number[];
}

export function toSparse(h: Histogram): SparseHistogram {
  const js = h as unknown as hdr.JsHistogram;
  const out: SparseHistogram = { hi: [], mid: [], counts: [] };
  if (h.totalCount === 0) return out;
  const maxIdx = Math.min(js.countsArrayLength, js.countsArrayIndex(h.maxValue) + 1);
  for (let i = js.countsArrayIndex(h.minNonZeroValue); i < maxIdx; i++) {
    const c = js.getCountAtIndex(i);
    if (c > 0) {
      const v = js.valueFromIndex(i);
      out.hi.push(js.highestEquivalentValue(v));
      out.mid.push(js.medianEquivalentValue(v));
      out.counts.push(c);
    }
  }
  return out;
}

/**
 * Percentiles of the union of sparse histograms that share one bucket layout (all stored lines do: 3
 * significant digits, µs). Bucket counts add exactly, so this equals `getValueAtPercentile` of the added
 * histogram (same rank rule as HdrHistogram: count at p = max(1, round(p/100 · total))).
 */
export function sparseStats(parts: readonly SparseHistogram[]): LatencyStats | null {
  const acc = new Map<number, { mid: number; count: number }>();
  let total = 0;
  for (const p of parts) {
    for (let i = 0; i < p.hi.length; i++) {
      const e = acc.get(p.hi[i]!);
      if (e) e.count += p.counts[i]!;
      else acc.set(p.hi[i]!, { mid: p.mid[i]!, count: p.counts[i]! });
      total += p.counts[i]!;
    }
  }
  if (total === 0) return null;
  const keys = [...acc.keys()].sort((a, b) => a - b);
  const at = (pct: number): number => {
    const need = Math.max(1, Math.floor((pct / 100) * total + 0.5));
    let cum = 0;
    for (const k of keys) {
      cum += acc.get(k)!.count;
      if (cum >= need) return k;
    }
    return keys[keys.length - 1]!;
  };
  let sumMid = 0;
  let sumSq = 0;
  for (const k of keys) {
    const { mid, count } = acc.get(k)!;
    sumMid += mid * count;
    sumSq += mid * mid * count;
  }
  const meanUs = sumMid / total;
  const sdMs = Math.sqrt(Math.max(0, sumSq / total - meanUs * meanUs)) / 1000;
  return { count: total, meanMs: meanUs / 1000, p50Ms: at(50) / 1000, p95Ms: at(95) / 1000, p99Ms: at(99) / 1000, maxMs: keys[keys.length - 1]! / 1000, sdMs };
}

/** Index of stored histogram lines by second; decodes each (line, endpoint) once. */
export class HistogramIndex {
  private readonly lines: readonly HistogramLine[];
  private readonly cache = new Map<string, SparseHistogram | null>();
  /** Payloads that failed to decode (reported by the validity check). */
  corrupt = 0;

  constructor(lines: readonly HistogramLine[]) {
    this.lines = [...lines].filter((l) => Number.isFinite(l.elapsedS)).sort((a, b) => a.elapsedS - b.elapsedS);
  }

  get size(): number {
    return this.lines.length;
  }

  endpoints(): string[] {
    const names = new Set<string>();
    for (const l of this.lines) for (const n of Object.keys(l.endpoints)) names.add(n);
    return [...names].sort();
  }

  private sparse(i: number, name: string): SparseHistogram | null {
    const key = `${i}\u0000${name}`;
    if (this.cache.has(key)) return this.cache.get(key) ?? null;
    const b64 = this.lines[i]?.endpoints[name];
    const h = b64 === undefined ? undefined : decodeHistogram(b64);
    if (b64 !== undefined && !h) this.corrupt++;
    const s = h ? toSparse(h) : null;
    this.cache.set(key, s);
    return s;
  }

  private lowerBound(s: number): number {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lines[mid]!.elapsedS < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private parts(endpoint: string, windows: WindowS | readonly WindowS[]): SparseHistogram[] {
    const ws = Array.isArray(windows) ? (windows as readonly WindowS[]) : [windows as WindowS];
    const out: SparseHistogram[] = [];
    const seen = new Set<number>();
    for (const w of ws) {
      for (let i = this.lowerBound(w.fromS); i < this.lines.length && this.lines[i]!.elapsedS <= w.toS; i++) {
        if (seen.has(i)) continue;
        seen.add(i);
        const names = endpoint === ALL_ENDPOINTS ? Object.keys(this.lines[i]!.endpoints) : [endpoint];
        for (const n of names) {
          const s = this.sparse(i, n);
          if (s) out.push(s);
        }
      }
    }
    return out;
  }

  /** Merged percentiles for `endpoint` (or ALL_ENDPOINTS) over lines with fromS ≤ elapsedS ≤ toS; null when empty. */
  stats(endpoint: string, windows: WindowS | readonly WindowS[]): LatencyStats | null {
    return sparseStats(this.parts(endpoint, windows));
  }

  /** Requests slower than `ms` (bucket's highest equivalent value above it, the rank rule of `stats`). */
  countAbove(endpoint: string, windows: WindowS | readonly WindowS[], ms: number): number {
    const us = ms * 1000;
    let n = 0;
    for (const p of this.parts(endpoint, windows)) for (let i = 0; i < p.hi.length; i++) if (p.hi[i]! > us) n += p.counts[i]!;
    return n;
  }

  /** Decodes every payload once (so `corrupt` is complete). */
  decodeAll(): void {
    this.parts(ALL_ENDPOINTS, { fromS: -Infinity, toS: Infinity });
  }
}

/** Merges already-decoded histograms. */
export function mergeHistograms(hs: readonly Histogram[]): Histogram {
  const out = createHistogram();
  for (const h of hs) out.add(h);
  return out;
}
