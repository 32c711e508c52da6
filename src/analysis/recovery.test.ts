import { describe, expect, it } from 'vitest';
import { analyzeRun } from './analyze.ts';
import { HistogramIndex } from './histograms.ts';
import { analyzeRecoveries, holdKept, secondsText, type RecoveryOptions } from './recovery.ts';
import { normal, seededRng, shareDiffLower, wilsonLower, wilsonUpper, type Rng } from './stats.ts';
import { buildRecord, type SecondSpec } from './testing/build-record.ts';
import { container } from './testing/fixtures.ts';
import { loadSegments } from './windows.ts';

const noisy = (rng: Rng, n: number, ms: number): number[] => Array.from({ length: n }, () => ms * Math.exp(0.05 * normal(rng)));

function run(specs: SecondSpec[], o: RecoveryOptions = {}) {
  const rec = buildRecord(specs);
  return analyzeRecoveries(rec.series, new HistogramIndex(rec.histograms), loadSegments(rec.series), o);
}

interface Piece {
  phase: string;
  users: number;
  seconds: number;
  /** latency (ms) at second i of the piece */
  ms: (i: number) => number;
  rps?: number | ((i: number) => number);
  errors?: (i: number) => number;
}

function series(seed: number, pieces: Piece[]): SecondSpec[] {
  const rng = seededRng(seed);
  const out: SecondSpec[] = [];
  for (const p of pieces) {
    for (let i = 0; i < p.seconds; i++) {
      const n = typeof p.rps === 'function' ? p.rps(i) : (p.rps ?? 200);
      const errs = p.errors?.(i) ?? 0;
      out.push({ phase: p.phase, users: p.users, latenciesMs: { api: noisy(rng, n, p.ms(i)) }, ...(errs ? { errors: { api: { '5xx': errs } } } : {}) });
    }
  }
  return out;
}

// The plan's spike at ×0.5: 90 s base (first second an enroll burst), 60 s spike, 30 s base, the next spike.
const burstBase = (seconds = 90): Piece => ({ phase: 'base', users: 100, seconds, ms: (i) => (i === 0 ? 650 : 10) });
const spike = (k: number, seconds = 60): Piece => ({ phase: `spike-${k}`, users: 500, seconds, ms: () => 250 });
/** base after a spike that stays slow (5×) for `slowS` seconds */
const slowThenBase = (slowS: number, seconds: number): Piece => ({ phase: 'base', users: 100, seconds, ms: (i) => (i < slowS ? 50 : 10) });

