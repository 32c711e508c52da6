import { describe, expect, it } from 'vitest';
import { kneedle } from './kneedle.ts';
import { normal, seededRng } from './stats.ts';
import { analyzeUsl, fitUsl, uslPeakUsers, uslThroughput } from './usl.ts';

// codahale/usl model_test.go (data from Schwartz, "Practical Scalability Analysis with the USL")
const GOLDEN = [
  955.16, 1878.91, 2688.01, 3548.68, 4315.54, 5130.43, 5931.37, 6531.08, 7219.8, 7867.61, 8278.71, 8646.7, 9047.84, 9426.55, 9645.37, 9897.24, 10097.6, 10240.5,
  10532.39, 10798.52, 11151.43, 11518.63, 11806, 12089.37, 12075.41, 12177.29, 12211.41, 12158.93, 12155.27, 12118.04, 12140.4, 12074.39,
].map((x, i) => ({ users: i + 1, throughputRps: x }));

describe('USL fit', () => {
  it('B1: reproduces codahale/usl golden coefficients', () => {
    const r = analyzeUsl(GOLDEN, { resamples: 200 })!;
    expect(Math.abs(r.sigma - 0.02671591)).toBeLessThan(1e-4);
    expect(Math.abs(r.kappa - 7.690945e-4)).toBeLessThan(1e-6);
    expect(Math.abs(r.lambda - 995.6486)).toBeLessThan(0.5);
    expect(r.peak).toEqual({ users: 35, throughputRps: expect.closeTo(12341.745, 0) });
    expect(r.constrainedBy).toBe('contention');
    expect(r.ci95!.kappa[0]).toBeGreaterThan(0);
  });

  it('B2: codahale/usl example.csv coefficients', () => {
    const pts = [
      [1, 65],
      [18, 996],
      [36, 1652],
      [72, 1853],
      [108, 1829],
      [144, 1775],
      [216, 1702],
    ].map(([u, x]) => ({ users: u!, throughputRps: x! }));
    const p = fitUsl(pts)!;
    expect(p.sigma).toBeCloseTo(0.0277299, 4);
    expect(Math.abs(p.kappa - 0.000104343)).toBeLessThan(1e-6);
    expect(Math.abs(p.lambda - 89.9878)).toBeLessThan(0.5);
    expect(Math.floor(uslPeakUsers(p))).toBe(96);
  });

  const synth = (seed: number, maxN: number) => {
    const rng = seededRng(seed);
    const truth = { sigma: 0.03, kappa: 1e-4, lambda: 100 };
    const pts = [];
    for (let n = 4; n <= maxN; n += 8) pts.push({ users: n, throughputRps: uslThroughput(truth, n) * (1 + 0.03 * normal(rng)) });
    return pts;
  };

  it('B3: synthetic σ=0.03 κ=1e-4 λ=100, 3 % noise: N* within 10 % and X_max within 3 % (30 seeds)', () => {
    let ok = 0;
    for (let s = 0; s < 30; s++) {
      const p = fitUsl(synth(s, 196))!;
      const nStar = uslPeakUsers(p);
      if (Math.abs(nStar / 98.5 - 1) <= 0.1 && Math.abs(uslThroughput(p, nStar) / 2016 - 1) <= 0.03) ok++;
    }
    expect(ok).toBeGreaterThanOrEqual(28);
  });

  it('B4: only N ≤ 60 measured → "peak beyond measured range", never a point N*', () => {
    for (let s = 0; s < 10; s++) {
      const r = analyzeUsl(synth(s, 60), { resamples: 100, seed: s })!;
      const nStar = uslPeakUsers(r);
      if (nStar > 90 || r.ci95!.kappa[0] <= 1e-12) {
        expect(r.peakBeyondMeasuredRange).toBe(true);
        expect(r.peak).toBeNull();
        expect(r.note).toMatch(/peak beyond measured range/);
      }
    }
  });

  it('B8: Kneedle on the USL curve returns an efficiency knee below N*', () => {
    const pts = synth(1, 196);
    const k = kneedle(
      pts.map((p) => p.users),
      pts.map((p) => p.throughputRps),
    )!;
    expect(k.x).toBeLessThan(98.5);
  });

  it.each([
    ['empty', []],
    ['3 levels (no residual left for 3 parameters)', [1, 2, 3].map((n) => ({ users: n, throughputRps: n * 10 }))],
    ['NaN throughput', Array.from({ length: 8 }, (_, i) => ({ users: i + 1, throughputRps: NaN }))],
  ])('%s → no fit', (_n, pts) => {
    expect(analyzeUsl(pts)).toBeUndefined();
  });
});

describe('Kneedle', () => {
  it('B5: open-model steps λ = 50..1000, capacity 600, 2 % noise → knee at 600 ± 50 in ≥ 95 %', () => {
    let ok = 0;
    for (let s = 0; s < 100; s++) {
      const rng = seededRng(s + 1000);
      const xs = Array.from({ length: 20 }, (_, i) => 50 * (i + 1));
      const ys = xs.map((x) => Math.min(x, 600) * (1 + 0.02 * normal(rng)));
      const k = kneedle(xs, ys);
      if (k && Math.abs(k.x - 600) <= 50) ok++;
    }
    expect(ok).toBeGreaterThanOrEqual(95);
  });

  it.each([
    ['straight line', [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]],
    ['flat', [1, 2, 3, 4], [5, 5, 5, 5]],
    ['two points', [1, 2], [1, 2]],
    ['empty', [], []],
  ])('%s → no knee', (_n, xs, ys) => {
    expect(kneedle(xs, ys)).toBeNull();
  });
});
