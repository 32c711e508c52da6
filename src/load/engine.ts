// Main-thread load engine: follows the timeline, spreads users over worker threads, merges their
// per-second encoded histograms and hands one merged sample per second to the caller.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FlowConfig } from '../config/schema.ts';
import { assertTargetAllowed } from '../config/target.ts';
import { LoadscopeError } from '../common/errors.ts';
import { decodeHistogram, createLatencyHistogram, type LatencyHistogram } from './histogram.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';
import { zeroErrors, type ErrorCounts, type RecorderFlush } from './recorder.ts';
import type { Timeline } from './shapes/types.ts';
import { ERROR_KINDS } from './flow-runner.ts';

export interface EndpointSecond {
  method: string;
  count: number;
  errors: ErrorCounts;
  bytes: number;
  /** merged latency µs for this second; reused by the engine after onSecond returns */
  hist: LatencyHistogram;
}

export interface SecondSample {
  /** epoch ms at the end of this second */
  tMs: number;
  elapsedS: number;
  phase: string;
  activeUsers: number;
  endpoints: ReadonlyMap<string, EndpointSecond>;
  failures: Readonly<Record<string, number>>;
  droppedLate: number;
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
}

export interface LoadResult {
  startedAtMs: number;
  endedAtMs: number;
  stoppedBy: StopReason;
  plannedDurationMs: number;
}

export const defaultWorkerCount = (): number => Math.max(1, cpus().length - 1);
const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);

interface Slot {
  w: Worker;
  users: number[];
  alive: boolean;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  assertTargetAllowed(o.target, o.allowTargets, 'load engine');
  const tl = o.timeline;
  const graceMs = o.graceMs ?? 10_000 + tl.durationMs * 0.1;
  const maxUsers = Math.max(1, ...tl.steps.map((s) => s.users));
  const nWorkers = Math.max(1, Math.min(o.workers ?? defaultWorkerCount(), tl.open ? Math.ceil(tl.open.rateRps / 50) : maxUsers));
  const emit = (kind: string, detail: Record<string, unknown> = {}): void => o.onEvent?.({ kind, atMs: Date.now(), detail });
  const deadlineEpochMs = Date.now() + 30_000 + tl.durationMs + graceMs;

  const slots: Slot[] = [];
  const pending = new Map<string, EndpointSecond>();
  let failures: Record<string, number> = {};
  let droppedLate = 0;
  const absorb = (d: RecorderFlush): void => {
    for (const [name, e] of Object.entries(d.endpoints)) {
      let acc = pending.get(name);
      if (!acc) pending.set(name, (acc = { method: e.method, count: 0, errors: zeroErrors(), bytes: 0, hist: createLatencyHistogram() }));
      acc.count += e.count;
      acc.bytes += e.bytes;
      for (const k of ERROR_KINDS) acc.errors[k] += e.errors[k];
      acc.hist.add(decodeHistogram(e.hist));
    }
    for (const [k, n] of Object.entries(d.failures)) failures[k] = (failures[k] ?? 0) + n;
    droppedLate += d.droppedLate;
    if (d.rawUs && o.onRawLatencies) for (const [name, us] of Object.entries(d.rawUs)) o.onRawLatencies(name, us);
  };

