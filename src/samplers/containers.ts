// Container sampler: one long-lived runtime.stats stream per container (the daemon samples at 1 Hz anyway),
// the latest mapped sample cached per service. sample() is synchronous and does no I/O.
import type { ContainerEvent, ContainerRuntime } from '../stack/runtime/port.ts';
import { mapDockerStats, type ContainerLimits } from './docker-stats-map.ts';
import { BusiestThreadReader, type BusiestThreadOptions } from './threads.ts';
import type { ContainerSample, OnSamplerEvent } from './types.ts';

export interface ContainerTarget {
  /** Compose service (stack mode) or container name (attach mode): the key in snapshots and the `service` attribute. */
  service: string;
  containerId: string;
}

export interface ContainerSamplerOptions {
  runtime: Pick<ContainerRuntime, 'stats' | 'inspect'>;
  targets: readonly ContainerTarget[];
  onEvent?: OnSamplerEvent;
  now?: () => number;
  /** Wait before reopening a stream that ended or failed (container restarting). */
  reopenDelayMs?: number;
  /** Where the busiest thread is read from (tests); null: not read. */
  threads?: BusiestThreadOptions | null;
}

interface Slot {
  target: ContainerTarget;
  limits: ContainerLimits;
  previousRaw?: Record<string, unknown>;
  latest?: ContainerSample;
  baselineRestartCount?: number;
  inspectRestarts: number;
  eventRestarts: number;
  oomKills: number;
  sawDie: boolean;
  threads?: BusiestThreadReader;
}

export class ContainerSampler {
  readonly name = 'containers';
  private readonly slots = new Map<string, Slot>();
  private readonly byId = new Map<string, Slot>();
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly now: () => number;

  constructor(private readonly options: ContainerSamplerOptions) {
    this.now = options.now ?? Date.now;
    for (const target of options.targets) {
      const slot: Slot = { target, limits: {}, inspectRestarts: 0, eventRestarts: 0, oomKills: 0, sawDie: false };
      this.slots.set(target.service, slot);
      this.byId.set(target.containerId, slot);
    }
  }

  start(): void {
    if (this.loops.length > 0) return;
    this.loops = [...this.slots.values()].map((slot) => this.follow(slot));
  }

  /** Latest sample per service (services without any sample yet are absent). */
  sample(): Record<string, ContainerSample> {
    const out: Record<string, ContainerSample> = {};
    const now = this.now();
    for (const [service, slot] of this.slots) {
      if (!slot.latest) continue;
      out[service] = {
        ...slot.latest,
        ageMs: Math.max(0, now - slot.latest.readMs),
        restarts: Math.max(slot.inspectRestarts, slot.eventRestarts),
        oomKills: slot.oomKills,
      };
    }
    return out;
  }

  /** Feed engine events (from runtime.events) so restarts and OOM kills are counted as they happen. */
  noteEvent(event: ContainerEvent): void {
    const slot = this.byId.get(event.id);
    if (!slot) return;
    if (event.action === 'oom') slot.oomKills += 1;
    else if (event.action === 'die') slot.sawDie = true;
    else if (event.action === 'restart' || (event.action === 'start' && slot.sawDie)) {
      // A policy restart is die+start; `docker restart` also emits restart. Count once per die.
      if (slot.sawDie || event.action === 'restart') slot.eventRestarts += 1;
      slot.sawDie = false;
    }
  }

  /** Overrides counts known elsewhere (e.g. the stack's own event watcher). */
  setLifecycleCounts(service: string, counts: { restarts?: number; oomKills?: number }): void {
    const slot = this.slots.get(service);
    if (!slot) return;
    if (counts.restarts !== undefined) slot.eventRestarts = counts.restarts;
    if (counts.oomKills !== undefined) slot.oomKills = counts.oomKills;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  private async follow(slot: Slot): Promise<void> {
    const { runtime } = this.options;
    const signal = this.abort.signal;
    const id = slot.target.containerId;
    while (!signal.aborted) {
      try {
        const info = await runtime.inspect(id);
        if (info) {
          slot.limits = { memoryLimitBytes: info.memoryLimitBytes, cpuLimitCores: info.cpuLimitCores };
          slot.baselineRestartCount ??= info.restartCount;
          slot.inspectRestarts = Math.max(slot.inspectRestarts, info.restartCount - slot.baselineRestartCount);
          // a restart starts a new first process: its threads are read afresh
          const threadsFrom = this.options.threads;
          slot.threads = info.pid && threadsFrom !== null ? new BusiestThreadReader(info.pid, id, threadsFrom) : undefined;
        }
        slot.previousRaw = undefined; // a new stream may follow a restart: never diff across it
        for await (const raw of runtime.stats(id, signal)) {
          const mapped = mapDockerStats(raw, {
            service: slot.target.service,
            containerId: id,
            limits: slot.limits,
            restarts: 0,
            oomKills: 0,
            previous: slot.previousRaw,
            nowMs: this.now(),
          });
          if (mapped) {
            if (slot.threads) {
              const busiest = await slot.threads.read();
              mapped.busiestThreadCores = busiest?.cores ?? null;
              mapped.busiestThreadRunnable = busiest?.runnableRatio ?? null;
            }
            slot.latest = mapped;
            slot.previousRaw = raw;
          }
        }
        if (!signal.aborted) this.emit('container_stats_stream_ended', slot, 'stats stream ended (container stopped or restarting)');
      } catch (err) {
        if (signal.aborted) break;
        this.emit('container_stats_stream_error', slot, `stats stream failed: ${(err as Error).message}`);
      }
      await sleep(this.options.reopenDelayMs ?? 1000, signal);
    }
  }

  private emit(kind: 'container_stats_stream_ended' | 'container_stats_stream_error', slot: Slot, message: string): void {
    this.options.onEvent?.({
      tMs: this.now(),
      kind,
      sampler: this.name,
      message: `${slot.target.service}: ${message}`,
      data: { service: slot.target.service, containerId: slot.target.containerId },
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref?.();
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
