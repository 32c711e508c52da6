// A run's load on N worker processes (#15, docs/DISTRIBUTED.md): the same options and result as runLoad, so the
// run record, live judge and report take a fleet run as they take a one-process run. The engine starts the
// workers; the coordinator hands out their shares, fixes the start barrier once all have asked, merges their
// seconds (merge.ts), judges the stop-on-break rule on the merged second and notices a lost worker.
import { realClock, type Timer } from '../../common/clock.ts';
import { LoadscopeError } from '../../common/errors.ts';
import { deriveSeed } from '../../common/random.ts';
import { graceFor, type LoadOptions, type LoadResult, type StopReason } from '../engine.ts';
import { RECOVERY_PHASE, type Timeline } from '../shapes/types.ts';
import { newRunToken, startCoordinator, type Coordinator } from './coordinator.ts';
import { FleetMerger, type MergedSecond } from './merge.ts';
import type { Fleet, WorkerEngine } from './port.ts';
import { shareTimeline, type Assignment, type SecondReply, type Start, type WorkerSecond } from './protocol.ts';

export interface FleetOptions {
  runId: string;
  engine: WorkerEngine;
  count: number;
  /** the config's allowTargets: each worker checks the target again in its own process */
  allowTargets: readonly string[];
  /** where the coordinator listens; default loopback */
  bindHost?: string;
  /** its port; default a free one (workers started by someone else need a fixed one) */
  port?: number;
  /** the per-run token; default a fresh one (workers started by someone else were given theirs) */
  token?: string;
  /** how long the workers may take to start and ask for their assignment; default the engine's, else START_TIMEOUT_MS */
  startTimeoutMs?: number;
  /** each merged second, just before LoadOptions.onSecond: the workers' own figures */
  onMerged?: (m: MergedSecond) => void;
}

export interface FleetMember {
  index: number;
  name: string;
  engine: string;
  host?: string;
  hostCores?: number;
  startedAtMs?: number;
}

/** What the manifest records of the fleet. */
export interface FleetReport {
  engine: string;
  count: number;
  members: FleetMember[];
  barrierEpochMs?: number;
  /** latest minus earliest worker start; and the latest start after the barrier */
  barrierSkewMs?: number;
  lateStartMs?: number;
  lost: { index: number; name: string; reason: string }[];
}

/** Time between the last worker being ready and the shared start: enough for every worker to get its answer. */
const BARRIER_LEAD_MS = 500;
/** Workers are node processes loading TypeScript: on a busy 2-core host a cold start took up to ~5 s. */
const START_TIMEOUT_MS = 60_000;
/** From the first worker ready to all ready. Below the engine's own slack for its threads' deadline (engine.ts
 * WORKER_DEADLINE_SLACK_MS, 30 s, counted from when a worker's threads are up): a wait at the barrier never eats
 * into the plan. */
const READY_TIMEOUT_MS = 20_000;
/** A whole second is written once every live worker sent it, or this long after its end: the worker's own flush
 * wait (engine.ts FLUSH_WAIT_MS, 500 ms) plus its POST, with room for a busy host. */
export const MERGE_WAIT_MS = 1500;
/** A worker that sent nothing for this long is lost (a live one sends every second). */
export const SILENT_MS = 10_000;
/** Beyond the plan and its grace: workers stop by themselves at their deadline, the coordinator waits this much more. */
const DEADLINE_SLACK_MS = 5_000;
const TICK_MS = 200;

/** From the start barrier to a worker's deadline: its plan, the recovery hold, the engine's grace. The Kubernetes
 * Job's deadline of `k8s manifest` is counted from it too. */
export function workerRunMs(tl: Timeline, graceMs?: number): number {
  return tl.durationMs + (tl.recovery?.durationMs ?? 0) + graceFor(tl, graceMs);
}

export async function runFleetLoad(o: LoadOptions, f: FleetOptions): Promise<LoadResult & { fleet: FleetReport }> {
  const run = new FleetRun(o, f);
  const coordinator = await startCoordinator({ token: run.token, count: f.count, host: f.bindHost, port: f.port, handlers: run });
  try {
    return await run.execute(coordinator);
  } finally {
    await coordinator.close();
  }
}

class FleetRun {
  readonly token: string;
  private readonly clock;
  private readonly planMs: number;
  private readonly asked = new Set<number>();
  private readonly ready = new Set<number>();
  private readyTimer?: Timer;
  private barrier?: { atMs: number; deadlineMs: number };
  private releaseBarrier: () => void = () => {};
  private readonly barrierFixed = new Promise<void>((r) => (this.releaseBarrier = r));
  private merger?: FleetMerger;
  private fleet?: Fleet;
  private readonly members = new Map<number, FleetMember>();
  private readonly lastHeardMs = new Map<number, number>();
  private readonly finished = new Map<number, string>();
  private readonly lost: FleetReport['lost'] = [];
  private stopAll?: 'signal' | 'worker-lost';
  private breakReason?: string;
  private ended: () => void = () => {};
  private readonly allEnded = new Promise<void>((r) => (this.ended = r));

