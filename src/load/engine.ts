// Main-thread load engine: follows the timeline, spreads users over worker threads, merges their
// per-second encoded histograms and hands one merged sample per second to the caller.
import { cpus } from 'node:os';
import type { FlowConfig } from '../config/schema.ts';
import { assertTargetAllowed } from '../config/target.ts';
import { SecondAccumulator, WorkerPool, type EndpointSecond } from './engine-pool.ts';
import { RECOVERY_PHASE, type Timeline } from './shapes/types.ts';

export type { EndpointSecond } from './engine-pool.ts';

export interface SecondSample {
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

export type StopReason = 'completed' | 'break' | 'signal' | 'deadline';

export interface EngineEvent {
  kind: 'phase' | 'users' | 'break' | 'stop' | 'worker-error' | string;
  atMs: number;
  detail: Record<string, unknown>;
}

export interface LoadOptions {
  flow: FlowConfig;
  target: string;
  allowTargets: readonly string[];
  timeline: Timeline;
  thinkMinMs: number;
  thinkMaxMs: number;
  requestTimeoutMs: number;
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
}

export interface LoadResult {
  startedAtMs: number;
  endedAtMs: number;
  stoppedBy: StopReason;
  plannedDurationMs: number;
}

export const defaultWorkerCount = (): number => Math.max(1, cpus().length - 1);

/** How long the clock waits for the workers' flush replies before it writes the second without the late ones. */
const FLUSH_WAIT_MS = 500;
/** User adds within this window go to a worker as one batch (one cohort), not one message per user. */
const ADD_BATCH_MS = 100;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  assertTargetAllowed(o.target, o.allowTargets, 'load engine');
  const tl = o.timeline;
  const graceMs = o.graceMs ?? 10_000 + tl.durationMs * 0.1;
  const recoveryMs = tl.recovery?.durationMs ?? 0;
  const maxUsers = Math.max(1, ...tl.steps.map((s) => s.users));
  const nWorkers = Math.max(1, Math.min(o.workers ?? defaultWorkerCount(), tl.open ? Math.ceil(tl.open.rateRps / 50) : maxUsers));
  const emit = (kind: string, detail: Record<string, unknown> = {}): void => o.onEvent?.({ kind, atMs: Date.now(), detail });
  const acc = new SecondAccumulator(o.onRawLatencies);
  const pool = await WorkerPool.start(
    nWorkers,
    {
      flow: o.flow,
      target: o.target,
      allowTargets: [...o.allowTargets],
      requestTimeoutMs: o.requestTimeoutMs,
      thinkMinMs: o.thinkMinMs,
      thinkMaxMs: o.thinkMaxMs,
      // a break may jump to the recovery hold late in the plan: the workers' own deadline allows for it
      deadlineEpochMs: Date.now() + 30_000 + tl.durationMs + recoveryMs + graceMs,
      keepRaw: o.keepRawLatencies ?? false,
      open: tl.open && { rateRps: tl.open.rateRps / nWorkers, maxInFlight: Math.max(1, Math.ceil(tl.open.maxInFlight / nWorkers)) },
    },
    acc,
    emit,
  );
  const run = new EngineRun(o, pool, acc, emit, graceMs);
  try {
    return await run.execute();
  } finally {
    await pool.terminate();
  }
}

/** One run's clock, timeline and stop, on the main thread. */
class EngineRun {
  private readonly tl: Timeline;
  private readonly startedAtMs = Date.now();
  private phase = '';
  private stepIdx = 0;
  private stepTimer?: NodeJS.Timeout;
  private hardDeadline?: NodeJS.Timeout;
  private stopReason?: StopReason;
  private stopAtMs = 0;
  private wakeMain: () => void = () => {};
  private second = 0;
  private cpuPrev = process.cpuUsage();
  private wallPrev = performance.now();

  constructor(
    private readonly o: LoadOptions,
    private readonly pool: WorkerPool,
    private readonly acc: SecondAccumulator,
    private readonly emit: (kind: string, detail?: Record<string, unknown>) => void,
    private readonly graceMs: number,
  ) {
    this.tl = o.timeline;
  }

  private stop(why: StopReason): void {
    if (!this.stopReason) {
      this.stopReason = why;
      this.stopAtMs = Date.now();
      // the stop instant is now, not when the clock loop gets round to it: later completions are cancelled
      this.pool.raiseStopFlag();
    }
    this.wakeMain();
  }

  private setUsers(users: number): void {
    if (this.tl.open) return;
    const before = this.pool.activeUsers;
    this.pool.setUsers(users);
    if (this.pool.activeUsers !== before) this.emit('users', { from: before, to: this.pool.activeUsers, phase: this.phase });
  }

