// The one back-off schedule: exponential from a base, capped. Used by every retry loop (onStart steps on both
// user transports), so a user's retry timing does not depend on which transport drives it.

export interface BackoffPolicy {
  /** wait after the first failure */
  baseMs: number;
  /** no wait is longer than this */
  capMs: number;
}

/** onStart retries: 100 ms, 200 ms, 400 ms, 800 ms, then 1 s (a retry soon, but a failing enroll is no hot loop). */
export const ONSTART_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 1000 };

/** Wait before retry number `attempt` (1 = after the first failure): baseMs · 2^(attempt−1), at most capMs. */
export function backoffMs(attempt: number, p: BackoffPolicy): number {
  return Math.min(p.capMs, p.baseMs * 2 ** Math.max(0, attempt - 1));
}