  constructor(
    private readonly o: LoadOptions,
    private readonly f: FleetOptions,
  ) {
    this.clock = o.clock ?? realClock;
    this.token = f.token ?? newRunToken();
    const tl = o.timeline;
    this.planMs = workerRunMs(tl, o.graceMs);
  }

  private emit(kind: string, detail: Record<string, unknown>, atMs = this.clock.nowMs()): void {
    this.o.onEvent?.({ kind, atMs, detail });
  }

  /** Every worker is ready (or one was lost before the start): one start instant for all. */
  private fixBarrier(): void {
    if (this.barrier) return;
    const atMs = this.clock.nowMs() + BARRIER_LEAD_MS;
    this.barrier = { atMs, deadlineMs: atMs + this.planMs };
    this.merger = new FleetMerger(this.f.count, atMs);
    this.emit('fleet-barrier', { atMs, ready: this.ready.size });
    this.releaseBarrier();
  }

  private gone(index: number): boolean {
    return this.stopAll !== undefined || this.finished.has(index) || this.lost.some((l) => l.index === index);
  }

  /** A worker asking after the run stopped is sent away (410): it ends without load and is not lost. */
  private turnAway(index: number): undefined {
    if (!this.lost.some((l) => l.index === index)) this.finished.set(index, 'turned-away');
    this.merger?.markGone(index);
    return undefined;
  }

  assignment(index: number): Promise<Assignment | undefined> {
    this.asked.add(index);
    if (this.gone(index)) return Promise.resolve(this.turnAway(index));
    const o = this.o;
    return Promise.resolve({
      runId: this.f.runId,
      index,
      count: this.f.count,
      flow: o.flow,
      timeline: shareTimeline(o.timeline, this.f.count, index),
      thinkMinMs: o.thinkMinMs,
      thinkMaxMs: o.thinkMaxMs,
      requestTimeoutMs: o.requestTimeoutMs,
      seed: deriveSeed(o.seed ?? 0, index),
      ...(o.workers !== undefined && { threads: o.workers }),
      target: o.target.origin,
      allowTargets: [...this.f.allowTargets],
    });
  }

  async start(index: number): Promise<Start | undefined> {
    this.ready.add(index);
    this.readyTimer ??= this.clock.setTimer(READY_TIMEOUT_MS, () => {
      for (let i = 0; i < this.f.count; i++) if (!this.ready.has(i)) this.lose(i, `not ready within ${READY_TIMEOUT_MS / 1000} s of the first worker`);
    });
    if (this.ready.size >= this.f.count) this.fixBarrier();
    await this.barrierFixed;
    const b = this.barrier!;
    return this.gone(index) ? this.turnAway(index) : { barrierEpochMs: b.atMs, deadlineEpochMs: b.deadlineMs };
  }

  second(index: number, s: WorkerSecond): SecondReply {
    if (this.finished.has(index) || this.lost.some((l) => l.index === index) || !this.merger) return { stop: true };
    this.lastHeardMs.set(index, this.clock.monotonicMs());
    const m = this.members.get(index);
    if (m) Object.assign(m, { host: s.host, hostCores: s.hostCores, startedAtMs: s.startedAtMs });
    for (const e of s.events) this.forwardEvent(index, e);
    this.merger.add(index, s);
    if (s.final) this.finished.set(index, s.stoppedBy ?? 'completed');
    this.pump();
    return { ...(this.stopAll && { stop: true }), ...(this.breakReason && { breakReason: this.breakReason }) };
  }

  /** Phases once (worker 0's, all follow the same plan); the coordinator writes its own break and stop. */
  private forwardEvent(index: number, e: WorkerSecond['events'][number]): void {
    if (e.kind === 'phase') {
      if (index === 0) this.emit('phase', e.detail, e.atMs);
    } else if (e.kind !== 'users' && e.kind !== 'stop' && e.kind !== 'break') this.emit(e.kind, { ...e.detail, worker: index }, e.atMs);
  }

  /** Writes every merged second that is ready; ends the run once every worker is done. */
  private pump(): void {
    const merger = this.merger;
    if (!merger) return;
    for (const m of merger.ready(this.clock.nowMs(), MERGE_WAIT_MS)) this.deliver(m);
    if (merger.allDone) {
      for (const m of merger.drain()) this.deliver(m);
      this.ended();
    }
  }

  private deliver(m: MergedSecond): void {
    this.f.onMerged?.(m);
    this.o.onSecond(m.sample);
    const rule = this.o.breakRule;
    // judged once, on the merged second; the recovery hold is observed to its end (as in engine.ts)
    if (m.sample.final || this.breakReason || !rule || m.sample.phase === RECOVERY_PHASE) return;
    const why = rule(m.sample);
    if (!why) return;
    this.breakReason = why;
    this.emit('break', { reason: why, phase: m.sample.phase, recovery: this.o.timeline.recovery !== undefined });
  }

