// The docker engine (#15, docs/DISTRIBUTED.md): N `loadscope worker` containers from the loadscope/loadscope image,
// through the ContainerRuntime port, on whatever engine DOCKER_HOST names. Host networking only, like the stack:
// a worker's 127.0.0.1 is the Docker host's loopback — the same machine only when the engine is local.
import { realClock, type Clock } from '../../common/clock.ts';
import { LABEL_RUN, managedLabels, runSuffix } from '../../stack/labels.ts';
import type { ContainerEvent, ContainerRuntime } from '../../stack/runtime/port.ts';
import {
  FLEET_LABEL_ROLE,
  FLEET_ROLE_WORKER,
  WORKER_ARGS,
  WORKER_IMAGE_REF,
  workerEnv,
  type Fleet,
  type FleetSpec,
  type WorkerEngine,
  type WorkerExit,
} from './port.ts';

/** compose/images/loadscope/image.json builds this ref (a unit test holds the two together). */
export { WORKER_IMAGE_REF } from './port.ts';

export interface DockerEngineOptions {
  runtime: ContainerRuntime;
  /** LABEL_PROJECT of the containers: `loadscope down` / `ps` show it. */
  project: string;
  image?: string;
  /** Builds or checks the image before the first container (run/ passes ensureImages with refs: [image]). */
  ensureImage?: () => Promise<void>;
  clock?: Clock;
  /** SIGTERM → SIGKILL grace on stop(); the worker flushes its last second in it. */
  stopTimeoutS?: number;
  /** A worker still running this long after the fleet's deadline is removed by the engine itself. */
  deadlineGraceMs?: number;
  /** Each line a worker writes (stdout or stderr), as the local engine passes its children's. */
  onOutput?: (index: number, line: string) => void;
}

export class DockerEngine implements WorkerEngine {
  readonly name = 'docker' as const;
  constructor(private readonly opts: DockerEngineOptions) {}

  async start(spec: FleetSpec): Promise<Fleet> {
    const clock = this.opts.clock ?? realClock;
    const startedMs = clock.monotonicMs();
    await this.opts.ensureImage?.();
    // The coordinator set the deadline before calling start; a build (minutes) must not eat into the run it bounds.
    const buildMs = clock.monotonicMs() - startedMs;
    const fleet = new DockerFleet(this.opts, { ...spec, deadlineEpochMs: spec.deadlineEpochMs + buildMs });
    await fleet.launch();
    return fleet;
  }
}

export function workerContainerName(runId: string, index: number): string {
  return `loadscope-worker-${runSuffix(runId)}-${index}`;
}

interface Member {
  index: number;
  name: string;
  id?: string;
  oom: boolean;
  exit?: WorkerExit;
}

class DockerFleet implements Fleet {
  private readonly runtime: ContainerRuntime;
  private readonly clock: Clock;
  private readonly all: Member[];
  private readonly listeners: Array<(exit: WorkerExit) => void> = [];
  private readonly events = new AbortController();
  private readonly reapTimer;
  private resolveEnded: (exits: WorkerExit[]) => void = () => undefined;
  private stopping: Promise<void> | undefined;
  readonly ended: Promise<WorkerExit[]>;

  constructor(
    private readonly opts: DockerEngineOptions,
    private readonly spec: FleetSpec,
  ) {
    this.runtime = opts.runtime;
    this.clock = opts.clock ?? realClock;
    this.all = Array.from({ length: spec.count }, (_, index) => ({ index, name: workerContainerName(spec.runId, index), oom: false }));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    // Workers stop themselves at the deadline; one that does not (hung, coordinator gone) is removed here.
    const graceMs = opts.deadlineGraceMs ?? 30_000;
    this.reapTimer = this.clock.setTimer(spec.deadlineEpochMs + graceMs - this.clock.nowMs(), () => void this.stop());
  }

  get members(): ReadonlyArray<{ index: number; name: string }> {
    return this.all.map(({ index, name }) => ({ index, name }));
  }

  /** A listener added after some workers ended (they can die during start) hears of those first. */
  onExit(listener: (exit: WorkerExit) => void): void {
    this.listeners.push(listener);
    for (const m of this.all) if (m.exit) listener(m.exit);
  }

