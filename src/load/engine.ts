// Main-thread load engine: follows the timeline, spreads users over worker threads, merges their
// per-second encoded histograms and hands one merged sample per second to the caller. Every timing decision
// on this side goes through one Clock (common/clock.ts); the workers keep their own time.
import { cpus } from 'node:os';
import { realClock, type Clock, type Timer } from '../common/clock.ts';
import type { FlowConfig } from '../config/schema.ts';
import type { AllowedTarget } from '../config/target.ts';
import { SecondAccumulator, WorkerPool, type EndpointSecond, type LoadPool, type StartPool } from './engine-pool.ts';
import { RECOVERY_PHASE, type Timeline } from './shapes/types.ts';

export type { EndpointSecond } from './engine-pool.ts';

export interface SecondSample {
  /** epoch ms at which the load started (elapsedS 0), the same on every second */
  startMs: number;
  /** epoch ms at the end of this second */
  tMs: number;
  elapsedS: number;
  phase: string;
  activeUsers: number;
  endpoints: ReadonlyMap<string, EndpointSecond>;
  failures: Readonly<Record<string, number>>;
  droppedLate: number;
  /** requests in flight when the run stopped, all endpoints (final second only; see EndpointSecond.cancelled) */
  cancelled?: number;
  /** load generator's own CPU (whole process, all threads), in cores */
  cpuCores: number;
  final: boolean;
}

/** 'worker-lost': a fleet run (fleet/fleet-load.ts) ended because a worker process was lost */
export type StopReason = 'completed' | 'break' | 'signal' | 'deadline' | 'worker-lost';

export interface EngineEvent {
  kind: 'phase' | 'users' | 'break' | 'stop' | 'worker-error' | string;
  atMs: number;
  detail: Record<string, unknown>;
}

export interface LoadOptions {
  flow: FlowConfig;
  /** checked once, by the run plan (config/target.ts): the engine takes no unchecked target */
  target: AllowedTarget;
  timeline: Timeline;
  thinkMinMs: number;
  thinkMaxMs: number;
  requestTimeoutMs: number;
  /** seed of the users' random choices: a run passes its plan's (docs/CONFIG.md, seed); absent, 0 (tests, benches) */
  seed?: number;
  workers?: number;
  /** extra time after the planned end before everything is torn down */
  graceMs?: number;
  signal?: AbortSignal;
  keepRawLatencies?: boolean;
  onSecond: (s: SecondSample) => void;
  onEvent?: (e: EngineEvent) => void;
  onRawLatencies?: (endpoint: string, latenciesUs: number[]) => void;
  /** stopOnBreak hook: return a reason to stop the run after this second */
  breakRule?: (s: SecondSample) => string | undefined;
  /** test hook: at `atMs` after the start, every worker's loop is kept busy for `forMs` */
  stallWorkers?: { atMs: number; forMs: number };
  /** the coordinator's clock; default the real one */
  clock?: Clock;
  /** the workers; default real worker threads (tests pass a fake pool to drive the coordinator with fake time) */
  startPool?: StartPool;
  /** the process's CPU time in µs since an arbitrary origin; default process.cpuUsage() (user + system) */
  cpuUsageUs?: () => number;
  /** a fleet worker's start barrier (run/fleet-worker.ts): awaited once the load threads are up, before the timeline starts */
  startBarrier?: () => Promise<void>;
}

export interface LoadResult {
  startedAtMs: number;
  endedAtMs: number;
  stoppedBy: StopReason;
  plannedDurationMs: number;
}

export const defaultWorkerCount = (): number => Math.max(1, cpus().length - 1);

/** How long the clock waits for the workers' flush replies before it writes the second without the late ones. */
export const FLUSH_WAIT_MS = 500;
/** User adds within this window go to a worker as one batch (one cohort), not one message per user. */
export const ADD_BATCH_MS = 100;
/** Open-model rate one worker is given before another is added: a worker's timer loop stays well under a core. */
const OPEN_RPS_PER_WORKER = 50;
/** Grace after the planned end before the hard deadline: 10 s plus 10 % of the plan, for a slow stop or late flushes. */
const GRACE_BASE_MS = 10_000;
const GRACE_PLAN_FRACTION = 0.1;
/** The workers' own deadline lies this much beyond the engine's: the engine always stops first and reads their last counters. */
const WORKER_DEADLINE_SLACK_MS = 30_000;
/** Bound on the workers' stop replies; in-flight requests are cancelled, not awaited, so replies come at once. */
export const STOP_REPLY_BOUND_MS = 2_000;
const SECOND_MS = 1000;

const cpuUsageUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The plan's grace after its end (LoadOptions.graceMs, else GRACE_BASE_MS + GRACE_PLAN_FRACTION of the plan). */
export const graceFor = (tl: Timeline, graceMs?: number): number => graceMs ?? GRACE_BASE_MS + tl.durationMs * GRACE_PLAN_FRACTION;

