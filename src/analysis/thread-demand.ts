// A container's busiest thread (samplers/threads.ts): how much of each second it wanted a core. Saturated when it was
// runnable — on the CPU or waiting for one — nearly all the second, and on the CPU for at least half of that: it
// wanted more than the one core a thread can use, a single-threaded runtime (a GIL, an event loop) at its limit,
// limit or none. A thread that mostly waited for a core was held back by the host more than by itself: that is the
// host's signal (docs/ANALYSIS.md, Bottlenecks). The reference app under a zero-think ladder on 2 cores: runnable
// 99–100 % of each second, on a core 82–90 %.
import type { ContainerPoint } from './types.ts';

/** Share of the second the busiest thread must be runnable (else, without schedstat, on the CPU) to be saturated. */
export const THREAD_SATURATED = 0.9;
/** Share of its runnable time it must have spent on the CPU (mostly its own work): waiting for a core is the host's. */
export const THREAD_ON_CPU_SHARE = 0.5;

/** Runnable share of the busiest thread (else its cores on the CPU); NaN where it was not sampled. */
export function threadDemand(x: ContainerPoint | undefined): number {
  const runnable = x?.busiestThreadRunnable;
  if (typeof runnable === 'number') return runnable;
  const cores = x?.busiestThreadCores;
  return typeof cores === 'number' ? cores : NaN;
}

/** Whether the busiest thread was saturated by its own work this second; false where it was not sampled. */
export function threadSaturated(x: ContainerPoint | undefined): boolean {
  const demand = threadDemand(x);
  if (!(demand >= THREAD_SATURATED)) return false;
  const runnable = x?.busiestThreadRunnable;
  return typeof runnable !== 'number' || (x?.busiestThreadCores ?? 0) >= THREAD_ON_CPU_SHARE * runnable;
}

/** People's words for the busiest thread of a sample: "its busiest thread runnable 98 % of the time (on a core 85 %)". */
export function threadText(x: ContainerPoint): string {
  const onCpu = `${Math.round(100 * (x.busiestThreadCores ?? 0))} %`;
  const runnable = x.busiestThreadRunnable;
  return typeof runnable === 'number'
    ? `its busiest thread runnable ${Math.round(100 * runnable)} % of the time (on a core ${onCpu})`
    : `its busiest thread on a core ${onCpu} of the time`;
}
