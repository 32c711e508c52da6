// Merging compact histograms (histograms.ts CompactHistogram: a histogram's non-zero buckets of one layout) and their
// percentiles: bucket counts add exactly, so a merged window's statistics are those of the added HdrHistograms.
// Pure arithmetic on typed arrays; the HdrHistogram library stays behind histograms.ts.
import type { BucketLayout, CompactHistogram, LatencyStats } from './histograms.ts';

/**
 * Adds the parts' counts into the layout's scratch; returns the lowest and highest index touched and the total.
 * The caller reads the touched indices in order (`touchedIndices`: a long window's buckets are dense within a few
 * binary orders of magnitude, so it walks the range; a second's few buckets are sorted instead) and zeroes them.
 */
function accumulate(layout: BucketLayout, parts: readonly CompactHistogram[]): { lo: number; hi: number; total: number } {
  const acc = layout.scratch;
  let lo = Infinity;
  let hi = -1;
  let total = 0;
  for (const p of parts) {
    const n = p.idx.length;
    if (n === 0) continue;
    if (p.idx[0]! < lo) lo = p.idx[0]!;
    if (p.idx[n - 1]! > hi) hi = p.idx[n - 1]!;
    for (let j = 0; j < n; j++) {
      acc[p.idx[j]!]! += p.counts[j]!;
      total += p.counts[j]!;
    }
  }
  return { lo, hi, total };
}

/**
 * Fixed-size slabs that the merged per-second histograms are views into: one allocation per ~1 M buckets, not
 * two per second. 3 bytes a bucket when no bucket of the second holds more than 255 requests (the usual second:
 * its requests spread over as many buckets), else 6 (a 3-digit µs layout has < 65,536 indices; a second's bucket
 * count < 2³²); a histogram outside that range gets arrays of its own.
 */
export class CompactSlabs {
  private readonly idx = new Slab(Uint16Array);
  private readonly narrow = new Slab(Uint8Array);
  private readonly wide = new Slab(Uint32Array);

  take(n: number, maxCount: number): { idx: Uint16Array; counts: Uint8Array | Uint32Array } {
    return { idx: this.idx.take(n), counts: maxCount <= 0xff ? this.narrow.take(n) : this.wide.take(n) };
  }
}

class Slab<T extends Uint8Array | Uint16Array | Uint32Array> {
  private buf: T;
  private used = 0;

  constructor(private readonly make: new (n: number) => T) {
    this.buf = new make(0);
  }

  take(n: number): T {
    if (this.used + n > this.buf.length) {
      this.buf = new this.make(Math.max(n, SLAB_BUCKETS));
      this.used = 0;
    }
    this.used += n;
    return this.buf.subarray(this.used - n, this.used) as T;
  }
}

const SLAB_BUCKETS = 1 << 20;

/**
 * The non-zero indices of the layout's scratch between lo and hi, ascending and each once. Fewer listed indices than
 * the range (a second's endpoints: ~200 buckets spread over ~5,000 indices) are marked in the layout's bitmap and
 * read back in order, a word at a time: no sort. Otherwise (a long window, dense) the range is walked.
 */
function touchedIndices(layout: BucketLayout, parts: readonly CompactHistogram[], lo: number, hi: number): Int32Array {
  let listed = 0;
  for (const p of parts) listed += p.idx.length;
  const range = hi - lo + 1;
  const most = Math.min(listed, range);
  if (layout.touched.length < most) layout.touched = new Int32Array(Math.max(most, 2 * layout.touched.length));
  const out = layout.touched;
  const acc = layout.scratch;
  let n = 0;
  if (listed < range) {
    const bits = layout.bits;
    for (const p of parts) {
      const idx = p.idx;
      for (let j = 0; j < idx.length; j++) bits[idx[j]! >> 5]! |= 1 << (idx[j]! & 31);
    }
    for (let w = lo >> 5; w <= hi >> 5; w++) {
      let x = bits[w]!;
      if (x === 0) continue;
      bits[w] = 0;
      while (x !== 0) {
        const lowest = x & -x;
        const k = (w << 5) + 31 - Math.clz32(lowest);
        if (acc[k] !== 0) out[n++] = k;
        x ^= lowest;
      }
    }
    return out.subarray(0, n);
  }
  for (let k = lo; k <= hi; k++) if (acc[k] !== 0) out[n++] = k;
  return out.subarray(0, n);
}

