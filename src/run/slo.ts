// Scenario SLOs (plan numbers) against the run summary, and the default stopOnBreak rule.
import type { Scenario } from '../config/schema.ts';
import type { SecondSample } from '../load/engine.ts';
import { ERROR_KINDS } from '../load/flow-runner.ts';
import { createLatencyHistogram } from '../load/histogram.ts';
import type { RunSummary } from '../store/run-writer.ts';

export interface SloCheck {
  name: string;
  limit: number;
  observed: number;
  pass: boolean;
}

export function checkSlo(sc: Scenario, s: RunSummary): SloCheck[] {
  const out: SloCheck[] = [];
  const slo = sc.slo;
  if (!slo) return out;
  if (slo.p95Ms !== undefined) out.push({ name: 'p95Ms <', limit: slo.p95Ms, observed: s.total.p95Ms, pass: s.total.p95Ms < slo.p95Ms });
  if (slo.p99Ms !== undefined) out.push({ name: 'p99Ms <', limit: slo.p99Ms, observed: s.total.p99Ms, pass: s.total.p99Ms < slo.p99Ms });
  if (slo.errorRatio !== undefined) out.push({ name: 'errorRatio <', limit: slo.errorRatio, observed: s.total.errorRatio, pass: s.total.errorRatio < slo.errorRatio });
  if (slo.minThroughputRps !== undefined) out.push({ name: 'throughputRps >', limit: slo.minThroughputRps, observed: s.total.rps, pass: s.total.rps > slo.minThroughputRps });
  return out;
}

/**
 * Seconds with fewer completed requests are not judged by the break rule (they neither count nor reset the run): a p95
 * of a handful of requests is their maximum, e.g. the first users' enroll burst. The same floor as the per-step
 * evaluation windows (docs/ANALYSIS.md "Capacity / breaking point / failure mode").
 */
export const MIN_RULE_REQUESTS = 20;

/** Breaks after `seconds` consecutive judged seconds over the error-ratio (default 5 %) or p95 (SLO) limit. */
export function defaultBreakRule(sc: Scenario, seconds = 3): (s: SecondSample) => string | undefined {
  const maxErrorRatio = sc.slo?.errorRatio ?? 0.05;
  const maxP95Ms = sc.slo?.p95Ms;
  const merged = createLatencyHistogram();
  let bad = 0;
  return (s) => {
    let count = 0;
    let errors = 0;
    merged.reset();
    for (const e of s.endpoints.values()) {
      count += e.count;
      errors += ERROR_KINDS.reduce((n, k) => n + e.errors[k], 0);
      merged.add(e.hist);
    }
    if (count < MIN_RULE_REQUESTS) return undefined;
    const p95Ms = merged.totalCount ? merged.getValueAtPercentile(95) / 1000 : 0;
    const why = errors / count > maxErrorRatio ? `error ratio ${(errors / count).toFixed(3)} > ${maxErrorRatio}` : maxP95Ms !== undefined && p95Ms > maxP95Ms ? `p95 ${p95Ms.toFixed(1)} ms > ${maxP95Ms} ms` : undefined;
    bad = why ? bad + 1 : 0;
    return bad >= seconds ? `${why} for ${seconds} s at ${s.activeUsers} users (${s.phase})` : undefined;
  };
}
