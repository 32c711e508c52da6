// The engine's stopOnBreak rule: analysis/stop-rule.ts (the one rule and its constants) fed from the engine's seconds.
// SLOs are judged only by analysis/slo.ts, live and post-mortem (docs/ANALYSIS.md, Live verdicts).
import { createStopRule } from '../analysis/stop-rule.ts';
import type { Scenario } from '../config/schema.ts';
import type { SecondSample } from '../load/engine.ts';
import { ERROR_KINDS } from '../load/flow-runner.ts';
import { createLatencyHistogram } from '../load/histogram.ts';

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
