// One sampling loop for everything. Ticks are aligned to start + k·interval; a tick that is still running
// when the next one is due makes that next one skipped and counted (never stacked). Sampler errors become
// events and the loop goes on. Nothing is retained per tick: the snapshot is handed to onSample and dropped.
import { backgroundClock, type Clock, type Timer } from '../common/clock.ts';
import { DEFAULT_SAMPLE_INTERVAL_MS } from '../config/defaults.ts';
import { HostSampler } from './host.ts';
import type { ContainerSample, GeneratorSample, HostSample, OnSamplerEvent, PostgresSample, SampleSnapshot, SamplerTiming } from './types.ts';

export interface SchedulerOptions {
  intervalMs?: number;
  containers?: { sample(): Record<string, ContainerSample> };
  postgres?: { sample(): Promise<PostgresSample | null> } | null;
  host?: { sample(): { host: HostSample; generator: GeneratorSample } };
  onSample: (snapshot: SampleSnapshot) => void;
  onEvent?: OnSamplerEvent;
  /** default: the background clock (its timers never keep the process alive) */
  clock?: Clock;
}

const EMPTY_HOST: HostSample = { cpuUtilization: null, cpuCount: null, memoryUsedBytes: null, memoryTotalBytes: null, refreshDurationMs: null };

export class SamplingScheduler {
  readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly host: NonNullable<SchedulerOptions['host']>;
  private timer: Timer | undefined;
  private nextDueMs = 0;
  private running?: Promise<void>;
  private skipped = 0;
  private skipStreak = 0;
  private started = false;

  constructor(private readonly options: SchedulerOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
    this.clock = options.clock ?? backgroundClock;
    this.host = options.host ?? new HostSampler();
  }

  get skippedTicks(): number {
    return this.skipped;
  }

  /** First tick after one interval (so CPU deltas have a baseline). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.nextDueMs = this.clock.nowMs() + this.intervalMs;
    this.arm();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  private arm(): void {
    if (!this.started) return;
    this.timer = this.clock.setTimer(this.nextDueMs - this.clock.nowMs(), () => this.onDue());
  }

  private onDue(): void {
    if (!this.started) return;
    const dueMs = this.nextDueMs;
    const now = this.clock.nowMs();
    this.nextDueMs += this.intervalMs;
    // If the event loop was blocked past several due times, those ticks are skipped too.
    while (this.nextDueMs <= now) {
      this.nextDueMs += this.intervalMs;
      this.countSkip(dueMs, 'event loop blocked past the next due time');
    }
    if (this.running) {
      this.countSkip(dueMs, 'previous tick still running');
    } else {
      this.skipStreak = 0;
      const tick = this.tick(dueMs, now - dueMs);
      this.running = tick;
      void tick.finally(() => {
        if (this.running === tick) this.running = undefined;
      });
    }
    this.arm();
  }

  private countSkip(dueMs: number, why: string): void {
    this.skipped += 1;
    this.skipStreak += 1;
    // One event per streak: a stuck sampler must not flood the event log.
    if (this.skipStreak === 1) this.emit('tick_skipped', 'scheduler', `tick due at ${Math.round(dueMs)} skipped: ${why}`, { skippedTicks: this.skipped });
  }

  private async tick(dueMs: number, lagMs: number): Promise<void> {
    const timings: Record<string, SamplerTiming> = {};
    const tMs = Math.round(dueMs);
    const containers = this.timed('containers', timings, () => this.options.containers?.sample() ?? {}) ?? {};
    const hostPart = this.timed('host', timings, () => this.host.sample()) ?? {
      host: EMPTY_HOST,
      generator: { cpuCores: null, memoryRssBytes: process.memoryUsage.rss() },
    };
    let postgres: PostgresSample | null = null;
    if (this.options.postgres) {
      const started = this.clock.nowMs();
      try {
        postgres = await this.options.postgres.sample();
        timings.postgres = { durationMs: this.clock.nowMs() - started, ok: true };
      } catch (err) {
        timings.postgres = { durationMs: this.clock.nowMs() - started, ok: false };
        this.emit('sampler_error', 'postgres', `postgres sampler failed: ${(err as Error).message}`);
      }
    }
    const snapshot: SampleSnapshot = {
      tMs,
      containers,
      postgres,
      host: hostPart.host,
      generator: hostPart.generator,
      sampler: { lagMs, skippedTicks: this.skipped, timings },
    };
    try {
      this.options.onSample(snapshot);
    } catch (err) {
      this.emit('sampler_error', 'onSample', `onSample callback failed: ${(err as Error).message}`);
    }
  }

  private timed<T>(name: string, timings: Record<string, SamplerTiming>, fn: () => T): T | undefined {
    const started = this.clock.nowMs();
    try {
      const value = fn();
      timings[name] = { durationMs: this.clock.nowMs() - started, ok: true };
      return value;
    } catch (err) {
      timings[name] = { durationMs: this.clock.nowMs() - started, ok: false };
      this.emit('sampler_error', name, `${name} sampler failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  private emit(kind: 'sampler_error' | 'tick_skipped', sampler: string, message: string, data?: Record<string, unknown>): void {
    try {
      this.options.onEvent?.({ tMs: Math.round(this.clock.nowMs()), kind, sampler, message, data });
    } catch {
      // an event sink that throws must not stop sampling
    }
  }
}