  /** A worker ended before its final second, or went silent: an incident; the others are stopped. */
  private lose(index: number, reason: string): void {
    if (this.finished.has(index) || this.lost.some((l) => l.index === index)) return;
    // lost before the start: the barrier (and its merger) first, so this worker is marked gone in it — else the
    // merger waits for it for ever (a worker that never asked hung the run)
    if (!this.merger) this.fixBarrier();
    this.merger?.markGone(index);
    // after our own stop (signal), a worker that exits without its last second is not lost: it was told to go
    if (this.stopAll === 'signal') this.finished.set(index, 'signal');
    else {
      const name = this.members.get(index)?.name ?? String(index);
      this.lost.push({ index, name, reason });
      this.emit('worker-lost', { worker: index, name, reason });
      this.stopAll = 'worker-lost';
      void this.fleet?.kill(index);
    }
    this.pump();
  }

  private tick(): void {
    const b = this.barrier;
    if (!b) return;
    const now = this.clock.monotonicMs();
    const wallNow = this.clock.nowMs();
    for (let i = 0; i < this.f.count; i++) {
      if (wallNow < b.atMs) break;
      const heard = this.lastHeardMs.get(i);
      const since = heard === undefined ? wallNow - b.atMs : now - heard;
      if (since > SILENT_MS) this.lose(i, `silent for ${SILENT_MS / 1000} s`);
      else if (wallNow > b.deadlineMs + DEADLINE_SLACK_MS) this.lose(i, 'still running past its deadline');
    }
    this.pump();
  }

  async execute(coordinator: Coordinator): Promise<LoadResult & { fleet: FleetReport }> {
    const o = this.o;
    const startTimeoutMs = this.f.startTimeoutMs ?? this.f.engine.startAllowanceMs ?? START_TIMEOUT_MS;
    const onAbort = (): void => {
      this.stopAll ??= 'signal';
      if (!this.barrier) this.fixBarrier();
    };
    // the engine reaps at its deadline: the latest a run can end, start and readiness timeouts included
    this.fleet = await this.f.engine.start({
      runId: this.f.runId,
      count: this.f.count,
      coordinatorUrl: coordinator.url,
      token: this.token,
      startAllowanceMs: startTimeoutMs,
      deadlineEpochMs: this.clock.nowMs() + startTimeoutMs + READY_TIMEOUT_MS + BARRIER_LEAD_MS + this.planMs + DEADLINE_SLACK_MS,
    });
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) onAbort();
    const fleet = this.fleet;
    for (const m of fleet.members) this.members.set(m.index, { index: m.index, name: m.name, engine: this.f.engine.name });
    fleet.onExit((e) => this.lose(e.index, e.reason));
    const startTimer: Timer = this.clock.setTimer(startTimeoutMs, () => {
      for (let i = 0; i < this.f.count; i++) if (!this.asked.has(i)) this.lose(i, `did not ask for its assignment within ${startTimeoutMs / 1000} s`);
    });
    let ticker: Timer | undefined;
    const loop = (): void => {
      this.tick();
      ticker = this.clock.setTimer(TICK_MS, loop);
    };
    loop();
    try {
      await this.allEnded;
    } finally {
      startTimer.cancel();
      this.readyTimer?.cancel();
      ticker?.cancel();
      o.signal?.removeEventListener('abort', onAbort);
      await fleet.stop();
    }
    const stoppedBy = this.stoppedBy();
    this.emit('stop', { reason: stoppedBy, workers: this.f.count, lost: this.lost.map((l) => l.index) });
    if (this.asked.size === 0 && this.lost.length === this.f.count)
      throw new LoadscopeError('LOAD_FAILED', `no worker started: ${this.lost[0]?.reason ?? 'unknown'}`);
    const startedAtMs = this.barrier?.atMs ?? this.clock.nowMs();
    return { startedAtMs, endedAtMs: this.clock.nowMs(), stoppedBy, plannedDurationMs: o.timeline.durationMs, fleet: this.report() };
  }

  private stoppedBy(): StopReason {
    if (this.stopAll) return this.stopAll;
    const ends = [...this.finished.values()];
    return ends.includes('break') ? 'break' : ends.includes('deadline') ? 'deadline' : ends.includes('signal') ? 'signal' : 'completed';
  }

  private report(): FleetReport {
    const members = [...this.members.values()].sort((a, b) => a.index - b.index);
    const starts = members.flatMap((m) => (m.startedAtMs !== undefined ? [m.startedAtMs] : []));
    const b = this.barrier?.atMs;
    return {
      engine: this.f.engine.name,
      count: this.f.count,
      members,
      ...(b !== undefined && { barrierEpochMs: b }),
      ...(starts.length > 0 && { barrierSkewMs: Math.max(...starts) - Math.min(...starts) }),
      ...(starts.length > 0 && b !== undefined && { lateStartMs: Math.max(...starts) - b }),
      lost: this.lost,
    };
  }
}