  /** Subscribes to the run's worker events first (no die is missed), then creates and starts every container. */
  async launch(): Promise<void> {
    const labels = { [LABEL_RUN]: this.spec.runId, [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER };
    void this.follow(this.runtime.events(labels, this.events.signal));
    try {
      for (const m of this.all) {
        m.id = await this.runtime.create({
          name: m.name,
          image: this.opts.image ?? WORKER_IMAGE_REF,
          cmd: [...WORKER_ARGS],
          env: workerEnv(this.spec, m.index),
          labels: { ...managedLabels(this.spec.runId, `worker-${m.index}`, this.opts.project), [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER },
          networkMode: 'host',
          binds: [],
        });
      }
      for (const m of this.all) {
        if (!m.id) continue;
        await this.runtime.start(m.id);
        if (this.opts.onOutput) void this.forward(m.id, m.index, this.opts.onOutput);
      }
      // a worker that died before the event subscription took hold is read from the engine once
      for (const m of this.all) if (m.id && !m.exit) await this.readExit(m, 'exited');
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async kill(index: number): Promise<void> {
    const m = this.all[index];
    if (!m?.id || m.exit) return;
    // SIGKILL at once: `stop` would send SIGTERM first, and a worker that handles it ends as stopped, not killed
    await this.runtime.signal(m.id, 'SIGKILL');
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.reapTimer.cancel();
    const created = this.all.filter((m) => m.id !== undefined);
    await Promise.allSettled(created.filter((m) => !m.exit).map((m) => this.runtime.stop(m.id as string, this.opts.stopTimeoutS ?? 5)));
    // Exits whose die event has not arrived (or never will: created, not started) are read from the engine.
    for (const m of created) if (!m.exit && !(await this.readExit(m, 'stopped'))) this.record(m, { how: 'removed' });
    await Promise.allSettled(created.map((m) => this.runtime.remove(m.id as string)));
    this.events.abort();
    for (const m of this.all) if (!m.exit) this.record(m, { how: 'never started' });
  }

  /** Records the exit Docker holds for a container that is no longer running; false when it still runs (or is gone). */
  private async readExit(m: Member, how: string): Promise<boolean> {
    const info = await this.runtime.inspect(m.id as string).catch(() => undefined);
    if (info?.state !== 'exited' && info?.state !== 'dead') return false;
    this.record(m, { exitCode: info.exitCode, oom: info.oomKilled, how });
    return true;
  }

  private async forward(id: string, index: number, onOutput: (index: number, line: string) => void): Promise<void> {
    try {
      for await (const l of this.runtime.logs(id, this.events.signal)) onOutput(index, l.line);
    } catch {
      // a log stream that breaks loses lines, never the worker: its exit still comes by event or inspect
    }
  }

  private async follow(stream: AsyncIterable<ContainerEvent>): Promise<void> {
    try {
      for await (const e of stream) {
        const m = this.all.find((x) => x.id === e.id || x.name === e.name.replace(/^\//, ''));
        if (!m) continue;
        if (e.action === 'oom') m.oom = true;
        if (e.action === 'die') this.record(m, { exitCode: e.exitCode, oom: m.oom, how: 'exited' });
      }
    } catch {
      // The stream broke (engine restarted, connection lost): stop() still reads every exit by inspect.
    }
  }

  private record(m: Member, seen: { exitCode?: number; oom?: boolean; how: string }): void {
    if (m.exit) return;
    // Docker reports a signal death as 128 + signal (137 SIGKILL, 143 SIGTERM); the port wants the signal then, no code.
    const signal = seen.exitCode === 137 ? 'SIGKILL' : seen.exitCode === 143 ? 'SIGTERM' : undefined;
    const exitCode = signal ? undefined : seen.exitCode;
    const code = seen.exitCode !== undefined ? ` (exit ${seen.exitCode}${signal ? `, ${signal}` : ''})` : '';
    const reason = seen.oom ? `OOMKilled${code}` : `${seen.how}${code}`;
    m.exit = { index: m.index, ...(exitCode !== undefined && { exitCode }), ...(signal && { signal }), reason, atMs: this.clock.nowMs() };
    for (const l of this.listeners) l(m.exit);
    if (this.all.every((x) => x.exit)) {
      this.reapTimer.cancel();
      this.resolveEnded(this.all.map((x) => x.exit as WorkerExit));
    }
  }
}
