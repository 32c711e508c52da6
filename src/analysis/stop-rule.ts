// The stop-on-break rule and the default limits a ladder is judged against (docs/ANALYSIS.md, Stop rule). One place
// for both: the engine applies the rule live (through run/), the post-mortem counts the seconds it fired on.
import { MIN_REQUESTS_FOR_PERCENTILE } from './slo.ts';

/** Error ratio a step (and the stop rule) may not exceed when the scenario's SLO sets none. */
export const DEFAULT_MAX_ERROR_RATIO = 0.01;
/** Consecutive judged seconds over a limit that make the rule fire. */
export const STOP_RULE_SECONDS = 3;
/**
 * Seconds with fewer completed requests are not judged (they neither count nor reset the run): a p95 of a handful of
 * requests is their maximum, e.g. the first users' enroll burst. The same floor as every percentile verdict.
 */
export const STOP_RULE_MIN_REQUESTS = MIN_REQUESTS_FOR_PERCENTILE;

/** One second as the rule sees it. */
export interface RuleSecond {
  count: number;
  errors: number;
  /** p95 of the second's merged histogram, ms; null without requests. */
  p95Ms: number | null;
  activeUsers: number;
  phase: string;
}

/** A stateful rule: feed it every second in order; it returns the reason once it fires. */
export function createStopRule(limits: { p95Ms?: number; errorRatio?: number }, seconds = STOP_RULE_SECONDS): (s: RuleSecond) => string | undefined {
  const maxErrorRatio = limits.errorRatio ?? DEFAULT_MAX_ERROR_RATIO;
  let bad = 0;
  return (s) => {
    if (s.count < STOP_RULE_MIN_REQUESTS) return undefined;
    const ratio = s.errors / s.count;
    const why =
      ratio > maxErrorRatio
        ? `error ratio ${ratio.toFixed(3)} > ${maxErrorRatio}`
        : limits.p95Ms !== undefined && s.p95Ms !== null && s.p95Ms > limits.p95Ms
          ? `p95 ${s.p95Ms.toFixed(1)} ms > ${limits.p95Ms} ms`
          : undefined;
    bad = why ? bad + 1 : 0;
    return bad >= seconds ? `${why} for ${seconds} s at ${s.activeUsers} users (${s.phase})` : undefined;
  };
}
