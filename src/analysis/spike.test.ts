import { describe, expect, it } from 'vitest';
import { HistogramIndex } from './histograms.ts';
import { analyzeSpikes } from './spike.ts';
import { normal, seededRng } from './stats.ts';
import { buildRecord, type SecondSpec } from './testing.ts';
import { loadSegments } from './windows.ts';

// C1: baseline 100 ms with 5 % log-normal noise, 8× plateau for 60 s, then exponential decay τ = 40 s.
function spikeRun(seed: number, opts: { settle?: number; tau?: number; goodputAfter?: number; noSpike?: boolean } = {}): SecondSpec[] {
  const rng = seededRng(seed);
  const tau = opts.tau ?? 40;
  const out: SecondSpec[] = [];
  const [spikeFrom, spikeTo, end] = [400, 460, 460 + 600];
  for (let t = 1; t <= end; t++) {
    const inSpike = t >= spikeFrom && t < spikeTo;
    let level = 100;
    if (!opts.noSpike && inSpike) level = 800;
    if (!opts.noSpike && t >= spikeTo) level = 100 * ((opts.settle ?? 1) + (8 - (opts.settle ?? 1)) * Math.exp(-(t - spikeTo) / tau));
    const n = t >= spikeTo && opts.goodputAfter !== undefined ? Math.round(200 * opts.goodputAfter) : 200;
    const lat = Array.from({ length: n }, () => level * Math.exp(0.05 * normal(rng)));
    out.push({ phase: inSpike ? 'spike-1' : 'base', users: inSpike ? 500 : 100, latenciesMs: { api: lat } });
  }
  return out;
}

function run(specs: SecondSpec[]) {
  const rec = buildRecord(specs);
  return analyzeSpikes(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series));
}

describe('spike recovery (§3.3)', () => {
  it('C1: recovery time matches τ·ln(7/0.1) ≈ 170 s within 15 % (5 seeds)', () => {
    const analytic = 40 * Math.log(7 / 0.1);
    for (let seed = 0; seed < 5; seed++) {
      const [r] = run(spikeRun(seed));
      expect(r?.recoveryS).not.toBeNull();
      expect(Math.abs(r!.recoveryS! / analytic - 1)).toBeLessThanOrEqual(0.15);
      expect(r!.overshoot).toBeGreaterThan(6);
      expect(r!.verdict).toBe('recovered');
      expect(r!.startS).toBe(400);
    }
  });

  it('C2: settling at 1.5× baseline → not-recovered', () => {
    const [r] = run(spikeRun(1, { settle: 1.5 }));
    expect(r?.verdict).toBe('not-recovered');
    expect(r?.recoveryS).toBeNull();
  });

  it('C3: no spike in the latency → recoveryS 0, overshoot ≈ 0', () => {
    const [r] = run(spikeRun(2, { noSpike: true }));
    expect(r?.recoveryS).toBe(0);
    expect(r?.overshoot).toBeLessThan(0.1);
  });

  it('C4: goodput stuck at 40 % of baseline after the load is back → metastable', () => {
    const [r] = run(spikeRun(3, { goodputAfter: 0.4 }));
    expect(r?.verdict).toBe('metastable');
  });

  it('no baseline (spike at t = 0) → no-data, not a pass', () => {
    const specs: SecondSpec[] = Array.from({ length: 100 }, (_, i) => ({ phase: i < 30 ? 'spike-1' : 'base', users: 10, latenciesMs: { api: [100] } }));
    expect(run(specs)[0]?.verdict).toBe('no-data');
  });

  it('empty run → no spikes', () => {
    expect(run([])).toEqual([]);
  });
});
