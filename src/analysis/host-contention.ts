// Work on the host that is neither the system under test nor the load generator (docs/ANALYSIS.md "Recovery", host
// contention). A band drawn from a quiet base cannot judge seconds in which something else took the host: on the
// reference stack an image build beside a run (1–1.7 cores and up to 45 % I/O wait on 2 cores) gave p95 seconds of
// 150–950 ms that the quiet base never had. Outside work is what the host used beyond the SUT's containers and the
// generator; it is known only where all three were sampled (stack mode), never guessed in attach mode.
import type { SeriesPoint, WindowS } from './types.ts';

/** Outside work at or above this share of the host's cores contends (half a core on 2 cores). */
export const MIN_OUTSIDE_SHARE = 0.25;

export interface ContentionOptions {
  /** Cores of the host the generator and the stack run on (the manifest's generatorCores). */
  hostCores: number;
  /** Default MIN_OUTSIDE_SHARE. */
  minOutsideShare?: number;
  /** CPU time idle waiting on I/O at or above this share contends (the SUT's disk waits behind another's). Default 0.2. */
  minIowait?: number;
}

/** Cores the host spent outside the SUT's containers and the generator this second; null where one was not sampled. */
export function outsideCores(p: SeriesPoint, hostCores: number): number | null {
  const util = p.host?.cpuUtilization;
  const gen = p.generator.cpuCores;
  const containers = Object.values(p.containers ?? {});
  if (util === null || util === undefined || gen === null || containers.length === 0 || !(hostCores > 0)) return null;
  let sut = 0;
  for (const c of containers) {
    if (c.cpuCores === null || c.cpuCores === undefined) return null;
    sut += c.cpuCores;
  }
  return Math.max(0, util * hostCores - sut - gen);
}

/** Whether outside work contended for the host this second; null where it cannot be told. */
export function contendedSecond(p: SeriesPoint, o: ContentionOptions): boolean | null {
  const outside = outsideCores(p, o.hostCores);
  const iowait = p.host?.iowaitRatio;
  if (typeof iowait === 'number' && iowait >= (o.minIowait ?? 0.2)) return true;
  if (outside === null) return null;
  return outside >= (o.minOutsideShare ?? MIN_OUTSIDE_SHARE) * o.hostCores;
}

/**
 * A judge of windows: true when outside work contended in any of its seconds, false when every sampled second was
 * free of it, null when no second of the window could be told.
 */
export function contentionJudge(series: readonly SeriesPoint[], o: ContentionOptions): (w: WindowS) => boolean | null {
  // the series is in time order: a window starts at the first second at or after its start (binary search)
  const at = series.map((p) => ({ s: p.elapsedS, c: contendedSecond(p, o) }));
  return (w) => {
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at[mid]!.s < w.fromS) lo = mid + 1;
      else hi = mid;
    }
    let known = false;
    for (let i = lo; i < at.length && at[i]!.s <= w.toS; i++) {
      const c = at[i]!.c;
      if (c) return true;
      if (c === false) known = true;
    }
    return known ? false : null;
  };
}