/** The parts merged into one compact histogram (e.g. one second's endpoints), stored in `slabs` when given. */
export function mergeCompact(parts: readonly CompactHistogram[], slabs?: CompactSlabs): CompactHistogram | null {
  const layout = parts[0]?.layout;
  if (!layout) return null;
  for (const p of parts) if (p.layout !== layout) throw new Error('histograms of different bucket layouts cannot be merged');
  const { lo, hi } = accumulate(layout, parts);
  const acc = layout.scratch;
  const touched = touchedIndices(layout, parts, lo, hi);
  const n = touched.length;
  let maxCount = 0;
  for (let j = 0; j < n; j++) maxCount = Math.max(maxCount, acc[touched[j]!]!);
  const out = slabs && hi <= 0xffff && maxCount <= 0xffffffff ? slabs.take(n, maxCount) : { idx: new Int32Array(n), counts: new Float64Array(n) };
  for (let j = 0; j < n; j++) {
    const k = touched[j]!;
    out.idx[j] = k;
    out.counts[j] = acc[k]!;
    acc[k] = 0;
  }
  return { layout, idx: out.idx, counts: out.counts };
}

/**
 * Percentiles of the union of compact histograms of one layout. Bucket counts add exactly, so this equals
 * `getValueAtPercentile` of the added histogram (same rank rule as HdrHistogram: count at p = max(1,
 * ⌈p/100 · total⌉)), reported as the bucket's highest equivalent value; mean and SD from bucket mid-points.
 */
export function compactStats(parts: readonly CompactHistogram[]): LatencyStats | null {
  const merged = parts.length === 1 ? parts[0]! : mergeCompact(parts);
  return merged ? bucketStats(merged) : null;
}

/** The rank of percentile `pct` in `total` counts: HdrHistogram's rule (hdr-histogram-js getValueAtPercentile, which the
 * per-second values and the live stop rule use), max(1, ⌈pct/100 · total⌉), the product's last-bit rounding forgiven. */
export function rankOf(pct: number, total: number): number {
  const exact = (pct / 100) * total;
  // one unit in the last place of the product, as the library takes it
  const ulp = exact > 0 ? 2 ** (Math.floor(Math.log2(exact)) - 52) : 0;
  return Math.max(1, Math.ceil(exact - ulp));
}

/** A rank's value in ms; the highest bucket's when no bucket reached it. */
const orMax = (atUs: number, maxUs: number): number => (Number.isNaN(atUs) ? maxUs : atUs) / 1000;

/**
 * `compactStats` of one histogram, whose buckets are the non-zero ones in ascending index order. Plain locals, no
 * array or closure per call: it runs once per second of a run (MSER-5's p95, the tail episodes' p99).
 */
function bucketStats(p: CompactHistogram): LatencyStats | null {
  const { hi, mid } = p.layout;
  const n = p.idx.length;
  let total = 0;
  for (let j = 0; j < n; j++) total += p.counts[j]!;
  if (total === 0) return null;
  const need50 = rankOf(50, total);
  const need95 = rankOf(95, total);
  const need99 = rankOf(99, total);
  let at50 = NaN;
  let at95 = NaN;
  let at99 = NaN;
  let cum = 0;
  let sumMid = 0;
  let sumSq = 0;
  for (let j = 0; j < n; j++) {
    const k = p.idx[j]!;
    const count = p.counts[j]!;
    cum += count;
    // the ranks ascend: each is taken at the first bucket whose cumulative count reaches it
    if (Number.isNaN(at99) && cum >= need50) {
      if (Number.isNaN(at50)) at50 = hi[k]!;
      if (Number.isNaN(at95) && cum >= need95) at95 = hi[k]!;
      if (cum >= need99) at99 = hi[k]!;
    }
    sumMid += mid[k]! * count;
    sumSq += mid[k]! * mid[k]! * count;
  }
  const maxUs = hi[p.idx[n - 1]!]!;
  const meanUs = sumMid / total;
  const sdMs = Math.sqrt(Math.max(0, sumSq / total - meanUs * meanUs)) / 1000;
  return { count: total, meanMs: meanUs / 1000, p50Ms: orMax(at50, maxUs), p95Ms: orMax(at95, maxUs), p99Ms: orMax(at99, maxUs), maxMs: maxUs / 1000, sdMs };
}
