// Decode and merge the per-second HdrHistograms (µs). Every latency percentile in the analysis comes from
// a merged histogram over the window in question; stored per-second percentiles are never averaged.
import * as hdr from 'hdr-histogram-js';
// declares JsHistogram.decode (the uncompressed V2 decoder), which the package's index types leave out
import type {} from 'hdr-histogram-js/dist/JsHistogram.encoding.js';
import { Buffer } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import { CompactSlabs, compactStats, mergeCompact } from './compact-merge.ts';
import type { HistogramLine, WindowS } from './types.ts';

export { compactStats, mergeCompact } from './compact-merge.ts';

export type Histogram = hdr.Histogram;

/** Pseudo-endpoint name meaning "all endpoints merged". */
export const ALL_ENDPOINTS = '*';

export function createHistogram(): Histogram {
  // auto-resizing so histograms of any stored range can be added; pure JS (no wasm to destroy)
  return hdr.build({ bitBucketSize: 'packed', autoResize: true, useWebAssembly: false, numberOfSignificantValueDigits: 3 });
}

/** Decodes one stored histogram (V2 encoding, base64, uncompressed or compressed); undefined when the payload is corrupt. */
export function decodeHistogram(b64: string): Histogram | undefined {
  try {
    const raw = Buffer.from(b64, 'base64');
    if (raw.length >= 4 && (raw.readInt32BE(0) & ~0xf0) === V2_COOKIE) return hdr.JsHistogram.decode(raw, 32);
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

/**
 * The non-zero buckets of one histogram, compact: bucket indices (ascending) and their counts. Indices of one
 * `BucketLayout` (lowest value and precision) map to the same values in every histogram, so merging is adding
 * counts per index. A run keeps one of these per second (all endpoints merged) instead of decoded histograms:
 * a few hundred bytes where a decoded 3-digit histogram is ~110 kB (docs/ANALYSIS.md, "Reading a run back").
 */
export interface CompactHistogram {
  layout: BucketLayout;
  idx: Int32Array | Uint16Array;
  counts: Float64Array | Uint32Array | Uint8Array;
}

/** Index → highest / median equivalent value (µs) for one lowest value and precision, filled as indices are seen. */
export class BucketLayout {
  /** Dense by index (typed: a holey JS array filled out of order goes to dictionary mode and every lookup is slow). */
  hi = new Float64Array(0);
  mid = new Float64Array(0);
  private known = new Uint8Array(0);
  private readonly ref: hdr.JsHistogram;
  /** Dense scratch counts for merging, zeroed again after each merge, and the indices it touched. */
  scratch = new Float64Array(0);
  touched = new Int32Array(0);
  /** One bit per index, all clear between merges: the indices a merge touched, read back in order. */
  bits = new Int32Array(0);

  constructor(lowest: number, highest: number, digits: number) {
    this.ref = new hdr.Int32Histogram(lowest, highest, digits);
  }

  see(i: number): void {
    if (i >= this.known.length) this.grow(i + 1);
    if (this.known[i]) return;
    const v = this.ref.valueFromIndex(i);
    this.hi[i] = this.ref.highestEquivalentValue(v);
    this.mid[i] = this.ref.medianEquivalentValue(v);
    this.known[i] = 1;
  }

  private grow(min: number): void {
    const n = Math.max(min, this.known.length * 2, 1024);
    const copy = <T extends Float64Array | Uint8Array | Int32Array>(a: T, b: T): T => (b.set(a), b);
    this.hi = copy(this.hi, new Float64Array(n));
    this.mid = copy(this.mid, new Float64Array(n));
    this.known = copy(this.known, new Uint8Array(n));
    this.scratch = copy(this.scratch, new Float64Array(n));
    this.bits = copy(this.bits, new Int32Array((n >> 5) + 1));
  }
}

const V2_COMPRESSED_COOKIE = 0x1c849304;
const V2_COOKIE = 0x1c849303;
const layouts = new Map<string, BucketLayout>();
/** The layout of the last payload: a run's payloads share one, so most lookups build no key. */
let lastLayout: { lowest: number; digits: number; layout: BucketLayout } | undefined;

function layoutFor(lowest: number, highest: number, digits: number): BucketLayout {
  if (lastLayout?.lowest === lowest && lastLayout.digits === digits) return lastLayout.layout;
  const key = `${lowest}/${digits}`;
  let layout = layouts.get(key);
  if (!layout) layouts.set(key, (layout = new BucketLayout(lowest, highest, digits)));
  lastLayout = { lowest, digits, layout };
  return layout;
}

/** Where a payload's base64 is decoded: one growing buffer, not a Buffer per payload (~115,000 in an 8-hour run). */
let rawScratch = Buffer.alloc(0);

/** The bytes of a base64 payload, in rawScratch: valid until the next call. */
function fromBase64(b64: string): Buffer {
  const most = Math.ceil((b64.length * 3) / 4);
  if (rawScratch.length < most) rawScratch = Buffer.alloc(Math.max(most, 2 * rawScratch.length, 4096));
  return rawScratch.subarray(0, rawScratch.write(b64, 'base64'));
}

/**
 * Where payloads are decoded: growing typed arrays that decoded histograms are views into, from `used` on. A second's
 * endpoints are decoded here and merged, then the arena is reused: no buffer of their own per endpoint per second.
 */
class DecodeArena {
  idx = new Int32Array(0);
  counts = new Float64Array(0);
  used = 0;

  /** Room for n more buckets; on growth earlier views keep the old arrays, new ones start on the new. */
  reserve(n: number): void {
    if (this.used + n <= this.idx.length) return;
    const size = Math.max(n, 2 * this.idx.length, 4096);
    [this.idx, this.counts, this.used] = [new Int32Array(size), new Float64Array(size), 0];
  }
}

const decodeArena = new DecodeArena();

/**
 * Decodes a stored compressed-base64 histogram straight into its non-zero buckets (the V2 format
 * hdr-histogram-js writes), without building the full counts array; undefined when the payload is corrupt.
 */
export function decodeCompact(b64: string): CompactHistogram | undefined {
  decodeArena.used = 0;
  const h = decodeInto(b64, decodeArena);
  return h && { layout: h.layout, idx: h.idx.slice(), counts: h.counts.slice() };
}

/** `decodeCompact` into the arena: the histogram's arrays are views of it, valid until the arena is reused. */
function decodeInto(b64: string, arena: DecodeArena): CompactHistogram | undefined {
  try {
    const raw = fromBase64(b64);
    if (raw.length < 8) return undefined;
    const cookie = raw.readInt32BE(0) & ~0xf0;
    // run format 3 stores the V2 encoding itself; earlier runs (and the load threads) its zlib-compressed form, which
    // inflates to ~150 bytes: a 512-byte output chunk, not the default 16 kB (28,800 × 4 of them churn memory)
    const b =
      cookie === V2_COOKIE ? raw : cookie === V2_COMPRESSED_COOKIE ? inflateSync(raw.subarray(8, 8 + raw.readInt32BE(4)), { chunkSize: 512 }) : undefined;
    if (!b || b.length < 40 || (b.readInt32BE(0) & ~0xf0) !== V2_COOKIE) return undefined;
    const payloadBytes = b.readInt32BE(4);
    const digits = b.readInt32BE(12);
    // 64-bit big-endian as two halves: the high one times 2^32 is exact, so the sum rounds once, as Number(BigInt) does
    const lowest = b.readInt32BE(16) * 2 ** 32 + b.readUInt32BE(20);
    const highest = b.readInt32BE(24) * 2 ** 32 + b.readUInt32BE(28);
    const layout = layoutFor(lowest, highest, digits);
    const end = 40 + payloadBytes;
    if (end > b.length) return undefined;
    // at most one bucket per payload byte
    arena.reserve(payloadBytes);
    const { idx, counts } = arena;
    const start = arena.used;
    let n = start;
    let i = 0;
    let pos = 40;
    while (pos < end) {
      // ZigZag LEB128-64b9B, as HdrHistogram's V2 encoding writes counts (negative: a run of zero buckets)
      let value = 0;
      let mult = 1;
      for (let k = 0; k < 9; k++) {
        const v = b[pos++]!;
        value += (v & 0x7f) * mult;
        if ((v & 0x80) === 0) break;
        mult *= 128;
      }
      const c = value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      if (c < 0) i -= c;
      else {
        if (c > 0) {
          // a known index has its value (> 0 but for index 0, which see() then finds known): no call per bucket
          if (!(layout.hi[i]! > 0)) layout.see(i);
          idx[n] = i;
          counts[n++] = c;
        }
        i++;
      }
    }
    arena.used = n;
    return { layout, idx: idx.subarray(start, n), counts: counts.subarray(start, n) };
  } catch {
    return undefined;
  }
}

/**
 * Index of stored histogram lines by second. Each line's endpoints are decoded once into one merged compact
 * histogram per second (what the window statistics and the per-second indicators read); a single endpoint's
 * histograms are decoded when asked for, into a bounded cache.
 */
export class HistogramIndex {
  private readonly lines: readonly HistogramLine[];
  private readonly all: (CompactHistogram | null | undefined)[];
  private readonly perSecond: (LatencyStats | null | undefined)[];
  /** Statistics of the windows asked for so far (a few), by endpoint and bounds. */
  private readonly windowStats = new Map<string, LatencyStats | null>();
  private readonly byEndpoint = new Map<string, CompactHistogram | null>();
  private readonly slabs = new CompactSlabs();
  private readonly arena = new DecodeArena();
  /** Payloads that failed to decode (reported by the validity check). */
  corrupt = 0;

  constructor(lines: readonly HistogramLine[]) {
    this.lines = [...lines].filter((l) => Number.isFinite(l.elapsedS)).sort((a, b) => a.elapsedS - b.elapsedS);
    this.all = new Array<CompactHistogram | null | undefined>(this.lines.length);
    this.perSecond = new Array<LatencyStats | null | undefined>(this.lines.length);
  }

  get size(): number {
    return this.lines.length;
  }

  endpoints(): string[] {
    const names = new Set<string>();
    for (const l of this.lines) for (const n of Object.keys(l.endpoints)) names.add(n);
    return [...names].sort();
  }

  /** Line i's endpoints merged (decoded once; corrupt payloads are counted here, once per line). */
  private merged(i: number): CompactHistogram | null {
    const have = this.all[i];
    if (have !== undefined) return have;
    const parts: CompactHistogram[] = [];
    // decoded into the arena, merged into the slabs: the parts are not kept
    this.arena.used = 0;
    for (const b64 of Object.values(this.lines[i]!.endpoints)) {
      const h = decodeInto(b64, this.arena);
      if (h) parts.push(h);
      else this.corrupt++;
    }
    const m = parts.length ? mergeCompact(parts, this.slabs) : null;
    this.all[i] = m;
    return m;
  }

  private single(i: number, name: string): CompactHistogram | null {
    const key = `${i}\u0000${name}`;
    const have = this.byEndpoint.get(key);
    if (have !== undefined) return have;
    const b64 = this.lines[i]?.endpoints[name];
    const h = (b64 === undefined ? undefined : decodeCompact(b64)) ?? null;
    // bounded: endpoint queries are over windows; the per-second indicators read the merged lines
    if (this.byEndpoint.size >= ENDPOINT_CACHE_MAX) this.byEndpoint.clear();
    this.byEndpoint.set(key, h);
    return h;
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

  private parts(endpoint: string, windows: WindowS | readonly WindowS[]): CompactHistogram[] {
    const ws = Array.isArray(windows) ? (windows as readonly WindowS[]) : [windows as WindowS];
    const out: CompactHistogram[] = [];
    // windows in ascending order that do not overlap (the tail episodes' baseline seconds) cannot list a line twice
    const seen = ws.length > 1 && !ascendingApart(ws) ? new Set<number>() : undefined;
    for (const w of ws) {
      for (let i = this.lowerBound(w.fromS); i < this.lines.length && this.lines[i]!.elapsedS <= w.toS; i++) {
        if (seen) {
          if (seen.has(i)) continue;
          seen.add(i);
        }
        const h = endpoint === ALL_ENDPOINTS ? this.merged(i) : this.single(i, endpoint);
        if (h) out.push(h);
      }
    }
    return out;
  }

  /** Merged percentiles for `endpoint` (or ALL_ENDPOINTS) over lines with fromS ≤ elapsedS ≤ toS; null when empty. */
  stats(endpoint: string, windows: WindowS | readonly WindowS[]): LatencyStats | null {
    if (endpoint === ALL_ENDPOINTS && !Array.isArray(windows)) {
      const w = windows as WindowS;
      if (w.fromS === w.toS) {
        const s = this.secondStats(w.fromS);
        if (s !== undefined) return s && { ...s };
      }
    }
    const ws = Array.isArray(windows) ? (windows as readonly WindowS[]) : [windows as WindowS];
    if (ws.length > WINDOW_CACHE_MAX_WINDOWS) return compactStats(this.parts(endpoint, windows));
    // the steady windows are merged by the validity check, the SLOs, capacity and recovery alike: once each
    const key = `${endpoint}\u0000${ws.map((w) => `${w.fromS}:${w.toS}`).join(',')}`;
    let have = this.windowStats.get(key);
    if (have === undefined) {
      have = compactStats(this.parts(endpoint, windows));
      if (this.windowStats.size >= WINDOW_CACHE_MAX) this.windowStats.clear();
      this.windowStats.set(key, have);
    }
    return have && { ...have };
  }

  /**
   * The statistics of the one line at second `s`, computed once: the per-second indicators (MSER-5's p95, the tail
   * episodes' p99, the failure mode's p95) each read every second. Undefined when no line or several lines have that
   * second (then `stats` merges what it finds). A copy is returned, so a caller cannot change the cached one.
   */
  private secondStats(s: number): LatencyStats | null | undefined {
    const i = this.lowerBound(s);
    if (i >= this.lines.length || this.lines[i]!.elapsedS !== s || this.lines[i + 1]?.elapsedS === s) return undefined;
    let have = this.perSecond[i];
    if (have === undefined) {
      const h = this.merged(i);
      have = this.perSecond[i] = h ? compactStats([h]) : null;
    }
    return have;
  }

  /** The lines in order with their merged histograms, for rolling windows (rolling.ts). */
  rollingSource(): { size: number; elapsedAt: (i: number) => number; histogramAt: (i: number) => CompactHistogram | null } {
    return { size: this.lines.length, elapsedAt: (i) => this.lines[i]!.elapsedS, histogramAt: (i) => this.merged(i) };
  }

  /** Requests slower than `ms` (bucket's highest equivalent value above it, the rank rule of `stats`). */
  countAbove(endpoint: string, windows: WindowS | readonly WindowS[], ms: number): number {
    const us = ms * 1000;
    let n = 0;
    for (const p of this.parts(endpoint, windows)) for (let j = 0; j < p.idx.length; j++) if (p.layout.hi[p.idx[j]!]! > us) n += p.counts[j]!;
    return n;
  }

  /** Decodes every payload once (so `corrupt` is complete). */
  decodeAll(): void {
    for (let i = 0; i < this.lines.length; i++) this.merged(i);
  }
}

/** True when each window starts after the previous one ends. */
function ascendingApart(ws: readonly WindowS[]): boolean {
  for (let k = 1; k < ws.length; k++) if (!(ws[k]!.fromS > ws[k - 1]!.toS)) return false;
  return true;
}

/** Window statistics kept (each a few numbers), and the most windows a cached query may have (the tail episodes' baseline lists thousands of seconds: merged each time). */
const WINDOW_CACHE_MAX = 256;
const WINDOW_CACHE_MAX_WINDOWS = 16;

/** Single-endpoint histograms kept decoded at once (a few MB); the merged per-second ones are all kept. */
const ENDPOINT_CACHE_MAX = 4_096;

/** Merges already-decoded histograms. */
export function mergeHistograms(hs: readonly Histogram[]): Histogram {
  const out = createHistogram();
  for (const h of hs) out.add(h);
  return out;
}
