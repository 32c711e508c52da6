// Rolling (sliding-window) statistics for the per-second indicators (docs/ANALYSIS.md, "Reading a run back"):
// each window adds the seconds that enter and removes those that leave instead of re-merging every second of it,
// so a window costs O(buckets of the seconds that move + log buckets), not O(window × bucket range). Results are
// the same numbers as the full merge: bucket counts and the integer sums below add exactly in any order; a
// window where that does not hold (a sum past 2^53, a non-integer value) is computed by the full merge instead.
import { rankOf } from './compact-merge.ts';
import { compactStats, type BucketLayout, type CompactHistogram, type LatencyStats } from './histograms.ts';
import type { WindowS } from './types.ts';

/** Largest running sum kept incrementally: below it every partial sum of integers is exact in a double. */
const EXACT_LIMIT = Number.MAX_SAFE_INTEGER;

/** Buckets per block of the coarse level: a rank query walks the blocks, then one block. */
const BLOCK_BITS = 6;

/**
 * Bucket counts of one layout, dense, with per-block sums: add/remove O(1) a bucket, the rank queries of
 * `compactStats` one walk over the blocks and into the blocks where the ranks fall.
 */
class BucketCounts {
  private dense = new Float64Array(0);
  private blocks = new Float64Array(0);
  total = 0;
  sumMid = 0;
  sumSq = 0;
  /** False once a running sum may have rounded: queries then fall back to the full merge. */
  exact = true;

  constructor(readonly layout: BucketLayout) {}

  private grow(n: number): void {
    const size = Math.max(n, 2 * this.dense.length, 1 << 12);
    const dense = new Float64Array(size);
    dense.set(this.dense);
    const blocks = new Float64Array((size >> BLOCK_BITS) + 1);
    blocks.set(this.blocks);
    this.dense = dense;
    this.blocks = blocks;
  }

  /** sign +1 adds the histogram's buckets, −1 removes them. */
  apply(h: CompactHistogram, sign: 1 | -1): void {
    if (h.layout !== this.layout) throw new Error('histograms of different bucket layouts cannot be merged');
    const n = h.idx.length;
    if (n === 0) return;
    if (h.idx[n - 1]! >= this.dense.length) this.grow(h.idx[n - 1]! + 1);
    const { mid } = this.layout;
    const { dense, blocks } = this;
    let total = 0;
    let sumMid = 0;
    let sumSq = 0;
    for (let j = 0; j < n; j++) {
      const k = h.idx[j]!;
      const c = h.counts[j]!;
      dense[k]! += sign * c;
      blocks[k >> BLOCK_BITS]! += sign * c;
      const m = mid[k]!;
      total += c;
      sumMid += m * c;
      sumSq += m * m * c;
    }
    // the larger of the sums before and after bounds every partial sum of this step
    const larger =
      Math.max(this.total, this.total + sign * total) + Math.max(this.sumMid, this.sumMid + sign * sumMid) + Math.max(this.sumSq, this.sumSq + sign * sumSq);
    if (!Number.isInteger(total) || !Number.isInteger(sumMid) || !Number.isInteger(sumSq) || larger > EXACT_LIMIT) this.exact = false;
    this.total += sign * total;
    this.sumMid += sign * sumMid;
    this.sumSq += sign * sumSq;
  }

  /** The ranks of a query (p50, p95, p99, the last) and the bucket each falls in: reused, one query per window. */
  private readonly needs = new Float64Array(4);
  private readonly at = new Int32Array(4);

  /** Lowest bucket index whose cumulative count reaches each of `needs` (ascending, each 1 ≤ need ≤ total), into `at`. */
  private ranks(): void {
    const { dense, blocks, needs, at } = this;
    at.fill(-1);
    let cum = 0;
    let q = 0;
    for (let b = 0; b < blocks.length && q < needs.length; b++) {
      if (cum + blocks[b]! < needs[q]!) {
        cum += blocks[b]!;
        continue;
      }
      for (let k = b << BLOCK_BITS; k < Math.min(dense.length, (b + 1) << BLOCK_BITS) && q < needs.length; k++) {
        cum += dense[k]!;
        while (q < needs.length && dense[k]! > 0 && cum >= needs[q]!) at[q++] = k;
      }
    }
  }

  /** The fields of `compactStats` for the buckets held now, in its arithmetic; null when empty. */
  stats(): LatencyStats | null {
    const total = this.total;
    if (total === 0) return null;
    const { hi } = this.layout;
    const { needs, at } = this;
    for (let q = 0; q < 3; q++) needs[q] = rankOf(RANK_PCTS[q]!, total);
    needs[3] = total;
    this.ranks();
    const meanUs = this.sumMid / total;
    const sdMs = Math.sqrt(Math.max(0, this.sumSq / total - meanUs * meanUs)) / 1000;
    return {
      count: total,
      meanMs: meanUs / 1000,
      p50Ms: valueMs(hi, at[0]!),
      p95Ms: valueMs(hi, at[1]!),
      p99Ms: valueMs(hi, at[2]!),
      maxMs: valueMs(hi, at[3]!),
      sdMs,
    };
  }
}

