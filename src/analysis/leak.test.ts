import { describe, expect, it } from 'vitest';
import { detectLeak, envelopes, hoursSpan, MIB, type LeakResult } from './leak.ts';
import { normCdf, normal, ols, seededRng } from './stats.ts';

// Synthetic generator G (docs/ANALYSIS.md, Leak): base + sawtooth − warm-up + leak + AR(1) wander + noise, in MiB.
interface Gen {
  durationS: number;
  dtS: number;
  periodS: [number, number];
  ampMb: [number, number];
  sigmaMb: number;
  warmMb: number;
  warmTauS: number;
  leakMbPerH?: number;
  saturating?: { ampMb: number; tauS: number };
  ar?: { sigmaMb: number; tauS: number };
}
const EIGHT_H: Gen = { durationS: 8 * 3600, dtS: 16, periodS: [60, 240], ampMb: [40, 120], sigmaMb: 3, warmMb: 150, warmTauS: 900 };
const THIRTY_MIN: Gen = { durationS: 1800, dtS: 1, periodS: [5, 20], ampMb: [20, 60], sigmaMb: 2, warmMb: 60, warmTauS: 60 };
const LIMIT = 2048 * MIB;

function generate(g: Gen, seed: number): { tS: number[]; bytes: number[] } {
  const rng = seededRng(seed * 7919 + 17);
  const u = (a: number, b: number): number => a + (b - a) * rng();
  const tS: number[] = [];
  const bytes: number[] = [];
  let toothStart = -u(0, g.periodS[1]);
  let period = u(...g.periodS);
  let amp = u(...g.ampMb);
  let ar = g.ar ? normal(rng) * g.ar.sigmaMb : 0;
  const phi = g.ar ? Math.exp(-g.dtS / g.ar.tauS) : 0;
  for (let t = 0; t < g.durationS; t += g.dtS) {
    while (t >= toothStart + period) {
      toothStart += period;
      period = u(...g.periodS);
      amp = u(...g.ampMb);
    }
    const saw = (amp * (t - toothStart)) / period;
    const leak = (g.leakMbPerH ?? 0) * (t / 3600) + (g.saturating ? g.saturating.ampMb * (1 - Math.exp(-t / g.saturating.tauS)) : 0);
    if (g.ar) ar = phi * ar + Math.sqrt(1 - phi * phi) * g.ar.sigmaMb * normal(rng);
    const mb = 600 + saw - g.warmMb * Math.exp(-t / g.warmTauS) + leak + ar + g.sigmaMb * normal(rng);
    tS.push(t);
    bytes.push(mb * MIB);
  }
  return { tS, bytes };
}

const SEEDS = Array.from({ length: 100 }, (_, i) => i);
function suite(g: Gen): LeakResult[] {
  return SEEDS.map((s) => detectLeak({ ...generate(g, s), limitBytes: LIMIT }));
}
const count = (rs: LeakResult[], f: (r: LeakResult) => boolean): number => rs.filter(f).length;
const tally = (rs: LeakResult[]): Record<string, number> => rs.reduce<Record<string, number>>((m, r) => ({ ...m, [r.kind]: (m[r.kind] ?? 0) + 1 }), {});