  private enterPhase(phase: string, atMs: number): void {
    if (phase === this.phase) return;
    this.emit('phase', { phase, from: this.phase || undefined, atMs });
    this.phase = phase;
  }

  /** Applies every due step; within one phase, the next batch waits at least ADD_BATCH_MS. */
  private readonly applySteps = (): void => {
    const tl = this.tl;
    const nowRel = Date.now() - this.startedAtMs;
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
    const dueMs = this.startedAtMs + next.atMs - Date.now();
    this.stepTimer = setTimeout(this.applySteps, next.phase === this.phase ? Math.max(dueMs, ADD_BATCH_MS) : Math.max(0, dueMs));
  };

  /** Stop-on-break: with a recovery hold planned (Timeline.recovery), jump to it instead of stopping. */
  private onBreak(reason: string): void {
    const rec = this.tl.recovery;
    this.emit('break', { reason, phase: this.phase, recovery: rec !== undefined });
    if (!rec) return this.stop('break');
    clearTimeout(this.stepTimer);
    this.stepIdx = this.tl.steps.length;
    this.enterPhase(RECOVERY_PHASE, Date.now() - this.startedAtMs);
    this.setUsers(rec.users);
    this.stepTimer = setTimeout(() => this.stop('break'), rec.durationMs);
    clearTimeout(this.hardDeadline);
    this.hardDeadline = setTimeout(() => this.stop('deadline'), rec.durationMs + this.graceMs);
  }

  private emitSecond(final: boolean): void {
    const cpu = process.cpuUsage(this.cpuPrev);
    const wall = performance.now();
    const cpuCores = (cpu.user + cpu.system) / 1000 / Math.max(1, wall - this.wallPrev);
    this.cpuPrev = process.cpuUsage();
    this.wallPrev = wall;
    // a whole second is stamped with its own tick, so elapsedS never skips; the final partial one with the stop
    const tMs = final ? this.stopAtMs : this.startedAtMs + this.second * 1000;
    let cancelled = 0;
    for (const e of this.acc.endpoints.values()) cancelled += e.cancelled ?? 0;
    const sample: SecondSample = {
      tMs,
      elapsedS: final ? Math.round((tMs - this.startedAtMs) / 100) / 10 : this.second,
      phase: this.phase,
      activeUsers: final ? 0 : this.pool.activeUsers,
      endpoints: this.acc.endpoints,
      failures: this.acc.failures,
      droppedLate: this.acc.droppedLate,
      cancelled,
      cpuCores: Math.round(cpuCores * 1000) / 1000,
      final,
    };
    this.o.onSecond(sample);
    // the recovery hold is observed to its end: a rule that still fires there is what recovery measures
    const why = !final && this.phase !== RECOVERY_PHASE && this.o.breakRule ? this.o.breakRule(sample) : undefined;
    this.acc.reset();
    if (why) this.onBreak(why);
  }

  /** One line per second on the main thread's own clock, whatever the workers' loops are doing. */
  private async clock(): Promise<void> {
    while (!this.stopReason) {
      const nextTickMs = this.startedAtMs + (this.second + 1) * 1000;
      await new Promise<void>((resolve) => {
        this.wakeMain = resolve;
        setTimeout(resolve, Math.max(0, nextTickMs - Date.now()));
      });
      if (this.stopReason) break;
      this.second++;
      // behind the clock (a blocked main thread): catch up without waiting for the workers
      const behind = Date.now() - nextTickMs > FLUSH_WAIT_MS;
      await this.pool.flush(this.second, behind ? 0 : FLUSH_WAIT_MS);
      this.emitSecond(false);
    }
  }

  async execute(): Promise<LoadResult> {
    const o = this.o;
    const onAbort = (): void => this.stop('signal');
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) this.stop('signal');
    this.hardDeadline = setTimeout(() => this.stop('deadline'), this.tl.durationMs + this.graceMs);
    this.applySteps();
    const stall = o.stallWorkers;
    const stallTimer = stall && setTimeout(() => this.pool.stall(stall.forMs), stall.atMs);
    await this.clock();
    clearTimeout(stallTimer);
    const stoppedBy = this.stopReason ?? 'completed';
    clearTimeout(this.stepTimer);
    this.emit('stop', { reason: stoppedBy, activeUsers: this.pool.activeUsers });
    // in-flight requests are cancelled, not awaited: the bound only covers the workers' replies
    await this.pool.stop(2_000);
    clearTimeout(this.hardDeadline);
    o.signal?.removeEventListener('abort', onAbort);
    this.emitSecond(true);
    if (this.pool.fatal) throw this.pool.fatal;
    return { startedAtMs: this.startedAtMs, endedAtMs: Date.now(), stoppedBy, plannedDurationMs: this.tl.durationMs };
  }
}
