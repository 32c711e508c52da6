// In-memory ContainerRuntime for unit tests: scriptable images, health transitions, exits, logs and events.
import type { Readable } from 'node:stream';
import type {
  BuildImageOptions,
  ContainerEvent,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  EngineInfo,
  HealthState,
  ImageInfo,
  ImportImageOptions,
  LogLine,
} from '../runtime/port.ts';

/** How a container behaves once started; keyed by container name. */
export interface FakeContainerScript {
  /** Health reported by successive inspect calls after start; the last value sticks. Default: starting, healthy. */
  health?: HealthState[];
  /** The container exits on this inspect call after start (1 = the first one). */
  exitOnInspect?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Log lines; plain strings are stdout. */
  logs?: (string | LogLine)[];
  failCreate?: string;
  failStart?: string;
  failStop?: string;
}

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: ContainerState;
  health: HealthState;
  exitCode: number;
  oomKilled: boolean;
  inspectsSinceStart: number;
}

interface Subscriber {
  labels: Record<string, string>;
  push(e: ContainerEvent): void;
}

export class FakeContainerRuntime implements ContainerRuntime {
  readonly images = new Map<string, ImageInfo>();
  readonly containers = new Map<string, FakeContainer>();
  /** "create app", "start app", "stop app", "remove app", in call order (container names). */
  readonly calls: string[] = [];
  private readonly scripts = new Map<string, FakeContainerScript>();
  private readonly subscribers = new Set<Subscriber>();
  private nextId = 1;
  private timeMs = 1_700_000_000_000;

  constructor(options: { images?: string[] } = {}) {
    for (const ref of options.images ?? []) this.addImage(ref);
  }

  addImage(ref: string, labels: Record<string, string> = {}): void {
    this.images.set(ref, { id: `sha256:${ref}`, labels });
  }

  script(containerName: string, script: FakeContainerScript): void {
    this.scripts.set(containerName, script);
  }

  /** Adds a container as if left behind by someone else (e.g. a crashed run). */
  addContainer(spec: Partial<ContainerSpec> & { name: string }, state: ContainerState = 'running'): string {
    const id = this.newId();
    const full: ContainerSpec = { image: 'leftover', env: {}, labels: {}, networkMode: 'host', binds: [], ...spec };
    this.containers.set(id, { id, spec: full, state, health: 'none', exitCode: 0, oomKilled: false, inspectsSinceStart: 0 });
    return id;
  }

  /**
   * Makes a running container die now, emitting oom (if asked) and die events like the engine; `oomEvents` repeats
   * the oom event, as the engine does for one kill on a busy host.
   */
  kill(idOrName: string, exitCode: number, options: { oom?: boolean; oomEvents?: number } = {}): void {
    const c = this.find(idOrName);
    if (!c) throw new Error(`no such container ${idOrName}`);
    this.exit(c, exitCode, options.oom ?? false, options.oomEvents ?? 1);
  }

  /** Sends an arbitrary event to subscribers whose labels match the container's. */
  emit(event: Omit<ContainerEvent, 'timeMs'> & { timeMs?: number }): void {
    const full: ContainerEvent = { timeMs: this.tick(), ...event };
    for (const s of this.subscribers) if (matches(full.labels, s.labels)) s.push(full);
  }

  ping(): Promise<EngineInfo> {
    return Promise.resolve({ serverVersion: 'fake', apiVersion: '1.44', cgroupVersion: '2' });
  }

  imageInfo(ref: string): Promise<ImageInfo | undefined> {
    return Promise.resolve(this.images.get(ref));
  }

  importImage(rootfsTar: Readable, options: ImportImageOptions): Promise<void> {
    rootfsTar.resume();
    this.addImage(options.ref);
    return Promise.resolve();
  }

  buildImage(contextTar: Readable, options: BuildImageOptions): Promise<void> {
    contextTar.resume();
    this.addImage(options.ref, options.labels);
    return Promise.resolve();
  }

  removeImage(ref: string): Promise<void> {
    this.images.delete(ref);
    return Promise.resolve();
  }

