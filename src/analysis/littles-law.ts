// Little's-law consistency for a closed-model window (docs/ANALYSIS.md "Validity"): N ≈ X·(R̄ + Z̄), with a tolerance
// that accounts for the sampling noise of the window's throughput estimate.
//
// Each of the N users is a renewal process with cycle Y = R + Z (mean μ, variance σ²). The completions C counted in a
// window of T seconds have E[C] = N·T/μ and, per user, Var ≈ σ²·T/μ³ (renewal CLT) + c, where c ≤ 1/4 is the
// boundary term of the lattice case (a deterministic cycle counts ⌊T/μ⌋ or ⌈T/μ⌉). So the relative standard error
// of X̂ = C/T is √(N·(σ²T/μ³ + 1/4)) / E[C]. The check allows the systematic part (client-side timing, users
// counted per second) plus three standard errors of that noise.

export interface LittleWindow {
  /** Mean active users over the window. */
  users: number;
  /** Completed requests counted in the window. */
  count: number;
  seconds: number;
  /** Mean response time, ms (merged histogram). */
  meanResponseMs: number;
  /** Variance of the response time, ms² (merged histogram); 0 when unknown. */
  responseVarianceMs2: number;
  /** Think time: uniform in [minMs, maxMs]. */
  thinkMinMs: number;
  thinkMaxMs: number;
}

/** Systematic allowance: client-side timing and users sampled once a second. */
export const LITTLE_SYSTEMATIC_TOLERANCE = 0.1;
/** Standard errors of the throughput estimate allowed on top (a check made on several windows per run). */
export const LITTLE_Z = 3;

export interface LittleCheck {
  /** |N − X·(R̄ + Z̄)| / N */
  deviation: number;
  predictedUsers: number;
  tolerance: number;
  /** Relative standard error of the window's throughput estimate. */
  relativeSe: number;
}

export function littleCheck(w: LittleWindow): LittleCheck {
  const thinkMeanS = (w.thinkMinMs + w.thinkMaxMs) / 2000;
  const muS = w.meanResponseMs / 1000 + thinkMeanS;
  const varS2 = ((w.thinkMaxMs - w.thinkMinMs) / 1000) ** 2 / 12 + Math.max(0, w.responseVarianceMs2) / 1e6;
  const throughput = w.count / w.seconds;
  const predictedUsers = throughput * muS;
  const deviation = Math.abs(w.users - predictedUsers) / w.users;
  const expected = (w.users * w.seconds) / muS;
  const relativeSe = muS > 0 && expected > 0 ? Math.sqrt(w.users * ((varS2 * w.seconds) / muS ** 3 + 0.25)) / expected : 0;
  return { deviation, predictedUsers, tolerance: LITTLE_SYSTEMATIC_TOLERANCE + LITTLE_Z * relativeSe, relativeSe };
}
