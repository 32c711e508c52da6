// The `external` worker engine (#15, docs/DISTRIBUTED.md, "Workers started by someone else"): it starts nothing.
// N `loadscope worker` processes started elsewhere — the Indexed Job of `loadscope k8s manifest`, a process
// supervisor, a shell — find the coordinator at the address and token they were given. The coordinator sees them only
// through the protocol: one that never asks is lost at the start allowance, one that goes silent after SILENT_MS
// (fleet-load.ts). It cannot kill them: a worker told `stop` in its reply, or past its deadline, ends by itself.
import { WORKER_START_ALLOWANCE_MS, type Fleet, type FleetSpec, type WorkerEngine, type WorkerExit } from './port.ts';

export class ExternalEngine implements WorkerEngine {
  readonly name = 'external' as const;
  readonly startAllowanceMs: number;

  constructor(o: { startAllowanceMs?: number } = {}) {
    this.startAllowanceMs = o.startAllowanceMs ?? WORKER_START_ALLOWANCE_MS;
  }

  start(spec: FleetSpec): Promise<Fleet> {
    return Promise.resolve(new ExternalFleet(spec.count));
  }
}

class ExternalFleet implements Fleet {
  /** named by index: the worker's own host (pod name) reaches the manifest with its seconds */
  readonly members: { index: number; name: string }[];
  readonly ended: Promise<WorkerExit[]>;
  private release: () => void = () => {};

  constructor(count: number) {
    this.members = Array.from({ length: count }, (_, index) => ({ index, name: `external-${index}` }));
    this.ended = new Promise<void>((r) => (this.release = r)).then(() => []);
  }

  /** No process is ours: the coordinator learns of an end from the worker's final second or its silence. */
  onExit(): void {}

  /** Not ours to kill: the coordinator's `stop` reply ends it (fleet-load.ts). */
  kill(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.release();
    return this.ended.then(() => undefined);
  }
}