describe('leak detector: synthetic suite, seeds 0–99 (docs/ANALYSIS.md, Leak)', () => {
  it('A1 flat sawtooth 8 h: not flagged in ≥ 95, PASS in ≥ 90; A8 warm-up cut in [0.6, 1.2] h in ≥ 95', () => {
    const rs = suite(EIGHT_H);
    console.info('A1', tally(rs));
    expect(count(rs, (r) => r.verdict === 'FAIL' || r.verdict === 'WARN')).toBeLessThanOrEqual(5);
    expect(count(rs, (r) => r.verdict === 'PASS')).toBeGreaterThanOrEqual(90);
    const cuts = rs.map((r) => (r.warmupCutS ?? 0) / 3600);
    expect(cuts.filter((h) => h >= 0.6 && h <= 1.2).length).toBeGreaterThanOrEqual(95);
  });

  it('A2 +20 MB/h leak 8 h: FAIL ≥ 95, slope 20 ± 2 in ≥ 95, TTOOM within 15 % of analytic', () => {
    const runs = SEEDS.map((s) => generate({ ...EIGHT_H, leakMbPerH: 20 }, s));
    const rs = runs.map((r) => detectLeak({ ...r, limitBytes: LIMIT }));
    console.info('A2', tally(rs));
    expect(count(rs, (r) => r.kind === 'FAIL_LEAK')).toBeGreaterThanOrEqual(95);
    expect(count(rs, (r) => Math.abs((r.slopeBytesPerHour ?? 0) / MIB - 20) <= 2)).toBeGreaterThanOrEqual(95);
    const ttlOk = rs.filter((r, i) => {
      const run = runs[i]!;
      const lastHour = run.bytes.filter((_, j) => run.tS[j]! >= 7 * 3600);
      const analytic = (LIMIT - Math.max(...lastHour)) / (20 * MIB);
      return r.timeToLimitHours !== null && Math.abs(r.timeToLimitHours / analytic - 1) <= 0.15;
    }).length;
    expect(ttlOk).toBeGreaterThanOrEqual(95);
  });

  it('A3 flat + AR wander (negative control): FAIL ≤ 5, while naive OLS on raw data flags > 30 %', () => {
    const runs = SEEDS.map((s) => generate({ ...EIGHT_H, ar: { sigmaMb: 20, tauS: 1800 } }, s));
    const rs = runs.map((r) => detectLeak({ ...r, limitBytes: LIMIT }));
    console.info('A3', tally(rs));
    expect(count(rs, (r) => r.verdict === 'FAIL')).toBeLessThanOrEqual(5);
    const naive = runs.filter((r) => {
      const keep = r.tS.map((t, i) => (t >= 3600 ? i : -1)).filter((i) => i >= 0); // warm-up removed, still naive
      const fit = ols(
        keep.map((i) => r.tS[i]!),
        keep.map((i) => r.bytes[i]!),
      );
      return 2 * (1 - normCdf(Math.abs(fit.slope / fit.slopeSe))) < 0.01;
    }).length;
    console.info('A3 naive OLS false positives', naive);
    expect(naive).toBeGreaterThan(30);
  });

  it('A4 +20 MB/h + wander σ 10 MB: flagged (FAIL or WARN) ≥ 95', () => {
    const rs = suite({ ...EIGHT_H, leakMbPerH: 20, ar: { sigmaMb: 10, tauS: 1800 } });
    console.info('A4', tally(rs));
    expect(count(rs, (r) => r.verdict === 'FAIL' || r.verdict === 'WARN')).toBeGreaterThanOrEqual(95);
  });

  it('A5 saturating growth 300 MB, τ 2 h: not FAIL_LEAK ≥ 95, WARN_DECELERATING ≥ 90', () => {
    const rs = suite({ ...EIGHT_H, saturating: { ampMb: 300, tauS: 7200 } });
    console.info('A5', tally(rs));
    expect(count(rs, (r) => r.kind !== 'FAIL_LEAK')).toBeGreaterThanOrEqual(95);
    expect(count(rs, (r) => r.kind === 'WARN_DECELERATING')).toBeGreaterThanOrEqual(90);
  });

  it('A6 30 min real: flat FAIL ≤ 5; +20 MB/h FAIL ≥ 95', () => {
    const flat = suite(THIRTY_MIN);
    const leak = suite({ ...THIRTY_MIN, leakMbPerH: 20 });
    console.info('A6 flat', tally(flat), 'leak', tally(leak));
    expect(count(flat, (r) => r.verdict === 'FAIL')).toBeLessThanOrEqual(5);
    expect(count(leak, (r) => r.verdict === 'FAIL')).toBeGreaterThanOrEqual(95);
  });

  it('A7 30 min + wander σ 5 MB, τ 10 min, 20 MB/h leak (honesty gate): PASS ≤ 5', () => {
    const rs = suite({ ...THIRTY_MIN, leakMbPerH: 20, ar: { sigmaMb: 5, tauS: 600 } });
    console.info('A7', tally(rs));
    expect(count(rs, (r) => r.verdict === 'PASS')).toBeLessThanOrEqual(5);
  });
});