function workerCount(tl: Timeline, requested: number | undefined): number {
  const maxUsers = Math.max(1, ...tl.steps.map((s) => s.users));
  const needed = tl.open ? Math.ceil(tl.open.rateRps / OPEN_RPS_PER_WORKER) : maxUsers;
  return Math.max(1, Math.min(requested ?? defaultWorkerCount(), needed));
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const clock = o.clock ?? realClock;
  const tl = o.timeline;
  const graceMs = graceFor(tl, o.graceMs);
  const nWorkers = workerCount(tl, o.workers);
  const emit = (kind: string, detail: Record<string, unknown> = {}): void => o.onEvent?.({ kind, atMs: clock.nowMs(), detail });
  const acc = new SecondAccumulator(o.onRawLatencies);
  const startPool: StartPool = o.startPool ?? ((n, init, a, e) => WorkerPool.start(n, init, a, e, clock));
  const pool = await startPool(
    nWorkers,
    {
      flow: o.flow,
      target: o.target.origin,
      requestTimeoutMs: o.requestTimeoutMs,
      thinkMinMs: o.thinkMinMs,
      thinkMaxMs: o.thinkMaxMs,
      // a break may jump to the recovery hold late in the plan: the workers' own deadline allows for it
      deadlineEpochMs: clock.nowMs() + WORKER_DEADLINE_SLACK_MS + tl.durationMs + (tl.recovery?.durationMs ?? 0) + graceMs,
      keepRaw: o.keepRawLatencies ?? false,
      seed: o.seed ?? 0,
      open: tl.open && { rateRps: tl.open.rateRps / nWorkers, maxInFlight: Math.max(1, Math.ceil(tl.open.maxInFlight / nWorkers)) },
    },
    acc,
    emit,
  );
  try {
    await o.startBarrier?.();
    const run = new EngineRun(o, { pool, acc, emit, graceMs, clock, cpuUsageUs: o.cpuUsageUs ?? cpuUsageUs });
    return await run.execute();
  } finally {
    await pool.terminate();
  }
}

interface RunDeps {
  pool: LoadPool;
  acc: SecondAccumulator;
  emit: (kind: string, detail?: Record<string, unknown>) => void;
  graceMs: number;
  clock: Clock;
  cpuUsageUs: () => number;
}

/** One run's clock, timeline and stop, on the main thread. */
class EngineRun {
  private readonly tl: Timeline;
  private readonly pool: LoadPool;
  private readonly clock: Clock;
  private readonly startedAtMs: number;
  private phase = '';
  private stepIdx = 0;
  private stepTimer?: Timer;
  private hardDeadline?: Timer;
  private stopReason?: StopReason;
  private stopAtMs = 0;
  private wakeMain: () => void = () => {};
  private second = 0;
  private cpuPrevUs: number;
  private wallPrevMs: number;

  constructor(
    private readonly o: LoadOptions,
    private readonly d: RunDeps,
  ) {
    this.tl = o.timeline;
    this.pool = d.pool;
    this.clock = d.clock;
    this.startedAtMs = d.clock.nowMs();
    this.cpuPrevUs = d.cpuUsageUs();
    this.wallPrevMs = d.clock.monotonicMs();
  }

  private stop(why: StopReason): void {
    if (!this.stopReason) {
      this.stopReason = why;
      this.stopAtMs = this.clock.nowMs();
      // the stop instant is now, not when the clock loop gets round to it: later completions are cancelled
      this.pool.raiseStopFlag();
    }
    this.wakeMain();
  }

  private setUsers(users: number): void {
    if (this.tl.open) return;
    const before = this.pool.activeUsers;
    this.pool.setUsers(users);
    if (this.pool.activeUsers !== before) this.d.emit('users', { from: before, to: this.pool.activeUsers, phase: this.phase });
  }

  private enterPhase(phase: string, atMs: number): void {
    if (phase === this.phase) return;
    this.d.emit('phase', { phase, from: this.phase || undefined, atMs });
    this.phase = phase;
  }

  /** Applies every due step; within one phase, the next batch waits at least ADD_BATCH_MS. */
  private readonly applySteps = (): void => {
    const tl = this.tl;
    const nowRel = this.clock.nowMs() - this.startedAtMs;
    let users: number | undefined;
    while (this.stepIdx < tl.steps.length && (tl.steps[this.stepIdx]?.atMs ?? 0) <= nowRel) {
      const st = tl.steps[this.stepIdx++]!;
      if (st.phase === 'end' && this.stepIdx === tl.steps.length) {
        if (users !== undefined) this.setUsers(users);
        return this.stop('completed');
      }
      if (st.phase !== this.phase && users !== undefined) this.setUsers(users);
      this.enterPhase(st.phase, st.atMs);
      users = st.users;
    }
    if (users !== undefined) this.setUsers(users);
    const next = tl.steps[this.stepIdx];
    if (!next) return;
    const dueMs = this.startedAtMs + next.atMs - this.clock.nowMs();
    this.stepTimer = this.clock.setTimer(next.phase === this.phase ? Math.max(dueMs, ADD_BATCH_MS) : dueMs, this.applySteps);
  };

