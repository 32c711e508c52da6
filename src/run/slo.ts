// Scenario SLOs (plan numbers) against the run summary, and the default stopOnBreak rule.
import { createStopRule } from '../analysis/stop-rule.ts';
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

/** The stop-on-break rule (analysis/stop-rule.ts) over the engine's seconds: counts, errors and the merged p95. */
export function defaultBreakRule(sc: Scenario): (s: SecondSample) => string | undefined {
  const rule = createStopRule({ p95Ms: sc.slo?.p95Ms, errorRatio: sc.slo?.errorRatio });
  const merged = createLatencyHistogram();
  return (s) => {
    let count = 0;
    let errors = 0;
    merged.reset();
    for (const e of s.endpoints.values()) {
      count += e.count;
      errors += ERROR_KINDS.reduce((n, k) => n + e.errors[k], 0);
      merged.add(e.hist);
    }
    const p95Ms = merged.totalCount ? merged.getValueAtPercentile(95) / 1000 : null;
    return rule({ count, errors, p95Ms, activeUsers: s.activeUsers, phase: s.phase });
  };
}
