// The local worker engine (#15, docs/DISTRIBUTED.md "Local engine"): N `loadscope worker` child processes on this
// machine. Killed and reaped on stop, at the fleet's deadline and when the coordinator's process exits: no worker
// outlives its run by more than the stop bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WORKER_ARGS, workerEnv, type Fleet, type FleetSpec, type WorkerEngine, type WorkerExit } from './port.ts';

const CLI_ENTRY = fileURLToPath(new URL('../../cli/loadscope.mjs', import.meta.url));
/** SIGTERM first (the worker stops its load and sends its last second), SIGKILL after this. */
export const LOCAL_STOP_BOUND_MS = 3_000;
/** Last stderr lines kept per worker, for the exit reason. */
const STDERR_TAIL_LINES = 5;

interface Child {
  index: number;
  proc: ChildProcess;
  exited: Promise<void>;
  exit?: WorkerExit;
  stderrTail: string[];
}

export interface LocalEngineOptions {
  /** each line a worker writes on stderr (progress, warnings); default: kept for its exit reason only */
  onOutput?: (index: number, line: string) => void;
}

export class LocalEngine implements WorkerEngine {
  readonly name = 'local' as const;
  constructor(private readonly o: LocalEngineOptions = {}) {}

  start(spec: FleetSpec): Promise<Fleet> {
    return Promise.resolve(new LocalFleet(spec, this.o));
  }
}

class LocalFleet implements Fleet {
  readonly members: { index: number; name: string }[];
  readonly ended: Promise<WorkerExit[]>;
  private readonly children: Child[];
  private readonly listeners: ((e: WorkerExit) => void)[] = [];
  private readonly deadline: NodeJS.Timeout;
  private stopping?: Promise<void>;
  /** synchronous: 'exit' handlers cannot wait; SIGKILL cannot be ignored */
  private readonly killAllOnExit = (): void => {
    for (const c of this.children) if (!c.exit) c.proc.kill('SIGKILL');
  };

  constructor(
    spec: FleetSpec,
    private readonly o: LocalEngineOptions,
  ) {
    this.children = Array.from({ length: spec.count }, (_, index) => this.spawnOne(spec, index));
    this.members = this.children.map((c) => ({ index: c.index, name: `local-${c.index} (pid ${c.proc.pid ?? '?'})` }));
    this.ended = Promise.all(this.children.map((c) => c.exited)).then(() => this.children.map((c) => c.exit!));
    process.once('exit', this.killAllOnExit);
    this.deadline = setTimeout(() => void this.stop(), Math.max(0, spec.deadlineEpochMs - Date.now()));
    this.deadline.unref();
    void this.ended.then(() => {
      clearTimeout(this.deadline);
      process.off('exit', this.killAllOnExit);
    });
  }

  private spawnOne(spec: FleetSpec, index: number): Child {
    // the token travels in the environment, never on the command line (port.ts)
    const proc = spawn(process.execPath, [CLI_ENTRY, ...WORKER_ARGS], {
      env: { ...process.env, ...workerEnv(spec, index) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const child: Child = { index, proc, stderrTail: [], exited: Promise.resolve() };
    let partial = '';
    proc.stderr?.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim())) {
        child.stderrTail.push(line);
        if (child.stderrTail.length > STDERR_TAIL_LINES) child.stderrTail.shift();
        this.o.onOutput?.(index, line);
      }
    });
    child.exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
        if (child.exit) return;
        const last = child.stderrTail[child.stderrTail.length - 1];
        const reason = error ? `could not start: ${error.message}` : signal ? `killed (${signal})` : `exited ${code}${code !== 0 && last ? `: ${last}` : ''}`;
        child.exit = { index, ...(code !== null && { exitCode: code }), ...(signal && { signal }), reason, atMs: Date.now() };
        for (const l of this.listeners) l(child.exit);
        resolve();
      };
      proc.once('exit', (code, signal) => done(code, signal));
      proc.once('error', (err) => done(null, null, err));
    });
    return child;
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.listeners.push(listener);
    for (const c of this.children) if (c.exit) listener(c.exit);
  }

  async kill(index: number): Promise<void> {
    const c = this.children[index];
    if (!c || c.exit) return;
    c.proc.kill('SIGKILL');
    await c.exited;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const alive = this.children.filter((c) => !c.exit);
      for (const c of alive) c.proc.kill('SIGTERM');
      const bound = setTimeout(() => {
        for (const c of alive) if (!c.exit) c.proc.kill('SIGKILL');
      }, LOCAL_STOP_BOUND_MS);
      await Promise.all(alive.map((c) => c.exited));
      clearTimeout(bound);
    })();
    return this.stopping;
  }
}