  let fatal: Error | undefined;
  let flushWaiters: (() => void)[] = [];
  let flushReplies = 0;
  const stoppedWaiters = new Map<Worker, () => void>();
  try {
    // start workers and wait until each is ready, so t0 is not eaten by tsx start-up
    await Promise.all(
      Array.from({ length: nWorkers }, (_, i) => {
        const init: WorkerInit = {
          flow: o.flow,
          target: o.target,
          allowTargets: [...o.allowTargets],
          requestTimeoutMs: o.requestTimeoutMs,
          thinkMinMs: o.thinkMinMs,
          thinkMaxMs: o.thinkMaxMs,
          deadlineEpochMs,
          keepRaw: o.keepRawLatencies ?? false,
          open: tl.open && { rateRps: tl.open.rateRps / nWorkers, maxInFlight: Math.max(1, Math.ceil(tl.open.maxInFlight / nWorkers)) },
        };
        const w = new Worker(WORKER_ENTRY, { workerData: init });
        const slot: Slot = { w, users: [], alive: true };
        slots[i] = slot;
        return new Promise<void>((resolve, reject) => {
          w.on('message', (m: FromWorker) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'flushed') {
              absorb(m.data);
              if (++flushReplies >= slots.filter((s) => s.alive).length) flushWaiters.splice(0).forEach((f) => f());
            } else if (m.type === 'stopped') {
              absorb(m.data);
              stoppedWaiters.get(w)?.();
            } else if (m.type === 'event') emit(m.kind, m.detail);
            else if (m.type === 'fatal') {
              fatal = m.code === 'TARGET_NOT_ALLOWED' ? new LoadscopeError('TARGET_NOT_ALLOWED', m.message) : new LoadscopeError('LOAD_FAILED', `load worker: ${m.message}`);
              reject(fatal);
            }
          });
          w.on('error', (err) => {
            slot.alive = false;
            emit('worker-error', { worker: i, message: err.message });
            reject(err);
          });
          w.on('exit', () => {
            slot.alive = false;
            stoppedWaiters.get(w)?.();
            flushWaiters.splice(0).forEach((f) => f());
          });
        });
      }),
    );
  } catch (err) {
    await Promise.all(slots.map((s) => s?.w.terminate()));
    throw err;
  }

  const send = (s: Slot, m: ToWorker): void => {
    if (s.alive) s.w.postMessage(m);
  };
  let nextUserId = 1;
  let activeUsers = 0;
  const setUsers = (target: number): void => {
    if (tl.open) return;
    const adds = new Map<Slot, number[]>();
    const removes = new Map<Slot, number>();
    while (activeUsers < target) {
      const s = slots.reduce((a, b) => (b.users.length < a.users.length ? b : a));
      const id = nextUserId++;
      s.users.push(id);
      adds.set(s, [...(adds.get(s) ?? []), id]);
      activeUsers++;
    }
    while (activeUsers > target) {
      const s = slots.reduce((a, b) => (b.users.length > a.users.length ? b : a));
      s.users.pop();
      removes.set(s, (removes.get(s) ?? 0) + 1);
      activeUsers--;
    }
    for (const [s, ids] of adds) send(s, { type: 'add', ids });
    for (const [s, count] of removes) send(s, { type: 'remove', count });
  };

  const startedAtMs = Date.now();
  let phase = '';
  let stepIdx = 0;
  let stepTimer: NodeJS.Timeout | undefined;
  let stopReason: StopReason | undefined;
  let wakeMain: () => void = () => {};
  const stop = (why: StopReason): void => {
    stopReason ??= why;
    wakeMain();
  };

  const applySteps = (): void => {
    const nowRel = Date.now() - startedAtMs;
    while (stepIdx < tl.steps.length && (tl.steps[stepIdx]?.atMs ?? 0) <= nowRel) {
      const st = tl.steps[stepIdx++]!;
      if (st.phase === 'end' && stepIdx === tl.steps.length) return stop('completed');
      if (st.phase !== phase) {
        emit('phase', { phase: st.phase, from: phase || undefined, atMs: st.atMs });
        phase = st.phase;
      }
      const before = activeUsers;
      setUsers(st.users);
      if (activeUsers !== before) emit('users', { from: before, to: activeUsers, phase });
    }
    const next = tl.steps[stepIdx];
    if (next) stepTimer = setTimeout(applySteps, Math.max(0, startedAtMs + next.atMs - Date.now()));
  };

  let cpuPrev = process.cpuUsage();
  let wallPrev = performance.now();
  let second = 0;
  const emitSecond = (final: boolean): void => {
    const cpu = process.cpuUsage(cpuPrev);
    const wall = performance.now();
    const cpuCores = (cpu.user + cpu.system) / 1000 / Math.max(1, wall - wallPrev);
    cpuPrev = process.cpuUsage();
    wallPrev = wall;
    const sample: SecondSample = {
      tMs: Date.now(),
      elapsedS: Math.round((Date.now() - startedAtMs) / 100) / 10,
      phase,
      activeUsers,
      endpoints: pending,
      failures,
      droppedLate,
      cpuCores: Math.round(cpuCores * 1000) / 1000,
      final,
    };
    o.onSecond(sample);
    const why = !final && o.breakRule ? o.breakRule(sample) : undefined;
    for (const e of pending.values()) {
      e.count = 0;
      e.bytes = 0;
      e.errors = zeroErrors();
      e.hist.reset();
    }
    failures = {};
    droppedLate = 0;
    if (why) {
      emit('break', { reason: why, phase });
      stop('break');
    }
  };
  const flushAll = (): Promise<void> => {
    flushReplies = 0;
    const live = slots.filter((s) => s.alive);
    if (live.length === 0) return Promise.resolve();
    const seq = ++second;
    const replied = new Promise<void>((resolve) => flushWaiters.push(resolve));
    for (const s of live) send(s, { type: 'flush', seq });
    // a slow worker's data is merged into the next second instead of stalling this one
    return Promise.race([replied, new Promise<void>((r) => setTimeout(r, 800))]);
  };

  const onAbort = (): void => stop('signal');
  o.signal?.addEventListener('abort', onAbort);
  if (o.signal?.aborted) stop('signal');
  const hardDeadline = setTimeout(() => stop('deadline'), tl.durationMs + graceMs);
  applySteps();

  // one loop: every second flush + emit, until a stop reason appears
  while (!stopReason) {
    const nextTickMs = startedAtMs + (second + 1) * 1000;
    await new Promise<void>((resolve) => {
      wakeMain = resolve;
      setTimeout(resolve, Math.max(0, nextTickMs - Date.now()));
    });
    if (stopReason) break;
    await flushAll();
    flushWaiters = [];
    emitSecond(false);
  }

  clearTimeout(stepTimer);
  emit('stop', { reason: stopReason, activeUsers });
  // stop: users finish in-flight requests; bounded (2 s on a signal, else up to the grace)
  const stopBoundMs = stopReason === 'signal' ? 1_500 : stopReason === 'deadline' ? 0 : Math.min(graceMs, o.requestTimeoutMs + 2_000);
  await Promise.race([
    Promise.all(
      slots.map((s) =>
        s.alive
          ? new Promise<void>((resolve) => {
              stoppedWaiters.set(s.w, resolve);
              send(s, { type: 'stop' });
            })
          : undefined,
      ),
    ),
    new Promise((r) => setTimeout(r, stopBoundMs)),
  ]);
  clearTimeout(hardDeadline);
  o.signal?.removeEventListener('abort', onAbort);
  activeUsers = 0;
  emitSecond(true);
  await Promise.all(slots.map((s) => s.w.terminate()));
  if (fatal) throw fatal;
  return { startedAtMs, endedAtMs: Date.now(), stoppedBy: stopReason, plannedDurationMs: tl.durationMs };
}