describe('recovery (spikes): known answers', () => {
  it('a set recovery time is measured within ±1 s (5 seeds), with the band drawn from the steady base only', () => {
    for (const slowS of [0, 4, 12, 18]) {
      for (let seed = 0; seed < 5; seed++) {
        const [r] = run(series(seed, [burstBase(), spike(1), slowThenBase(slowS, 30), spike(2, 10)]));
        expect(r?.kind).toBe('spike');
        expect(r?.verdict).toBe('recovered');
        expect(Math.abs(r!.recoveryS! - slowS)).toBeLessThanOrEqual(1);
        expect(r!.observedS).toBe(30);
        // hold fits the 30 s between spikes: ⅓ of it
        expect(r!.holdS).toBe(10);
        // the 650 ms first second is outside the steady part: the band stays near the 10 ms base
        expect(r!.bandP95Ms!).toBeLessThan(25);
        expect(r!.note).not.toMatch(/\d\.\d{3,}/);
      }
    }
  });

  it('a window that ends before recovery is inconclusive with the seconds observed, never not-recovered', () => {
    const [r, last] = run(series(1, [burstBase(), spike(1), slowThenBase(25, 30), spike(2, 20)]));
    expect(r?.verdict).toBe('inconclusive');
    expect(r?.recoveryS).toBeNull();
    expect(r?.note).toContain('only 30 s of base load observed');
    // the run ends with the second spike: nothing observed after it
    expect(last?.verdict).toBe('inconclusive');
    expect(last?.observedS).toBe(0);
    expect(last?.note).toContain('the run ended with the spike');
  });

  it('never back within the band over a long base → not-recovered', () => {
    const [r] = run(series(2, [burstBase(), spike(1), slowThenBase(1000, 120)]));
    expect(r?.verdict).toBe('not-recovered');
    expect(r?.note).toContain('in 2 min of base load');
    expect(r?.holdS).toBe(30);
  });

  it('settling at a level above the base (a lasting change, e.g. grown tables) is shifted with its settling time, not "not recovered"; far above, it is', () => {
    // base p95 100 ms; after the spike the system is back within 2 s at 115 ms (+15 %, outside the 10 % band) for 2 min
    const base100: Piece = { phase: 'base', users: 100, seconds: 90, ms: (i) => (i === 0 ? 650 : 100) };
    const after = (levelMs: number): Piece => ({ phase: 'base', users: 100, seconds: 120, ms: (i) => (i < 2 ? 800 : levelMs) });
    for (let seed = 0; seed < 3; seed++) {
      const [r] = run(series(seed, [base100, spike(1), after(115)]));
      expect(r?.verdict).toBe('shifted');
      expect(r!.recoveryS!).toBeLessThanOrEqual(3);
      // both levels carry the same 5 % lognormal noise: their p95s stand in the set ratio 1.15
      expect(r!.settledP95Ms! / r!.baselineP95Ms!).toBeGreaterThan(1.1);
      expect(r!.settledP95Ms! / r!.baselineP95Ms!).toBeLessThan(1.2);
      expect(r?.note).toMatch(/% above the base's/);
    }
    // 3× the base for the whole observation: the overload left the system degraded
    const [far] = run(series(4, [base100, spike(1), after(300)]));
    expect(far?.verdict).toBe('not-recovered');
    // and a shifted ladder does not FAIL the run
    const opts = { scenario: { name: 'stress', shape: 'steps' as const, thinkTimeMeanMs: 30 }, generatorCores: 2, incomplete: false };
    const a = analyzeRun(
      buildRecord(
        series(5, [
          { phase: 'step-1:10', users: 10, seconds: 60, ms: () => 100 },
          { phase: 'step-2:40', users: 40, seconds: 30, ms: () => 900 },
          { phase: 'recovery', users: 10, seconds: 90, ms: (i) => (i < 2 ? 800 : 115) },
        ]),
      ),
      opts,
    );
    expect(a.recovery[0]?.verdict).toBe('shifted');
    expect(a.verdict).not.toBe('fail');
  });

  it('a noisy host (a 2-s hiccup at 10× every 15 s, base and after) still gives the set recovery; never back → not-recovered', () => {
    const hiccup = (t: number): boolean => t % 15 === 7 || t % 15 === 8;
    const noisyBase: Piece = { phase: 'base', users: 100, seconds: 90, ms: (i) => (i === 0 ? 650 : hiccup(i) ? 100 : 10) };
    const after = (slowS: number, seconds: number): Piece => ({ phase: 'base', users: 100, seconds, ms: (i) => (i < slowS ? 50 : hiccup(i + 150) ? 100 : 10) });
    for (let seed = 0; seed < 3; seed++) {
      const [r] = run(series(seed, [noisyBase, spike(1), after(12, 60)]));
      expect(r?.verdict).toBe('recovered');
      expect(Math.abs(r!.recoveryS! - 12)).toBeLessThanOrEqual(1);
      expect(r?.note).toMatch(/held 20 s \(\d+ % of its windows inside; the base: \d+ %\)/);
    }
    const [never] = run(series(9, [noisyBase, spike(1), after(1000, 90)]));
    expect(never?.verdict).toBe('not-recovered');
  });

  it('windows that leave the band while outside work takes the host are inconclusive, not a shift or a failure (host contention)', () => {
    // the reference stack's failed case (docs/ANALYSIS.md, Recovery): a quiet base at ~7.6 ms; after the spike the
    // level is 10 ms (inside the 17.6-ms band) but every 8th second a fifth of the requests take 19 ms, so no 20-s hold
    // is ever clean. Host 2 cores: the SUT 0.2 cores, the generator 0.05.
    const quiet = { cpuUtilization: 0.15, iowaitRatio: 0 };
    const busy = { cpuUtilization: 0.9, iowaitRatio: 0.01 }; // 1.8 − 0.25 = 1.55 cores outside
    const sut = { app: container({ cpuCores: 0.15 }), postgres: container({ cpuCores: 0.05 }) };
    const build = (afterHost: typeof quiet | undefined, baseHost: typeof quiet | undefined = afterHost && quiet): SecondSpec[] => {
      const rng = seededRng(11);
      const second = (phase: string, users: number, lat: number[], host: typeof quiet | undefined): SecondSpec => ({
        phase,
        users,
        latenciesMs: { api: lat },
        cpuCores: 0.05,
        ...(host ? { host, containers: sut } : {}),
      });
      const out: SecondSpec[] = [];
      for (let i = 0; i < 45; i++) out.push(second('base', 100, noisy(rng, 200, i === 0 ? 650 : 7), baseHost));
      for (let i = 0; i < 15; i++) out.push(second('spike-1', 300, noisy(rng, 300, 200), baseHost));
      for (let i = 0; i < 60; i++) {
        const lat = noisy(rng, 200, i < 2 ? 300 : 10);
        if (i >= 2 && i % 8 === 4) for (let k = 0; k < 40; k++) lat[k] = 19;
        out.push(second('base', 100, lat, afterHost));
      }
      return out;
    };
    const [unknown] = run(build(undefined), { hostCores: 2 });
    // back at a level inside the band is no shift: the windows keep leaving the band, which the base never did
    expect(unknown?.verdict).toBe('not-recovered');
    expect(unknown?.settledP95Ms).toBeUndefined();
    const [calm] = run(build(quiet), { hostCores: 2 });
    expect(calm?.verdict).toBe('not-recovered');
    const [contended] = run(build(busy), { hostCores: 2 });
    expect(contended?.verdict).toBe('inconclusive');
    expect(contended?.recoveryS).toBeNull();
    expect(contended?.note).toMatch(
      /in \d+ of the \d+ windows outside the band work outside the system under test and the load generator contended for the host \(the base: 0 % of its windows\)/,
    );
    // contention for the first 20 s after the spike only, then a clean host: hiccups at 4 and 12 s. The hold allows
    // one stray second against what a 45-s base and the hold can tell (15 of the hold's 18 windows inside pass):
    // recovered at 5 s, the first window after the 4-s hiccup, with the 12-s one inside the hold — not at 13
    // s as when a quiet base asked every window; the note says whose time it was, and what the hold held
    const late = build(busy).map((sec, i) => (i >= 80 ? { ...sec, host: quiet, latenciesMs: { api: noisy(seededRng(i), 200, 7) } } : sec));
    const [recovered] = run(late, { hostCores: 2 });
    expect(recovered?.verdict).toBe('recovered');
    expect(recovered!.recoveryS).toBe(5);
    expect(recovered?.note).toContain('held 20 s (83 % of its windows inside; the base: 98 %)');
    expect(recovered?.note).toMatch(/contended for the host \(the base: 0 % of its windows\) before it: the time may be partly the host's/);
    // a base that was as busy as the observation: the host explains nothing the base did not have
    const [alwaysBusy] = run(build(busy, busy), { hostCores: 2 });
    expect(alwaysBusy?.verdict).toBe('not-recovered');
  });

  it('the hold is judged against the base as far as both can tell it: one stray second passes after a quiet 1-min base, two do not, and a 2-min base tells more', () => {
    // effective looks = windows / w (they overlap); lower 95 % bound of a share of 1: 1 / (1 + 1.645² / n)
    expect(wilsonLower(1, 20 / 3)).toBeCloseTo(1 / (1 + 1.6449 ** 2 / (20 / 3)), 3);
    expect(wilsonLower(1, 20 / 3)).toBeCloseTo(0.711, 2);
    expect(wilsonLower(1, 100 / 3)).toBeCloseTo(0.925, 2);
    expect(wilsonLower(0.5, 100)).toBeCloseTo(0.418, 2);
    expect(wilsonLower(1, 0)).toBe(0);
    expect(wilsonUpper(0, 6)).toBeCloseTo(0.311, 2);
    expect(wilsonUpper(1, 6)).toBe(1);
    // Newcombe's hybrid score bound of a difference: a quiet 45-s base (43 windows of 3 s, 14.3 looks) against a hold
    // of 18 windows (6 looks) with one stray second (3 out) is no evidence; with two (6 out) it is
    expect(shareDiffLower(1, 43 / 3, 15 / 18, 6)).toBeLessThan(0);
    expect(shareDiffLower(1, 43 / 3, 12 / 18, 6)).toBeGreaterThan(0);
    // the same share on both sides never differs
    expect(shareDiffLower(0.9, 14, 0.9, 6)).toBeLessThan(0);
    // after the spike: 5 s slow, then the base's level with stray 100-ms seconds (each puts windows s−2 … s out)
    const after = (strays: number[]): Piece => ({ phase: 'base', users: 100, seconds: 60, ms: (i) => (i < 5 ? 50 : strays.includes(i) ? 100 : 10) });
    for (let seed = 0; seed < 3; seed++) {
      // one stray at 12 s: 15 of the hold's 18 windows inside pass after a 30-s or a 60-s base → recovered at 5 s (a
      // hold that asked the base's share's lower bound alone failed here from a 55-s base on: recovered at 13 s)
      for (const baseS of [30, 60]) {
        const [r] = run(series(seed, [burstBase(baseS), spike(1, 15), after([12])]));
        expect(r?.verdict).toBe('recovered');
        expect(r!.recoveryS).toBe(5);
        expect(r?.note).toMatch(/held 20 s \(83 % of its windows inside; the base: \d+ %\)/);
      }
      // two strays in the hold (12 and 20 s) after a 60-s base: the hold from 5 s is out more often than the base
      // could be; from 13 s on (one stray, at 20) it holds
      const [two] = run(series(seed, [burstBase(60), spike(1, 15), after([12, 20])]));
      expect(two?.verdict).toBe('recovered');
      expect(two!.recoveryS).toBe(13);
      // 120-s base (~117 windows, 39 looks): it tells its share well enough that one stray second in 6 looks is
      // more than it had → recovered after it
      const [long] = run(series(seed, [burstBase(120), spike(1, 15), after([12])]));
      expect(long?.verdict).toBe('recovered');
      expect(long!.recoveryS).toBe(13);
    }
  });

  it('an unchanged system keeps the hold at the set time in ≥ 95 % of runs; one that leaves the band 6× as often mostly does not', () => {
    // stray seconds at rate q before and after the overload, each putting the 3 windows that hold it out of the band;
    // a 45-s steady base (43 windows) and the 60 s after it, hold 20 s (18 windows): how often is no hold kept that
    // starts within 6 s of the set time (the ±20 % the knob test on the reference stack allows around 30 s)?
    const w = 3;
    const windowsIn = (strays: boolean[]): boolean[] => strays.slice(0, strays.length - w + 1).map((_, i) => !strays.slice(i, i + w).some(Boolean));
    const missRate = (rng: Rng, qBase: number, qAfter: number, runs: number): number => {
      let missed = 0;
      for (let r = 0; r < runs; r++) {
        const base = windowsIn(Array.from({ length: 45 }, () => rng() < qBase));
        const after = windowsIn(Array.from({ length: 28 }, () => rng() < qAfter));
        const baseShare = base.filter(Boolean).length / base.length;
        const kept = [0, 1, 2, 3, 4, 5, 6].some((k) => {
          const hold = after.slice(k, k + 18);
          return hold[0] && holdKept(baseShare, base.length, hold.filter(Boolean).length / hold.length, hold.length, w);
        });
        if (!kept) missed++;
      }
      return missed / runs;
    };
    const rng = seededRng(7);
    // the same system: a stray second a minute to one every 15 s
    for (const q of [1 / 60, 1 / 30, 1 / 15]) expect(missRate(rng, q, q, 4000), `q = ${q.toFixed(3)}`).toBeLessThan(0.05);
    // a stray every 60 s before, every 10 s after (a quarter of the windows out), and 1/60 → 1/4 (half of them)
    expect(missRate(rng, 1 / 60, 1 / 10, 4000)).toBeGreaterThan(0.2);
    expect(missRate(rng, 1 / 60, 1 / 4, 4000)).toBeGreaterThan(0.8);
  });

  it('host contention is judged on the windows that broke the holds: from the system’s return on, not its own slow seconds before it', () => {
    // quiet base; after the spike the system is 1 s slow for 30 s (its own doing, the host quiet), then back at the
    // base's level but with a stray 100-ms second every 5 s: 40 % of the windows out, no hold ever kept
    const quiet = { cpuUtilization: 0.15, iowaitRatio: 0 };
    const busy = { cpuUtilization: 0.9, iowaitRatio: 0.01 };
    const sut = { app: container({ cpuCores: 0.15 }), postgres: container({ cpuCores: 0.05 }) };
    const build = (returnedHost: typeof quiet): SecondSpec[] => {
      const rng = seededRng(21);
      const second = (phase: string, users: number, ms: number, host: typeof quiet): SecondSpec => ({
        phase,
        users,
        latenciesMs: { api: noisy(rng, 200, ms) },
        cpuCores: 0.05,
        host,
        containers: sut,
      });
      const out: SecondSpec[] = [];
      for (let i = 0; i < 45; i++) out.push(second('base', 100, i === 0 ? 650 : 10, quiet));
      for (let i = 0; i < 15; i++) out.push(second('spike-1', 300, 250, quiet));
      for (let i = 0; i < 30; i++) out.push(second('base', 100, 1000, quiet));
      for (let i = 0; i < 60; i++) out.push(second('base', 100, i % 5 === 2 ? 100 : 10, returnedHost));
      return out;
    };
    // 30 slow windows (uncontended) and ~36 stray ones (contended): over all of them the host is not the majority
    const [contended] = run(build(busy), { hostCores: 2 });
    expect(contended?.verdict).toBe('inconclusive');
    expect(contended?.note).toMatch(/but in (\d+) of the \1 windows outside the band work outside the system/);
    const [calm] = run(build(quiet), { hostCores: 2 });
    expect(calm?.verdict).toBe('not-recovered');
  });

  it('errors after the spike count too: p95 fine but 5 % errors for 8 s → recovery 8 s', () => {
    const base: Piece = { phase: 'base', users: 100, seconds: 30, ms: () => 10, errors: (i) => (i < 8 ? 10 : 0) };
    const [r] = run(series(3, [burstBase(), spike(1), base, spike(2, 5)]));
    expect(r?.verdict).toBe('recovered');
    expect(Math.abs(r!.recoveryS! - 8)).toBeLessThanOrEqual(1);
  });

  it('C1 (docs/ANALYSIS.md, Recovery): exponential decay τ = 40 s after an 8× plateau → τ·ln(7/0.1) ≈ 170 s ± 15 %', () => {
    const analytic = 40 * Math.log(7 / 0.1);
    for (let seed = 0; seed < 3; seed++) {
      const decay: Piece = { phase: 'base', users: 100, seconds: 600, ms: (i) => 100 * (1 + 7 * Math.exp(-i / 40)) };
      const [r] = run(
        series(seed, [{ phase: 'base', users: 100, seconds: 400, ms: () => 100 }, { phase: 'spike-1', users: 500, seconds: 60, ms: () => 800 }, decay]),
      );
      expect(Math.abs(r!.recoveryS! / analytic - 1)).toBeLessThanOrEqual(0.15);
      expect(r!.verdict).toBe('recovered');
      expect(r!.overshoot).toBeGreaterThan(6);
    }
  });

  it('C3: no change in latency → recovery 0 s, overshoot ≈ 0', () => {
    const [r] = run(series(4, [burstBase(), { ...spike(1), ms: () => 10 }, slowThenBase(0, 60)]));
    expect(r?.recoveryS).toBe(0);
    expect(r?.overshoot).toBeLessThan(0.1);
  });

  it('C4: goodput stuck at 40 % of the base long after the load is back → metastable', () => {
    const stuck: Piece = { phase: 'base', users: 100, seconds: 400, ms: () => 10, rps: 80 };
    const [r] = run(series(5, [burstBase(), spike(1), stuck]));
    expect(r?.verdict).toBe('metastable');
  });

  it('no steady base before the spike → no-data, not a pass', () => {
    const [r] = run(series(6, [spike(1, 30), slowThenBase(0, 60)]));
    expect(r?.verdict).toBe('no-data');
  });

  it('low request rate widens the rolling window (≥ 200 requests, at most 10 s)', () => {
    const [r] = run(
      series(7, [
        { ...burstBase(), rps: 20 },
        { ...spike(1), rps: 20 },
        { ...slowThenBase(6, 60), rps: 20 },
      ]),
    );
    expect(r?.verdict).toBe('recovered');
    expect(Math.abs(r!.recoveryS! - 6)).toBeLessThanOrEqual(1);
  });
});

describe('recovery (ladders): the recovery phase after the last step or a break', () => {
  // closed model with 30 ms think time: each second's rate is users / (latency + think), so Little's law holds
  const closed = (p: Piece): Piece => ({ ...p, rps: (i) => Math.round((p.users * 1000) / (p.ms(i) + 30)) });
  const ladder = (slowS: number, recoveryS: number): Piece[] => [
    closed({ phase: 'step-1:10', users: 10, seconds: 60, ms: (i) => (i < 2 ? 400 : 20) }),
    closed({ phase: 'step-2:50', users: 50, seconds: 30, ms: () => 300 }),
    closed({ phase: 'recovery', users: 10, seconds: recoveryS, ms: (i) => (i < slowS ? 200 : 20) }),
    { phase: 'end', users: 0, seconds: 1, ms: () => 20, rps: 0 },
  ];

  it('measures from the start of the recovery phase; band from the first step’s steady part', () => {
    for (let seed = 0; seed < 3; seed++) {
      const [r] = run(series(seed, ladder(7, 60)));
      expect(r?.kind).toBe('ladder');
      expect(r?.startS).toBe(61);
      expect(r?.endS).toBe(91);
      expect(r?.verdict).toBe('recovered');
      expect(Math.abs(r!.recoveryS! - 7)).toBeLessThanOrEqual(1);
      expect(r!.holdS).toBe(20);
    }
  });

  it('a ladder never recovering over a long recovery phase fails the run; a short one is inconclusive, never FAIL', () => {
    const opts = { scenario: { name: 'stress', shape: 'steps' as const, thinkTimeMeanMs: 30 }, generatorCores: 2, incomplete: false };
    const long = analyzeRun(buildRecord(series(8, ladder(1000, 90))), opts);
    expect(long.validity.problems).toEqual([]);
    expect(long.recovery[0]?.verdict).toBe('not-recovered');
    expect(long.verdict).toBe('fail');
    expect(long.verdictReasons.join('\n')).toContain('recovery after the ladder');
    const short = analyzeRun(buildRecord(series(8, ladder(1000, 20))), opts);
    expect(short.recovery[0]?.verdict).toBe('inconclusive');
    expect(short.verdict).not.toBe('fail');
  });
});

describe('secondsText', () => {
  it('rounds for people', () => {
    expect(secondsText(30.099999999999994)).toBe('30 s');
    expect(secondsText(4.25)).toBe('4.3 s');
    expect(secondsText(125)).toBe('2 min 5 s');
    expect(secondsText(180)).toBe('3 min');
  });
});
