// What every virtual user needs, whichever transport drives it.
import type { CompiledFlow } from './flow-runner.ts';
import type { Recorder } from './recorder.ts';

export interface UserDeps {
  flow: CompiledFlow;
  target: URL;
  recorder: Recorder;
  requestTimeoutMs: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  /** epoch ms after which nothing may be sent (hard deadline) */
  deadlineEpochMs: number;
  onEvent: (kind: string, detail: Record<string, unknown>) => void;
}

export interface RunningUser {
  readonly id: number;
  /** finish the in-flight request, then stop */
  stop(): Promise<void>;
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
