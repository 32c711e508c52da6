// The engine's load workers: start-up, users spread over them, per-second flushes merged into one
// accumulator, and the stop. The main thread never waits on a worker longer than a bound it chooses.
import { Worker } from 'node:worker_threads';
import { realClock, type Clock, type Timer } from '../common/clock.ts';
import { LoadscopeError } from '../common/errors.ts';
import { ERROR_KINDS } from './flow-runner.ts';
import { createLatencyHistogram, decodeHistogram, type LatencyHistogram } from './histogram.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';
import { zeroErrors, type ErrorCounts, type RecorderFlush } from './recorder.ts';

export interface EndpointSecond {
  method: string;
  count: number;
  /** requests in flight when the run stopped (final second only): not in count, errors or hist */
  cancelled?: number;
  errors: ErrorCounts;
  bytes: number;
  /** merged latency µs for this second; reused by the engine after onSecond returns */
  hist: LatencyHistogram;
}

const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);
// Every request makes short-lived garbage; a larger young generation means fewer scavenges. Measured at 2,000
// zero-think connections on a trivial loopback target: CPU per request 12-15 % lower than the default.
const WORKER_YOUNG_GEN_MB = 64;

interface Slot {
  w: Worker;
  users: number;
  alive: boolean;
  /** seq of the last flush this worker answered */
  flushedSeq: number;
}

/** What the workers reported since the last take(); a late worker's flush simply lands in the next second. */
export class SecondAccumulator {
  readonly endpoints = new Map<string, EndpointSecond>();
  failures: Record<string, number> = {};
  droppedLate = 0;

  constructor(private readonly onRaw?: (endpoint: string, latenciesUs: number[]) => void) {}

  absorb(d: RecorderFlush): void {
    for (const [name, e] of Object.entries(d.endpoints)) {
      let acc = this.endpoints.get(name);
      if (!acc) this.endpoints.set(name, (acc = { method: e.method, count: 0, cancelled: 0, errors: zeroErrors(), bytes: 0, hist: createLatencyHistogram() }));
      acc.count += e.count;
      acc.cancelled = (acc.cancelled ?? 0) + (e.cancelled ?? 0);
      acc.bytes += e.bytes;
      for (const k of ERROR_KINDS) acc.errors[k] += e.errors[k];
      acc.hist.add(decodeHistogram(e.hist));
    }
    for (const [k, n] of Object.entries(d.failures)) this.failures[k] = (this.failures[k] ?? 0) + n;
    this.droppedLate += d.droppedLate;
    if (d.rawUs && this.onRaw) for (const [name, us] of Object.entries(d.rawUs)) this.onRaw(name, us);
  }

  reset(): void {
    for (const e of this.endpoints.values()) {
      e.count = 0;
      e.cancelled = 0;
      e.bytes = 0;
      e.errors = zeroErrors();
      e.hist.reset();
    }
    this.failures = {};
    this.droppedLate = 0;
  }
}

/** What the engine's coordinator needs of its workers: the port a fake pool implements in timing tests. */
export interface LoadPool {
  readonly activeUsers: number;
  readonly fatal?: Error;
  /** The timeline starts now (the open model's arrivals begin). */
  begin(): void;
  /** Spreads `target` users over the workers (adds and removals). */
  setUsers(target: number): void;
  /** Asks every worker for its counters (absorbed into the accumulator); resolves when all answered or after `waitMs`. */
  flush(seq: number, waitMs: number): Promise<void>;
  /** From now on the workers book whatever ends as cancelled and send nothing new. */
  raiseStopFlag(): void;
  /** Stops every worker and takes their last counters; bounded by `boundMs`. */
  stop(boundMs: number): Promise<void>;
  /** Test hook: every worker's loop busy for `ms`. */
  stall(ms: number): void;
  terminate(): Promise<void>;
}

export type StartPool = (
  n: number,
  init: Omit<WorkerInit, 'stopFlag' | 'threadIndex'>,
  acc: SecondAccumulator,
  emit: (kind: string, detail: Record<string, unknown>) => void,
) => Promise<LoadPool>;

export class WorkerPool implements LoadPool {
  private readonly slots: Slot[] = [];
  private readonly flagView: Int32Array;
  private flushWaiter?: { seq: number; resolve: () => void };
  private readonly stoppedWaiters = new Map<Worker, () => void>();
  private nextUserId = 1;
  activeUsers = 0;
  fatal?: Error;

  private constructor(
    readonly acc: SecondAccumulator,
    private readonly emit: (kind: string, detail: Record<string, unknown>) => void,
    stopFlag: SharedArrayBuffer,
    private readonly clock: Clock,
  ) {
    this.flagView = new Int32Array(stopFlag);
  }

