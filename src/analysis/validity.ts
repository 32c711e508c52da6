// Is the run fit to judge the system under test? Load-generator saturation, requests not sent on time and
// Little's-law inconsistency make it INVALID (docs/ANALYSIS.md, Validity) — before any SUT verdict.
import type { HistogramIndex } from './histograms.ts';
import { ALL_ENDPOINTS } from './histograms.ts';
import type { SeriesPoint, WindowS } from './types.ts';
import { littleCheck } from './littles-law.ts';
import { aggregate, inWindow, type LoadSegment } from './windows.ts';

export type ValidityCode =
  | 'no-data'
  | 'generator-cpu-saturated'
  | 'worker-cpu-saturated'
  | 'requests-dropped'
  | 'littles-law'
  | 'histograms-corrupt'
  | 'series-gaps';

export interface ValidityProblem {
  code: ValidityCode;
  message: string;
  /** Elapsed second the problem starts at, when it has one. */
  atS?: number;
  observed?: number;
  limit?: number;
}

export interface Validity {
  valid: boolean;
  problems: ValidityProblem[];
}

export interface ValidityOptions {
  /** Cores available to the load generator (required: there is no safe default). */
  generatorCores: number;
  /** 'closed' = users with think time; 'open' = constant arrival rate. */
  model: 'closed' | 'open';
  /** Mean think time between a user's requests, ms (closed model). */
  thinkTimeMeanMs: number;
  /** Think time is uniform in [min, max] ms; its spread sets the sampling noise of the Little check. Default: the mean, no spread. */
  thinkTimeMinMs?: number;
  thinkTimeMaxMs?: number;
  /** Generator CPU share of its cores counted as saturated. Default 0.9. */
  cpuSaturationRatio?: number;
  /** Share of steady seconds above that level that invalidates the run. Default 0.1. */
  cpuSaturatedShare?: number;
  /** Late / dropped requests tolerated, as a share of requests. Default 0 (any drop invalidates). */
  maxDroppedRatio?: number;
  /**
   * Little's law |N − X(R+Z)|/N tolerance. Default: LITTLE_SYSTEMATIC_TOLERANCE plus LITTLE_Z standard errors of the
   * window's throughput estimate (littles-law.ts), so a short window is not failed for its own sampling noise.
   */
  littleTolerance?: number;
  /** Steps with fewer requests than this skip the Little check. Default 200. */
  littleMinRequests?: number;
}

