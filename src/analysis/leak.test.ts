import { describe, expect, it } from 'vitest';
import { detectLeak, envelopes, MIB, type LeakResult } from './leak.ts';
import { normCdf, normal, ols, seededRng } from './stats.ts';

// Synthetic generator G (ANALYSIS-METHODS §1.6): base + sawtooth − warm-up + leak + AR(1) wander + noise, in MiB.
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

describe('leak detector: synthetic suite, seeds 0–99 (§1.6)', () => {
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
      const fit = ols(keep.map((i) => r.tS[i]!), keep.map((i) => r.bytes[i]!));
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
});