  /** Starts `n` workers and waits until each is ready, so t0 is not eaten by tsx start-up. */
  static async start(
    n: number,
    init: Omit<WorkerInit, 'stopFlag' | 'threadIndex'>,
    acc: SecondAccumulator,
    emit: (kind: string, detail: Record<string, unknown>) => void,
    clock: Clock = realClock,
  ): Promise<WorkerPool> {
    const stopFlag = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const pool = new WorkerPool(acc, emit, stopFlag, clock);
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => pool.spawn(i, { ...init, stopFlag, threadIndex: i })));
    } catch (err) {
      await pool.terminate();
      throw err;
    }
    return pool;
  }

  private spawn(i: number, init: WorkerInit): Promise<void> {
    const w = new Worker(WORKER_ENTRY, { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GEN_MB } });
    const slot: Slot = { w, users: 0, alive: true, flushedSeq: 0 };
    this.slots[i] = slot;
    return new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'flushed') {
          this.acc.absorb(m.data);
          slot.flushedSeq = Math.max(slot.flushedSeq, m.seq);
          this.checkFlushed();
        } else if (m.type === 'stopped') {
          this.acc.absorb(m.data);
          this.stoppedWaiters.get(w)?.();
        } else if (m.type === 'event') this.emit(m.kind, m.detail);
        else if (m.type === 'fatal') {
          this.fatal =
            m.code === 'TARGET_NOT_ALLOWED'
              ? new LoadscopeError('TARGET_NOT_ALLOWED', m.message)
              : new LoadscopeError('LOAD_FAILED', `load worker: ${m.message}`);
          reject(this.fatal);
        }
      });
      w.on('error', (err) => {
        slot.alive = false;
        this.emit('worker-error', { worker: i, message: err.message });
        reject(err);
      });
      w.on('exit', () => {
        slot.alive = false;
        this.stoppedWaiters.get(w)?.();
        this.checkFlushed();
      });
    });
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s?.alive);
  }

  private send(s: Slot, m: ToWorker): void {
    if (s.alive) s.w.postMessage(m);
  }

  private checkFlushed(): void {
    const f = this.flushWaiter;
    if (f && this.live().every((s) => s.flushedSeq >= f.seq)) {
      this.flushWaiter = undefined;
      f.resolve();
    }
  }

  /** Asks every worker for its counters; resolves when all answered or after `waitMs`, whichever is first. */
  flush(seq: number, waitMs: number): Promise<void> {
    for (const s of this.live()) this.send(s, { type: 'flush', seq });
    return new Promise<void>((resolve) => {
      const t = this.clock.setTimer(waitMs, done);
      function done(): void {
        t.cancel();
        resolve();
      }
      this.flushWaiter?.resolve();
      this.flushWaiter = { seq, resolve: done };
      this.checkFlushed();
    });
  }

  begin(): void {
    for (const s of this.live()) this.send(s, { type: 'begin' });
  }

  /** Spreads users evenly: adds go to the least loaded worker, removals come from the most loaded. */
  setUsers(target: number): void {
    const adds = new Map<Slot, number[]>();
    const removes = new Map<Slot, number>();
    const slots = this.live();
    if (slots.length === 0) return;
    while (this.activeUsers < target) {
      const s = slots.reduce((a, b) => (b.users < a.users ? b : a));
      s.users++;
      let ids = adds.get(s);
      if (!ids) adds.set(s, (ids = []));
      ids.push(this.nextUserId++);
      this.activeUsers++;
    }
    while (this.activeUsers > target) {
      const s = slots.reduce((a, b) => (b.users > a.users ? b : a));
      s.users--;
      removes.set(s, (removes.get(s) ?? 0) + 1);
      this.activeUsers--;
    }
    for (const [s, ids] of adds) this.send(s, { type: 'add', ids });
    for (const [s, count] of removes) this.send(s, { type: 'remove', count });
  }

  /** From now on the workers book whatever ends as cancelled and send nothing new (a shared flag, no message). */
  raiseStopFlag(): void {
    Atomics.store(this.flagView, 0, 1);
  }

  /** Stops every worker (cancelling what is in flight) and takes their last counters; bounded by `boundMs`. */
  async stop(boundMs: number): Promise<void> {
    this.raiseStopFlag();
    const all = this.live().map(
      (s) =>
        new Promise<void>((resolve) => {
          this.stoppedWaiters.set(s.w, resolve);
          this.send(s, { type: 'stop' });
        }),
    );
    let t: Timer | undefined;
    await Promise.race([Promise.all(all), new Promise<void>((r) => (t = this.clock.setTimer(boundMs, r)))]);
    t?.cancel();
    this.activeUsers = 0;
  }

  /** Test hook: every worker's loop busy for `ms`. */
  stall(ms: number): void {
    for (const s of this.live()) this.send(s, { type: 'stall', ms });
  }

  async terminate(): Promise<void> {
    await Promise.all(this.slots.map((s) => s?.w.terminate()));
  }
}