export function checkValidity(series: readonly SeriesPoint[], hist: HistogramIndex, segments: readonly LoadSegment[], o: ValidityOptions): Validity {
  const problems: ValidityProblem[] = [];
  if (!series.length || series.every((p) => !(p.total.count > 0))) {
    return { valid: false, problems: [{ code: 'no-data', message: 'the run recorded no requests' }] };
  }
  const steady: WindowS[] = segments.filter((s) => s.steady).map((s) => s.steady!);
  const judged = steady.length ? series.filter((p) => inWindow(p.elapsedS, steady)) : series;

  // 1. generator CPU
  const ratio = o.cpuSaturationRatio ?? 0.9;
  const share = o.cpuSaturatedShare ?? 0.1;
  if (o.generatorCores > 0) {
    const cpu = judged.map((p) => p.generator.cpuCores).filter((c): c is number => c !== null && Number.isFinite(c));
    const hot = judged.filter((p) => p.generator.cpuCores !== null && (p.generator.cpuCores ?? 0) >= ratio * o.generatorCores);
    if (cpu.length && hot.length / cpu.length > share) {
      problems.push({
        code: 'generator-cpu-saturated',
        message: `load generator at ≥ ${Math.round(ratio * 100)} % of ${o.generatorCores} cores for ${((100 * hot.length) / cpu.length).toFixed(1)} % of the steady time (limit ${share * 100} %)`,
        atS: hot[0]?.elapsedS,
        observed: hot.length / cpu.length,
        limit: share,
      });
    }
  }

  // 1b. each worker of a fleet run against its own host's cores, by the same rule: one saturated worker invalidates the run
  problems.push(...saturatedWorkers(judged, ratio, share));

  // 2. requests not sent on time (open model)
  const dropped = series.reduce((n, p) => n + (Number.isFinite(p.generator.droppedLate) ? (p.generator.droppedLate ?? 0) : 0), 0);
  const sent = series.reduce((n, p) => n + (Number.isFinite(p.total.count) ? p.total.count : 0), 0);
  const droppedRatio = dropped / Math.max(1, dropped + sent);
  if (dropped > 0 && droppedRatio > (o.maxDroppedRatio ?? 0)) {
    problems.push({
      code: 'requests-dropped',
      message: `${dropped} requests could not be sent on time (${(100 * droppedRatio).toFixed(2)} % of the schedule): the load was not delivered`,
      atS: series.find((p) => (p.generator.droppedLate ?? 0) > 0)?.elapsedS,
      observed: droppedRatio,
      limit: o.maxDroppedRatio ?? 0,
    });
  }

  // 3. Little's law per steady step (closed model): N ≈ X·(R̄ + Z)
  if (o.model === 'closed') {
    for (const seg of segments) {
      if (!seg.steady) continue;
      const agg = aggregate(series, seg.steady);
      const lat = hist.stats(ALL_ENDPOINTS, seg.steady);
      if (!lat || agg.count < (o.littleMinRequests ?? 200) || !(agg.meanUsers > 0)) continue;
      const c = littleCheck({
        users: agg.meanUsers,
        count: agg.count,
        seconds: agg.seconds,
        meanResponseMs: lat.meanMs,
        responseVarianceMs2: (lat.sdMs ?? 0) ** 2,
        thinkMinMs: o.thinkTimeMinMs ?? o.thinkTimeMeanMs,
        thinkMaxMs: o.thinkTimeMaxMs ?? o.thinkTimeMeanMs,
      });
      const predicted = c.predictedUsers;
      const dev = c.deviation;
      const tol = o.littleTolerance ?? c.tolerance;
      if (dev > tol) {
        problems.push({
          code: 'littles-law',
          message: `${seg.phase}: ${agg.meanUsers.toFixed(1)} users but X·(R+Z) = ${predicted.toFixed(1)} (${(dev * 100).toFixed(0)} % off, tolerance ${(tol * 100).toFixed(1)} % for ${agg.seconds} s): client-side queueing, generator saturation or coordinated omission`,
          atS: seg.steady.fromS,
          observed: dev,
          limit: tol,
        });
        break; // the first inconsistent step is the evidence; later ones add noise
      }
    }
  }

  if (hist.corrupt > 0)
    problems.push({ code: 'histograms-corrupt', message: `${hist.corrupt} stored histograms could not be decoded`, observed: hist.corrupt });

  // 4. gaps in the per-second series (the recorder stalled): more than 5 % missing seconds
  const span = series[series.length - 1]!.elapsedS - series[0]!.elapsedS + 1;
  const missing = span - series.length;
  if (span > 0 && missing / span > 0.05) {
    problems.push({ code: 'series-gaps', message: `${missing} of ${span} seconds missing from the series`, observed: missing / span, limit: 0.05 });
  }
  return { valid: problems.length === 0, problems };
}

/** Fleet runs (docs/DISTRIBUTED.md): a worker at ≥ ratio of its host's cores for more than `share` of the judged seconds. */
function saturatedWorkers(judged: readonly SeriesPoint[], ratio: number, share: number): ValidityProblem[] {
  const byWorker = new Map<string, { n: number; hot: number; firstS?: number; cores: number }>();
  for (const p of judged) {
    for (const [w, f] of Object.entries(p.workers ?? {})) {
      if (!Number.isFinite(f.cpuCores) || !(f.hostCores > 0)) continue;
      let agg = byWorker.get(w);
      if (!agg) byWorker.set(w, (agg = { n: 0, hot: 0, cores: f.hostCores }));
      agg.n++;
      if (f.cpuCores >= ratio * f.hostCores) {
        agg.hot++;
        agg.firstS ??= p.elapsedS;
      }
    }
  }
  return [...byWorker]
    .filter(([, a]) => a.hot / a.n > share)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([w, a]) => ({
      code: 'worker-cpu-saturated' as const,
      message: `load worker ${w} at ≥ ${Math.round(ratio * 100)} % of its host's ${a.cores} cores for ${((100 * a.hot) / a.n).toFixed(1)} % of the steady time (limit ${share * 100} %)`,
      atS: a.firstS,
      observed: a.hot / a.n,
      limit: share,
    }));
}
