// Stack lifecycle: start a Compose project in dependency order through the runtime port, watch it, tear it down.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LoadscopeError, StackStartError } from '../common/errors.ts';
import { startOrder } from './compose/order.ts';
import { defaultContainerName } from './compose/parse.ts';
import type { ComposeProject, ComposeService } from './compose/types.ts';
import { LABEL_MANAGED, LABEL_RUN, LABEL_SERVICE, managedLabels, runSuffix } from './labels.ts';
import { reapOrphans } from './reaper.ts';
import type { ContainerEvent, ContainerInfo, ContainerRuntime, ContainerSpec } from './runtime/port.ts';
import { realClock, type Clock } from '../common/clock.ts';
import { waitForContainer, WaitError, type WaitCondition } from './wait.ts';

export type StackEventKind =
  | 'service-started'
  | 'service-healthy'
  | 'container-died'
  | 'container-oom'
  | 'container-restarted'
  | 'teardown-started'
  | 'teardown-done';

export interface StackEvent {
  kind: StackEventKind;
  /** Service name; "*" for teardown-started/teardown-done. */
  service: string;
  timeMs: number;
  exitCode?: number;
  oomKilled?: boolean;
  message?: string;
}

export interface StackOptions {
  runtime: ContainerRuntime;
  project: ComposeProject;
  runId: string;
  /** Container logs go to <runDir>/logs/<service>.log; no files without it. */
  runDir?: string;
  /** Deadline for each service to become ready (healthy, or running without a healthcheck), e.g. 120_000. */
  healthTimeoutMs: number;
  /** `loadscope up`: the containers outlive this process and are never reaped as orphans. */
  detached?: boolean;
  onEvent?: (e: StackEvent) => void;
  /** Problems that must not fail the run: teardown steps, lost event or log streams. */
  onWarning?: (message: string) => void;
  clock?: Clock;
  pollIntervalMs?: number;
  stopTimeoutS?: number;
}

export interface StartedService {
  name: string;
  containerId: string;
  containerName: string;
  memoryLimitBytes: number;
  cpuLimitCores: number;
}

export interface StartedStack extends AsyncDisposable {
  runId: string;
  services: StartedService[];
  events: StackEvent[];
  /** Stops and removes every container in reverse start order; idempotent (one cached promise). */
  down(): Promise<void>;
  /** Stops following logs and events but leaves the containers running (`loadscope up`). */
  detach(): Promise<void>;
}

const LOG_TAIL_LINES = 30;
const DEFAULT_STOP_TIMEOUT_S = 5;

export async function startStack(options: StackOptions): Promise<StartedStack> {
  const stack = new Stack(options);
  await stack.start();
  return stack;
}

