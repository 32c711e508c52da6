// What every virtual user needs, whichever transport drives it.
import type { CompiledFlow } from './flow-runner.ts';
import type { Recorder } from './recorder.ts';
import { deriveSeed, seededRng } from '../common/random.ts';

export interface UserDeps {
  flow: CompiledFlow;
  target: URL;
  recorder: Recorder;
  requestTimeoutMs: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  /** epoch ms after which nothing may be sent (hard deadline) */
  deadlineEpochMs: number;
  /** true once the engine has stopped the run: nothing new is sent, what ends afterwards was cancelled */
  runStopped?: () => boolean;
  onEvent: (kind: string, detail: Record<string, unknown>) => void;
  /** the run's seed and this load thread's index: every user, and each thread's arrivals, draw from their own stream */
  seed: number;
  threadIndex: number;
}

/** Stream coordinates under the run's seed (deriveSeed): a user's is its id; a thread's open-model arrivals this one. */
export const OPEN_MODEL_STREAM = 0x6f70656e;

/** The seeded stream of user `id` (its task picks, think times, randomInt). */
export const userRandom = (deps: Pick<UserDeps, 'seed'>, id: number): (() => number) => seededRng(deriveSeed(deps.seed, id));

export interface RunningUser {
  readonly id: number;
  /**
   * Stop the user. Graceful (a ramp-down): the request in flight finishes and is recorded. `cancel` (the run
   * stops): the request in flight is dropped at once and counted as cancelled.
   */
  stop(cancel?: boolean): Promise<void>;
}

/** A sleep that ends early when `wake()` is called. */
export function abortableSleep(ms: number): { done: Promise<void>; wake: () => void } {
  let wake: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
  return { done, wake };
}
