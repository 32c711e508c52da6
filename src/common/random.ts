// Seeded randomness: the analysis' synthetic tests and the load's per-user choices (docs/CONFIG.md, seed) draw from
// the same small PRNG, so a run's task picks, think times and randomInt values follow from its seed.

export type Rng = () => number;

/** mulberry32: a tiny seeded PRNG in [0, 1). */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Largest seed: seeds are unsigned 32-bit integers. */
export const MAX_SEED = 0xffffffff;

/**
 * A seed for one stream of a run (a fleet worker, a user, a thread's arrivals), derived from the run's seed and the
 * stream's coordinates: the seed is scrambled first, then each coordinate is mixed in (murmur3's 32-bit finaliser), so
 * nearby seeds and coordinates give unrelated streams.
 */
export function deriveSeed(seed: number, ...parts: readonly number[]): number {
  let h = fmix32(seed >>> 0);
  for (const p of parts) h = fmix32((h ^ Math.imul(p >>> 0, 0x9e3779b1)) >>> 0);
  return h;
}

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