  async create(spec: ContainerSpec): Promise<string> {
    this.calls.push(`create ${spec.name}`);
    const failure = this.scripts.get(spec.name)?.failCreate;
    if (failure !== undefined) throw new Error(failure);
    if (!this.images.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
    if (this.find(spec.name)) throw new Error(`Conflict. The container name "/${spec.name}" is already in use`);
    const id = this.newId();
    this.containers.set(id, { id, spec, state: 'created', health: 'none', exitCode: 0, oomKilled: false, inspectsSinceStart: 0 });
    return id;
  }

  async start(id: string): Promise<void> {
    const c = this.mustFind(id);
    this.calls.push(`start ${c.spec.name}`);
    const failure = this.scripts.get(c.spec.name)?.failStart;
    if (failure !== undefined) throw new Error(failure);
    c.state = 'running';
    c.health = hasHealthcheck(c.spec) ? 'starting' : 'none';
    c.inspectsSinceStart = 0;
    this.emitFor(c, 'start');
  }

  async stop(id: string, _timeoutS: number): Promise<void> {
    const c = this.mustFind(id);
    this.calls.push(`stop ${c.spec.name}`);
    const failure = this.scripts.get(c.spec.name)?.failStop;
    if (failure !== undefined) throw new Error(failure);
    if (c.state !== 'running') return;
    this.emitFor(c, 'kill');
    this.exit(c, 0, false);
    this.emitFor(c, 'stop');
  }

  async signal(id: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const c = this.mustFind(id);
    this.calls.push(`signal ${c.spec.name} ${signal}`);
    if (c.state !== 'running') return;
    this.emitFor(c, 'kill');
    // the engine's exit code for a signal death: 128 + the signal's number
    this.exit(c, signal === 'SIGKILL' ? 137 : 143, false);
  }

  async remove(id: string): Promise<void> {
    const c = this.find(id);
    if (!c) return;
    this.calls.push(`remove ${c.spec.name}`);
    if (c.state === 'running') this.exit(c, 137, false);
    this.containers.delete(c.id);
    this.emitFor(c, 'destroy');
  }

  async inspect(idOrName: string): Promise<ContainerInfo | undefined> {
    const c = this.find(idOrName);
    if (!c) return undefined;
    if (c.state === 'running') this.advance(c);
    return {
      id: c.id,
      name: c.spec.name,
      image: c.spec.image,
      labels: { ...c.spec.labels },
      state: c.state,
      health: c.health,
      exitCode: c.exitCode,
      oomKilled: c.oomKilled,
      restartCount: 0,
      memoryLimitBytes: c.spec.memoryBytes ?? 0,
      cpuLimitCores: (c.spec.nanoCpus ?? 0) / 1e9,
      networkMode: c.spec.networkMode,
      env: { ...c.spec.env },
    };
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const out: ContainerInfo[] = [];
    for (const c of [...this.containers.values()]) {
      if (!matches(c.spec.labels, labels)) continue;
      const info = await this.inspect(c.id);
      if (info) out.push(info);
    }
    return out;
  }

  async *logs(id: string, signal: AbortSignal): AsyncIterable<LogLine> {
    const c = this.mustFind(id);
    for (const line of this.logLines(c.spec.name)) {
      if (signal.aborted) return;
      yield line;
    }
    await abortOf(signal);
  }

  async logTail(id: string, n: number): Promise<string[]> {
    const c = this.mustFind(id);
    return this.logLines(c.spec.name)
      .slice(-n)
      .map((l) => l.line);
  }

  async *events(labels: Record<string, string>, signal: AbortSignal): AsyncIterable<ContainerEvent> {
    const queue: ContainerEvent[] = [];
    let wake: (() => void) | undefined;
    const sub: Subscriber = {
      labels,
      push: (e) => {
        queue.push(e);
        wake?.();
      },
    };
    this.subscribers.add(sub);
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.subscribers.delete(sub);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async *stats(_id: string, signal: AbortSignal): AsyncIterable<Record<string, unknown>> {
    // No samples: the stream just stays open until aborted.
    await abortOf(signal);
    yield* [];
  }

  private advance(c: FakeContainer): void {
    c.inspectsSinceStart += 1;
    const script = this.scripts.get(c.spec.name) ?? {};
    if (script.exitOnInspect !== undefined && c.inspectsSinceStart >= script.exitOnInspect) {
      this.exit(c, script.exitCode ?? 1, script.oomKilled ?? false);
      return;
    }
    if (!hasHealthcheck(c.spec)) return;
    const sequence = script.health ?? ['starting', 'healthy'];
    c.health = sequence[Math.min(c.inspectsSinceStart, sequence.length) - 1] ?? 'starting';
  }

  private exit(c: FakeContainer, exitCode: number, oom: boolean, oomEvents = 1): void {
    if (c.state !== 'running') return;
    for (let i = 0; oom && i < oomEvents; i++) this.emitFor(c, 'oom');
    c.state = 'exited';
    c.exitCode = exitCode;
    c.oomKilled = oom;
    this.emitFor(c, 'die', exitCode);
  }

  private emitFor(c: FakeContainer, action: string, exitCode?: number): void {
    this.emit({ action, id: c.id, name: c.spec.name, labels: { ...c.spec.labels }, ...(exitCode !== undefined && { exitCode }) });
  }

  private logLines(name: string): LogLine[] {
    return (this.scripts.get(name)?.logs ?? []).map((l) => (typeof l === 'string' ? { stream: 'stdout', line: l } : l));
  }

  private find(idOrName: string): FakeContainer | undefined {
    const name = idOrName.replace(/^\//, '');
    return this.containers.get(idOrName) ?? [...this.containers.values()].find((c) => c.spec.name === name);
  }

  private mustFind(id: string): FakeContainer {
    const c = this.find(id);
    if (!c) throw new Error(`No such container: ${id}`);
    return c;
  }

  private newId(): string {
    const id = (this.nextId++).toString(16).padStart(12, '0');
    return `fake${id}`;
  }

  private tick(): number {
    this.timeMs += 1;
    return this.timeMs;
  }
}

function hasHealthcheck(spec: ContainerSpec): boolean {
  return spec.healthcheck !== undefined && spec.healthcheck.test[0] !== 'NONE';
}

function matches(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => k in have && (v === '' || have[k] === v));
}

function abortOf(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