/** Bucket k's highest equivalent value in ms (NaN for no bucket, k < 0). */
const valueMs = (hi: Float64Array, k: number): number => (k < 0 ? NaN : hi[k]!) / 1000;

/** The percentiles of `compactStats`, ascending. */
const RANK_PCTS = [50, 95, 99] as const;

/** The histogram lines a rolling query walks: sorted by second, each with its (merged) compact histogram. */
export interface RollingSource {
  readonly size: number;
  elapsedAt(i: number): number;
  histogramAt(i: number): CompactHistogram | null;
}

/** First line with elapsedS ≥ s (lowerBound) or > s (upperBound). */
function search(src: RollingSource, s: number, after: boolean): number {
  let lo = 0;
  let hi = src.size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = src.elapsedAt(mid);
    if (e < s || (after && e === s)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
const lowerBound = (src: RollingSource, s: number): number => search(src, s, false);
const upperBound = (src: RollingSource, s: number): number => search(src, s, true);

/**
 * `compactStats` of the lines with fromS ≤ elapsedS ≤ toS, for each window in turn, passed through `read` (so a
 * run's worth of windows keeps the figure it needs, not 28,800 statistics objects). Windows that move forward
 * (the usual trailing window per second) only add and remove the lines that enter and leave.
 */
export function rollingStats<T>(src: RollingSource, windows: readonly WindowS[], read: (s: LatencyStats | null, i: number) => T): T[] {
  let acc: BucketCounts | undefined;
  let from = 0;
  let to = 0;
  const move = (i: number, sign: 1 | -1): void => {
    const h = src.histogramAt(i);
    if (!h) return;
    acc ??= new BucketCounts(h.layout);
    acc.apply(h, sign);
  };
  return windows.map((w, k) => {
    const a = lowerBound(src, w.fromS);
    const b = Math.max(a, upperBound(src, w.toS));
    if (a >= from && b >= to) {
      for (let i = from; i < Math.min(a, to); i++) move(i, -1);
      for (let i = Math.max(to, a); i < b; i++) move(i, 1);
    } else {
      for (let i = from; i < to; i++) move(i, -1);
      for (let i = a; i < b; i++) move(i, 1);
    }
    from = a;
    to = b;
    if (!acc || acc.exact) return read(acc?.stats() ?? null, k);
    const parts: CompactHistogram[] = [];
    for (let i = a; i < b; i++) {
      const h = src.histogramAt(i);
      if (h) parts.push(h);
    }
    return read(compactStats(parts), k);
  });
}

/**
 * Request count and mean latency (ms) of each window, for the indicators that read only those (requests in flight):
 * prefix sums of each second's count and bucket mid-point sum, O(1) a window. They are integers, exact below 2^53,
 * so each window gives `rollingStats`' count and meanMs to the bit; a run where that does not hold (a sum past
 * 2^53, a non-integer count, seconds of different bucket layouts) takes `rollingStats` instead.
 */
export function rollingMeans(src: RollingSource, windows: readonly WindowS[]): ({ count: number; meanMs: number } | null)[] {
  const n = src.size;
  const count = new Float64Array(n + 1);
  const sumMid = new Float64Array(n + 1);
  let layout: BucketLayout | undefined;
  let exact = true;
  for (let i = 0; i < n && exact; i++) {
    const h = src.histogramAt(i);
    let c = 0;
    let s = 0;
    if (h) {
      layout ??= h.layout;
      if (h.layout !== layout) exact = false;
      const { mid } = h.layout;
      for (let j = 0; j < h.idx.length; j++) {
        c += h.counts[j]!;
        s += mid[h.idx[j]!]! * h.counts[j]!;
      }
    }
    if (!Number.isInteger(c) || !Number.isInteger(s)) exact = false;
    count[i + 1] = count[i]! + c;
    sumMid[i + 1] = sumMid[i]! + s;
  }
  if (!exact || count[n]! > EXACT_LIMIT || sumMid[n]! > EXACT_LIMIT) return rollingStats(src, windows, (s) => s && { count: s.count, meanMs: s.meanMs });
  return windows.map((w) => {
    const a = lowerBound(src, w.fromS);
    const b = Math.max(a, upperBound(src, w.toS));
    const total = count[b]! - count[a]!;
    return total === 0 ? null : { count: total, meanMs: (sumMid[b]! - sumMid[a]!) / total / 1000 };
  });
}
