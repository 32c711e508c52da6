// MSER-5 truncation (White 1997; the AutoSimOA warm-up study): batch a per-second indicator into means of 5 and pick
// the truncation d (in batches) that minimises Σ_{i>d}(Z_i − Z̄_d)² / (k−d)², searched over the first half only
// (the statistic is unstable when few batches remain). docs/ANALYSIS.md "Steady state".

export const MSER_BATCH = 5;

/** Batch means of `xs` (non-finite values skipped); a trailing partial batch is dropped. null when a batch has no value. */
export function batchMeans(xs: readonly (number | null)[], m = MSER_BATCH): number[] | null {
  const out: number[] = [];
  for (let b = 0; b + m <= xs.length; b += m) {
    let sum = 0;
    let n = 0;
    for (let i = b; i < b + m; i++) {
      const v = xs[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    if (n === 0) return null;
    out.push(sum / n);
  }
  return out;
}

/**
 * Truncation point in samples (a multiple of the batch size) minimising the MSER statistic over d ≤ ⌊k/2⌋ batches.
 * Undefined with fewer than 2 full batches or without a usable indicator. Ties keep the earliest d.
 */
export function mserTruncation(xs: readonly (number | null)[], m = MSER_BATCH): number | undefined {
  const z = batchMeans(xs, m);
  if (!z || z.length < 2) return undefined;
  const k = z.length;
  // suffix sums of Z and Z² so each d costs O(1): Σ(Z−Z̄)² = ΣZ² − (ΣZ)²/n
  const s1 = new Array<number>(k + 1).fill(0);
  const s2 = new Array<number>(k + 1).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    s1[i] = s1[i + 1]! + z[i]!;
    s2[i] = s2[i + 1]! + z[i]! * z[i]!;
  }
  let best = 0;
  let bestStat = Infinity;
  for (let d = 0; d <= Math.floor(k / 2); d++) {
    const n = k - d;
    const ss = Math.max(0, s2[d]! - (s1[d]! * s1[d]!) / n);
    const stat = ss / (n * n);
    // relative tolerance: a flat series gives float noise, not a reason to cut
    if (stat < bestStat * (1 - 1e-9)) {
      bestStat = stat;
      best = d;
    }
  }
  return best * m;
}