describe('leak detector: edge cases', () => {
  it.each([
    ['empty', [], []],
    ['one point', [0], [1e8]],
    ['90 s only', Array.from({ length: 90 }, (_, i) => i), Array.from({ length: 90 }, () => 1e8)],
    ['all NaN', [0, 1, 2], [NaN, NaN, NaN]],
  ])('%s → INCONCLUSIVE, never PASS', (_n, tS, bytes) => {
    const r = detectLeak({ tS, bytes, limitBytes: LIMIT });
    expect(r.verdict).toBe('INCONCLUSIVE');
  });

  it('a short (5 min) run with a real 20 MB/h leak never claims PASS', () => {
    const r = detectLeak({ ...generate({ ...THIRTY_MIN, durationS: 300, leakMbPerH: 20 }, 3), limitBytes: LIMIT });
    expect(r.verdict).not.toBe('PASS');
  });

  it('OOM kills during the run are an automatic FAIL', () => {
    const r = detectLeak({ ...generate(THIRTY_MIN, 1), limitBytes: LIMIT }, { oomEvents: 1 });
    expect(r).toMatchObject({ verdict: 'FAIL', kind: 'FAIL_OOM' });
  });

  it('no memory limit: a clear leak is WARN_NO_LIMIT, not silently PASS', () => {
    const r = detectLeak({ ...generate({ ...EIGHT_H, leakMbPerH: 20 }, 5), limitBytes: null });
    expect(r.kind).toBe('WARN_NO_LIMIT');
  });

  it('envelopes drop the final partial window and keep min/max per window', () => {
    const e = envelopes([0, 1, 2, 3, 4], [5, 1, 7, 2, 9], 2);
    expect(e).toEqual({ tS: [0, 2], floors: [1, 2], peaks: [5, 7] });
  });

  // Real-run case (postmortem.int.test.ts): a 64 KiB-per-request leak at ~30 req/s held for ~2.5 min. 30-s windows
  // gave too few floors (INCONCLUSIVE for a 6 GiB/h leak); short soaks use shorter windows with a stricter effect gate.
  it('short soak (150 s at 1 Hz): a 6 GiB/h monotone leak FAILs with the slope within 10 %', () => {
    const rng = seededRng(11);
    const tS = Array.from({ length: 150 }, (_, i) => i);
    const slope = 6 * 1024 * MIB; // bytes/h
    const bytes = tS.map((t) => 60 * MIB + (slope * t) / 3600 + 0.5 * MIB * normal(rng));
    const r = detectLeak({ tS, bytes, limitBytes: 2048 * MIB });
    expect(r.kind, r.reason).toBe('FAIL_LEAK');
    expect(Math.abs(r.slopeBytesPerHour! - slope) / slope).toBeLessThan(0.1);
  });

  it('short soak (150 s) with a fast sawtooth (+10/−7 MiB every ~4 s, as the reference app shows) on a 7 GiB/h leak → FAIL within 15 %', () => {
    const rng = seededRng(5);
    const tS = Array.from({ length: 150 }, (_, i) => i);
    const slope = 7 * 1024 * MIB;
    const bytes = tS.map((t) => 60 * MIB + (slope * t) / 3600 + (t % 4 === 3 ? 9 * MIB : 0) + 0.3 * MIB * normal(rng));
    const r = detectLeak({ tS, bytes, limitBytes: 2048 * MIB });
    expect(r.kind, r.reason).toBe('FAIL_LEAK');
    expect(Math.abs(r.slopeBytesPerHour! - slope) / slope).toBeLessThan(0.15);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('short soak (150 s), flat sawtooth with noise (seed %i) → never FAIL', (seed) => {
    const g = generate({ ...THIRTY_MIN, durationS: 150, warmMb: 0 }, seed);
    const r = detectLeak({ ...g, limitBytes: LIMIT });
    expect(r.verdict).not.toBe('FAIL');
    expect(r.verdict, 'a short soak never claims PASS').not.toBe('PASS');
  });

  it('short soaks (150 s, 100 seeds): flat / fast sawtooth / AR wander → FAIL ≤ 5, PASS never', () => {
    const base: Gen = { durationS: 150, dtS: 1, periodS: [3, 6], ampMb: [5, 10], sigmaMb: 1, warmMb: 0, warmTauS: 60 };
    for (const g of [{ ...THIRTY_MIN, durationS: 150, warmMb: 0 }, base, { ...base, ar: { sigmaMb: 5, tauS: 600 } }]) {
      const kinds = Array.from({ length: 100 }, (_, seed) => detectLeak({ ...generate(g, seed), limitBytes: LIMIT }).verdict);
      expect(kinds.filter((k) => k === 'FAIL').length).toBeLessThanOrEqual(5);
      expect(kinds.filter((k) => k === 'PASS')).toEqual([]);
    }
  });
});

// The postmortem soak on the reference stack: ~6.5 min of steady load. Its app's memory drops at irregular times
// (median spacing 4–26 s between runs); windows sized by that "period" left too few floors and an 8 GiB/h leak came
// out INCONCLUSIVE. Short soaks size windows by the floor count and gate on the signal's own band instead.
describe('leak detector: 390-s soaks (100 seeds)', () => {
  const SOAK: Gen = { durationS: 390, dtS: 1, periodS: [22, 30], ampMb: [2, 12], sigmaMb: 0.5, warmMb: 0, warmTauS: 60 };

  it('an 8 GiB/h leak under irregular 22–30 s drops FAILs ≥ 95 with the slope within 10 %', () => {
    const slope = 8192 * MIB;
    const rs = SEEDS.map((s) => detectLeak({ ...generate({ ...SOAK, leakMbPerH: 8192 }, s), limitBytes: LIMIT }));
    console.log('390 s leak', tally(rs));
    expect(count(rs, (r) => r.kind === 'FAIL_LEAK')).toBeGreaterThanOrEqual(95);
    expect(count(rs, (r) => Math.abs(r.slopeBytesPerHour! - slope) / slope < 0.1)).toBeGreaterThanOrEqual(95);
  });

  it.each([
    ['irregular 22–30 s drops', SOAK],
    ['slow sawtooth 20–90 s, 10–60 MiB', { ...SOAK, periodS: [20, 90], ampMb: [10, 60] } as Gen],
    ['fast sawtooth 4–20 s, 20–60 MiB', { ...SOAK, periodS: [4, 20], ampMb: [20, 60], sigmaMb: 2 } as Gen],
    ['AR wander σ 5 MiB, τ 10 min', { ...SOAK, ar: { sigmaMb: 5, tauS: 600 } } as Gen],
  ])('flat memory with %s: FAIL ≤ 5, PASS never', (_, g) => {
    const rs = SEEDS.map((s) => detectLeak({ ...generate(g, s), limitBytes: LIMIT }));
    expect(
      count(rs, (r) => r.verdict === 'FAIL'),
      JSON.stringify(tally(rs)),
    ).toBeLessThanOrEqual(5);
    expect(count(rs, (r) => r.verdict === 'PASS')).toBe(0);
  });
});

describe('leak detector: working set vs anonymous memory', () => {
  const tS = Array.from({ length: 1800 }, (_, i) => i);
  const rng = seededRng(3);
  // a database caching a growing table: +200 MiB/h of page cache / shared buffers, its own memory flat
  const ws = tS.map((t) => 300 * MIB + (200 * MIB * t) / 3600 + 0.3 * MIB * normal(rng));
  const flat = tS.map(() => 40 * MIB + 0.3 * MIB * normal(rng));

  it('growth in page cache / shared memory only (anon flat) is WARN_CACHE_GROWTH, not a leak', () => {
    expect(detectLeak({ tS, bytes: ws, limitBytes: 1024 * MIB }).kind, 'working set alone').toBe('FAIL_LEAK');
    const r = detectLeak({ tS, bytes: ws, anonBytes: flat, limitBytes: 1024 * MIB });
    expect(r.verdict).toBe('WARN');
    expect(r.kind).toBe('WARN_CACHE_GROWTH');
    expect(r.reason).toMatch(/anonymous memory does not/);
    expect(Math.abs(r.slopeBytesPerHour! - 200 * MIB) / (200 * MIB)).toBeLessThan(0.05);
    expect(Math.abs(r.anonSlopeBytesPerHour!)).toBeLessThan(5 * MIB);
  });

  it('growth in anonymous memory too stays a FAIL; missing anon samples leave the working-set verdict', () => {
    const anon = ws.map((b) => b - 260 * MIB);
    const r = detectLeak({ tS, bytes: ws, anonBytes: anon, limitBytes: 1024 * MIB });
    expect(r.kind).toBe('FAIL_LEAK');
    expect(r.anonSlopeBytesPerHour! / MIB).toBeCloseTo(200, -1);
    expect(detectLeak({ tS, bytes: ws, anonBytes: flat.map((v, i) => (i === 7 ? null : v)), limitBytes: 1024 * MIB }).kind).toBe('FAIL_LEAK');
  });
});

describe('hoursSpan', () => {
  it.each([
    [0.1, 0.12, '6–7 min'],
    [0.11, 0.115, '7 min'],
    [0.75, 1.2, '45 min–1.2 h'],
    [12.93, 30.7, '12.9–30.7 h'],
    [5, Infinity, '5.0 h–∞'],
    [0.5, Infinity, '30 min–∞'],
  ])('%f–%f h → %s', (lo, hi, text) => expect(hoursSpan(lo, hi)).toBe(text));
});

// Power of an INCONCLUSIVE (ANALYSIS.md "Leak"): the reason states what the run ruled out and the steady time that
// would decide. The prediction assumes the Theil–Sen CI half-width shrinks as T^(-3/2); checked by re-running the
// same process (same seed, 30-min flat soak with sawtooth + AR wander) for the suggested time.
describe('leak detector: what an INCONCLUSIVE could rule out', () => {
  const WANDER: Gen = { ...THIRTY_MIN, ar: { sigmaMb: 5, tauS: 600 } };
  it('states the bound ruled out and a steady time; at that time the CI half-width is as predicted (median within ±25 %)', () => {
    const ratios: number[] = [];
    for (const seed of SEEDS.slice(0, 60)) {
      const r = detectLeak({ ...generate(WANDER, seed), limitBytes: LIMIT });
      if (r.verdict !== 'INCONCLUSIVE' || !r.steadyNeededS || !r.ci95) continue;
      expect(r.reason).toMatch(/growth above [\d.]+ MiB\/h ruled out at 95 %/);
      expect(r.reason).toMatch(/about \d+(\.\d)? (min|h) of steady load would decide/);
      expect(r.steadyNeededS).toBeGreaterThan(r.warmupCutS ?? 0);
      const longer = detectLeak({ ...generate({ ...WANDER, durationS: r.steadyNeededS }, seed), limitBytes: LIMIT });
      const fitted = (x: LeakResult): number => x.floors * x.windowS!;
      const predicted = ((r.ci95[1] - r.ci95[0]) / 2) * (fitted(r) / fitted(longer)) ** 1.5;
      ratios.push((longer.ci95![1] - longer.ci95![0]) / 2 / predicted);
    }
    ratios.sort((a, b) => a - b);
    console.info('INCONCLUSIVE runs', ratios.length, 'half-width actual/predicted median', ratios[Math.floor(ratios.length / 2)]!.toFixed(2));
    expect(ratios.length).toBeGreaterThanOrEqual(20);
    const med = ratios[Math.floor(ratios.length / 2)]!;
    expect(med).toBeGreaterThan(0.75);
    expect(med).toBeLessThan(1.33);
  });

  it('too short for any fit: says how long it needs', () => {
    const r = detectLeak({ ...generate({ ...THIRTY_MIN, durationS: 90 }, 1), limitBytes: LIMIT });
    expect(r).toMatchObject({ verdict: 'INCONCLUSIVE', steadyNeededS: 120 });
    expect(r.reason).toContain('needs ≥ 120 s of constant load');
  });
});