  /** Stop-on-break: with a recovery hold planned (Timeline.recovery), jump to it instead of stopping. */
  private onBreak(reason: string): void {
    const rec = this.tl.recovery;
    this.d.emit('break', { reason, phase: this.phase, recovery: rec !== undefined });
    if (!rec) return this.stop('break');
    this.stepTimer?.cancel();
    this.stepIdx = this.tl.steps.length;
    this.enterPhase(RECOVERY_PHASE, this.clock.nowMs() - this.startedAtMs);
    this.setUsers(rec.users);
    this.stepTimer = this.clock.setTimer(rec.durationMs, () => this.stop('break'));
    this.hardDeadline?.cancel();
    this.hardDeadline = this.clock.setTimer(rec.durationMs + this.d.graceMs, () => this.stop('deadline'));
  }

  /** The generator's own CPU since the last second, in cores. */
  private cpuCores(): number {
    const cpuUs = this.d.cpuUsageUs();
    const wallMs = this.clock.monotonicMs();
    const cores = (cpuUs - this.cpuPrevUs) / 1000 / Math.max(1, wallMs - this.wallPrevMs);
    this.cpuPrevUs = cpuUs;
    this.wallPrevMs = wallMs;
    return Math.round(cores * 1000) / 1000;
  }

  private emitSecond(final: boolean): void {
    const acc = this.d.acc;
    // a whole second is stamped with its own tick, so elapsedS never skips; the final partial one with the stop
    const tMs = final ? this.stopAtMs : this.startedAtMs + this.second * SECOND_MS;
    let cancelled = 0;
    for (const e of acc.endpoints.values()) cancelled += e.cancelled ?? 0;
    const sample: SecondSample = {
      startMs: this.startedAtMs,
      tMs,
      elapsedS: final ? Math.round((tMs - this.startedAtMs) / 100) / 10 : this.second,
      phase: this.phase,
      activeUsers: final ? 0 : this.pool.activeUsers,
      endpoints: acc.endpoints,
      failures: acc.failures,
      droppedLate: acc.droppedLate,
      cancelled,
      cpuCores: this.cpuCores(),
      final,
    };
    this.o.onSecond(sample);
    // the recovery hold is observed to its end: a rule that still fires there is what recovery measures
    const why = !final && this.phase !== RECOVERY_PHASE && this.o.breakRule ? this.o.breakRule(sample) : undefined;
    acc.reset();
    if (why) this.onBreak(why);
  }

  /** One line per second on the main thread's own clock, whatever the workers' loops are doing. */
  private async tick(): Promise<void> {
    while (!this.stopReason) {
      const nextTickMs = this.startedAtMs + (this.second + 1) * SECOND_MS;
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimer(nextTickMs - this.clock.nowMs(), resolve);
        this.wakeMain = () => {
          timer.cancel();
          resolve();
        };
      });
      if (this.stopReason) break;
      this.second++;
      // behind the clock (a blocked main thread): catch up without waiting for the workers
      const behind = this.clock.nowMs() - nextTickMs > FLUSH_WAIT_MS;
      await this.pool.flush(this.second, behind ? 0 : FLUSH_WAIT_MS);
      this.emitSecond(false);
    }
  }

  async execute(): Promise<LoadResult> {
    const o = this.o;
    const onAbort = (): void => this.stop('signal');
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) this.stop('signal');
    this.hardDeadline = this.clock.setTimer(this.tl.durationMs + this.d.graceMs, () => this.stop('deadline'));
    this.pool.begin();
    this.applySteps();
    const stall = o.stallWorkers;
    const stallTimer = stall && this.clock.setTimer(stall.atMs, () => this.pool.stall(stall.forMs));
    await this.tick();
    stallTimer?.cancel();
    const stoppedBy = this.stopReason ?? 'completed';
    this.stepTimer?.cancel();
    this.d.emit('stop', { reason: stoppedBy, activeUsers: this.pool.activeUsers });
    await this.pool.stop(STOP_REPLY_BOUND_MS);
    this.hardDeadline?.cancel();
    o.signal?.removeEventListener('abort', onAbort);
    this.emitSecond(true);
    if (this.pool.fatal) throw this.pool.fatal;
    return { startedAtMs: this.startedAtMs, endedAtMs: this.clock.nowMs(), stoppedBy, plannedDurationMs: this.tl.durationMs };
  }
}