/** A start failure pinned to the service it belongs to. */
class ServiceFailure extends Error {
  constructor(
    readonly service: string,
    readonly reason: string,
    readonly containerId?: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

interface Created {
  service: ComposeService;
  id: string;
  containerName: string;
}

class Stack implements StartedStack {
  readonly runId: string;
  readonly services: StartedService[] = [];
  readonly events: StackEvent[] = [];
  private readonly runtime: ContainerRuntime;
  private readonly clock: Clock;
  private readonly created: Created[] = [];
  private readonly followAbort = new AbortController();
  private readonly followers: Promise<void>[] = [];
  private readonly oomSeen = new Set<string>();
  /** Targets of service_completed_successfully: expected to exit 0, so not waited on as long-running. */
  private readonly jobs: Set<string>;
  private tearingDown = false;
  private downPromise: Promise<void> | undefined;

  constructor(private readonly opts: StackOptions) {
    this.runId = opts.runId;
    this.runtime = opts.runtime;
    this.clock = opts.clock ?? realClock;
    this.jobs = new Set(
      opts.project.services.flatMap((s) => s.dependsOn.filter((d) => d.condition === 'service_completed_successfully').map((d) => d.service)),
    );
  }

  async start(): Promise<void> {
    const order = startOrder(this.opts.project);
    await this.checkImages(order);
    for (const name of await reapOrphans(this.runtime)) this.warn(`removed orphan container ${name} of a crashed run`);
    await this.removeLeftovers(order);
    if (this.opts.runDir !== undefined) {
      const logDir = path.join(this.opts.runDir, 'logs');
      await mkdir(logDir, { recursive: true }).catch((e: unknown) => {
        throw new LoadscopeError('RUN_DIR_UNWRITABLE', `cannot create ${logDir}: ${errorMessage(e)}`, { cause: e });
      });
    }
    this.followEvents();
    let current = order[0]?.name ?? '*';
    try {
      for (const service of order) {
        current = service.name;
        await this.startService(service);
      }
      for (const c of this.created) {
        const info = await this.runtime.inspect(c.id);
        this.services.push({
          name: c.service.name,
          containerId: c.id,
          containerName: c.containerName,
          memoryLimitBytes: info?.memoryLimitBytes ?? 0,
          cpuLimitCores: info?.cpuLimitCores ?? 0,
        });
      }
    } catch (e) {
      const failure = e instanceof ServiceFailure ? e : new ServiceFailure(current, errorMessage(e), undefined, { cause: e });
      const id = failure.containerId ?? this.created.find((c) => c.service.name === failure.service)?.id;
      const tail = id === undefined ? [] : await this.runtime.logTail(id, LOG_TAIL_LINES).catch(() => []);
      // Teardown problems go to onWarning and the teardown-done event; the start failure is what the user needs.
      await this.down().catch(() => {});
      throw new StackStartError(failure.service, failure.reason, tail, { cause: failure.cause ?? failure });
    }
  }

  down(): Promise<void> {
    this.downPromise ??= this.teardown();
    return this.downPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }

  async detach(): Promise<void> {
    this.tearingDown = true;
    this.followAbort.abort();
    await Promise.allSettled(this.followers);
  }

  private async checkImages(order: ComposeService[]): Promise<void> {
    for (const s of order) {
      if ((await this.runtime.imageInfo(s.image)) === undefined) {
        throw new StackStartError(s.name, `image ${s.image} not found — run npm run bootstrap`);
      }
    }
  }

  /** Same-named containers we labelled are orphans of a crashed run; anything else is the user's and stays. */
  private async removeLeftovers(order: ComposeService[]): Promise<void> {
    for (const s of order) {
      const name = this.containerName(s);
      const existing = await this.runtime.inspect(name);
      if (existing === undefined) continue;
      if (existing.labels[LABEL_MANAGED] !== 'true') {
        throw new StackStartError(
          s.name,
          `a container named ${name} already exists and was not created by loadscope; remove it (docker rm -f ${name}) or set container_name`,
        );
      }
      await this.runtime.remove(existing.id);
    }
  }

  private async startService(service: ComposeService): Promise<void> {
    for (const dep of service.dependsOn) {
      const target = this.created.find((c) => c.service.name === dep.service);
      const condition: WaitCondition | undefined =
        dep.condition === 'service_healthy' ? 'healthy' : dep.condition === 'service_completed_successfully' ? 'completed' : undefined;
      if (target && condition) await this.waitFor(target, condition);
    }
    const spec = this.toSpec(service);
    let id: string;
    try {
      id = await this.runtime.create(spec);
    } catch (e) {
      throw new ServiceFailure(service.name, `could not create container ${spec.name}: ${errorMessage(e)}`, undefined, { cause: e });
    }
    const created: Created = { service, id, containerName: spec.name };
    this.created.push(created);
    try {
      await this.runtime.start(id);
    } catch (e) {
      throw new ServiceFailure(service.name, `could not start container ${spec.name}: ${errorMessage(e)}`, id, { cause: e });
    }
    this.emit({ kind: 'service-started', service: service.name, timeMs: this.clock.nowMs() });
    this.followLogs(service.name, id);
    if (this.jobs.has(service.name)) return;
    const info = await this.waitFor(created, 'ready');
    if (info.health === 'healthy') this.emit({ kind: 'service-healthy', service: service.name, timeMs: this.clock.nowMs() });
  }

  private async waitFor(c: Created, condition: WaitCondition): Promise<ContainerInfo> {
    try {
      return await waitForContainer(this.runtime, c.id, condition, {
        timeoutMs: this.opts.healthTimeoutMs,
        clock: this.clock,
        ...(this.opts.pollIntervalMs !== undefined && { pollIntervalMs: this.opts.pollIntervalMs }),
        ...(c.service.healthcheck !== undefined && { retries: c.service.healthcheck.retries }),
      });
    } catch (e) {
      const reason = e instanceof WaitError ? e.message : `could not inspect container: ${errorMessage(e)}`;
      throw new ServiceFailure(c.service.name, reason, c.id, { cause: e });
    }
  }

  private containerName(s: ComposeService): string {
    return s.containerName ?? `${defaultContainerName(this.opts.project.name, s.name)}-${runSuffix(this.runId)}`;
  }

  private toSpec(s: ComposeService): ContainerSpec {
    return {
      name: this.containerName(s),
      image: s.image,
      ...(s.entrypoint !== undefined && { entrypoint: s.entrypoint }),
      ...(s.command !== undefined && { cmd: s.command }),
      env: { ...s.environment },
      // Ours last so a compose label cannot hide a container from `loadscope down`.
      labels: { ...s.labels, ...managedLabels(this.runId, s.name, this.opts.project.name, this.opts.detached) },
      networkMode: 'host',
      ...(s.healthcheck !== undefined && { healthcheck: s.healthcheck }),
      ...(s.memoryBytes !== undefined && { memoryBytes: s.memoryBytes }),
      ...(s.nanoCpus !== undefined && { nanoCpus: s.nanoCpus }),
      binds: [...s.binds],
    };
  }

  private followEvents(): void {
    const follow = async (): Promise<void> => {
      for await (const e of this.runtime.events({ [LABEL_RUN]: this.runId }, this.followAbort.signal)) await this.onEngineEvent(e);
    };
    this.followers.push(follow().catch((e: unknown) => this.warnUnlessStopped(`container event stream failed: ${errorMessage(e)}`)));
  }

  private async onEngineEvent(e: ContainerEvent): Promise<void> {
    // Deaths we cause by tearing down are not failures.
    if (this.tearingDown) return;
    const service = e.labels[LABEL_SERVICE] ?? this.created.find((c) => c.id === e.id)?.service.name ?? e.name;
    if (e.action === 'oom') {
      // One kill, one event. The engine relays the kernel's OOM notifications, which count OOM occurrences, not kills
      // (cgroup v1's memory.oom_control fires again each time an allocation fails while the victim is still exiting):
      // one kill gave 1 event alone and 10 on a busy host (crash.int). Counted once per container life.
      if (this.oomSeen.has(e.id)) return;
      this.oomSeen.add(e.id);
      this.emit({ kind: 'container-oom', service, timeMs: e.timeMs, message: 'out of memory' });
    } else if (e.action === 'die') {
      if (this.jobs.has(service) && e.exitCode === 0) return;
      const oomKilled = this.oomSeen.has(e.id) || ((await this.runtime.inspect(e.id).catch(() => undefined))?.oomKilled ?? false);
      // a restarted container keeps its id and can be killed again
      this.oomSeen.delete(e.id);
      const code = e.exitCode === undefined ? '' : ` with code ${e.exitCode}`;
      this.emit({
        kind: 'container-died',
        service,
        timeMs: e.timeMs,
        ...(e.exitCode !== undefined && { exitCode: e.exitCode }),
        oomKilled,
        message: `exited${code}${oomKilled ? ' (OOM-killed)' : ''}`,
      });
    } else if (e.action === 'restart') {
      this.emit({ kind: 'container-restarted', service, timeMs: e.timeMs });
    }
  }

  private followLogs(service: string, id: string): void {
    if (this.opts.runDir === undefined) return;
    const out = createWriteStream(path.join(this.opts.runDir, 'logs', `${service}.log`), { flags: 'a' });
    out.on('error', (e) => this.warn(`cannot write log of ${service}: ${e.message}`));
    const follow = async (): Promise<void> => {
      for await (const l of this.runtime.logs(id, this.followAbort.signal)) out.write(l.stream === 'stderr' ? `[stderr] ${l.line}\n` : `${l.line}\n`);
    };
    this.followers.push(
      follow()
        .catch((e: unknown) => this.warnUnlessStopped(`log stream of ${service} failed: ${errorMessage(e)}`))
        .finally(() => new Promise<void>((resolve) => out.end(() => resolve()))),
    );
  }

  private async teardown(): Promise<void> {
    this.tearingDown = true;
    this.emit({ kind: 'teardown-started', service: '*', timeMs: this.clock.nowMs() });
    const failures: ServiceFailure[] = [];
    for (const c of [...this.created].reverse()) {
      try {
        const info = await this.runtime.inspect(c.id);
        if (info && (info.state === 'running' || info.state === 'paused' || info.state === 'restarting')) {
          await this.runtime.stop(c.id, this.opts.stopTimeoutS ?? DEFAULT_STOP_TIMEOUT_S);
        }
      } catch (e) {
        // Removal is forced, so a failed stop only costs the graceful shutdown.
        this.warn(`service ${c.service.name}: stop failed, removing anyway: ${errorMessage(e)}`);
      }
      try {
        await this.runtime.remove(c.id);
      } catch (e) {
        failures.push(new ServiceFailure(c.service.name, `could not remove container ${c.containerName}: ${errorMessage(e)}`, c.id, { cause: e }));
      }
    }
    this.followAbort.abort();
    await Promise.allSettled(this.followers);
    for (const f of failures) this.warn(`service ${f.service}: ${f.reason}`);
    const message = failures.length === 0 ? undefined : failures.map((f) => `${f.service}: ${f.reason}`).join('; ');
    this.emit({ kind: 'teardown-done', service: '*', timeMs: this.clock.nowMs(), ...(message !== undefined && { message }) });
    const [first] = failures;
    if (first) {
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
      throw new LoadscopeError('STACK_TEARDOWN_FAILED', `service ${first.service}: ${first.reason}${more}`, { cause: first.cause });
    }
  }

  private emit(e: StackEvent): void {
    this.events.push(e);
    try {
      this.opts.onEvent?.(e);
    } catch (err) {
      this.warn(`onEvent callback threw: ${errorMessage(err)}`);
    }
  }

  private warn(message: string): void {
    this.opts.onWarning?.(message);
  }

  private warnUnlessStopped(message: string): void {
    if (!this.followAbort.signal.aborted) this.warn(message);
  }
}

/**
 * Removes every loadscope-managed container carrying `labels` (e.g. { 'loadscope.run': id }); used by
 * `loadscope down` for orphans of crashed runs. Returns the names removed; throws after trying all if any failed.
 */
export async function downByLabel(runtime: ContainerRuntime, labels: Record<string, string> = {}, stopTimeoutS = DEFAULT_STOP_TIMEOUT_S): Promise<string[]> {
  const removed: string[] = [];
  const errors: string[] = [];
  for (const c of await runtime.list({ ...labels, [LABEL_MANAGED]: 'true' })) {
    const name = c.name.replace(/^\//, '');
    try {
      if (c.state === 'running' || c.state === 'paused' || c.state === 'restarting') await runtime.stop(c.id, stopTimeoutS).catch(() => {});
      await runtime.remove(c.id);
      removed.push(name);
    } catch (e) {
      errors.push(`${name}: ${errorMessage(e)}`);
    }
  }
  if (errors.length > 0) {
    throw new LoadscopeError('STACK_TEARDOWN_FAILED', `could not remove ${errors.join('; ')} (removed: ${removed.join(', ') || 'none'})`);
  }
  return removed;
}

export interface SignalTarget {
  pid: number;
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  kill(pid: number, signal: NodeJS.Signals): unknown;
}

/**
 * On the first SIGINT/SIGTERM runs down() once. With `onSignal` the caller decides how to exit (e.g. code 130);
 * without it the signal is re-raised after teardown. A second signal re-raises at once. Returns an uninstall function.
 */
export function installSignalTeardown(
  stack: Pick<StartedStack, 'down'>,
  options: { onSignal?: (signal: NodeJS.Signals, teardown: Promise<void>) => void; target?: SignalTarget } = {},
): () => void {
  const target: SignalTarget = options.target ?? process;
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  let fired = false;
  const uninstall = (): void => {
    for (const s of signals) target.off(s, handler);
  };
  const reraise = (signal: NodeJS.Signals): void => {
    uninstall();
    target.kill(target.pid, signal);
  };
  function handler(signal: NodeJS.Signals): void {
    if (fired) return reraise(signal);
    fired = true;
    const teardown = stack.down();
    if (options.onSignal) options.onSignal(signal, teardown);
    else void teardown.catch(() => {}).finally(() => reraise(signal));
  }
  for (const s of signals) target.on(s, handler);
  return uninstall;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
