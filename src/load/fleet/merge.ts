// The coordinator's merge (docs/DISTRIBUTED.md "What is merged and how"): the workers' seconds, by elapsed second,
// through the thread engine's own SecondAccumulator (histogram add, counters summed), so a fleet second is merged
// exactly as a process second is. No clock here: the caller says what time it is.
import type { SecondSample } from '../engine.ts';
import { SecondAccumulator } from '../engine-pool.ts';
import type { WorkerSecond } from './protocol.ts';

const SECOND_MS = 1000;

/** One worker's own figures for one merged second (the series line's `workers` section). */
export interface WorkerFigures {
  cpuCores: number;
  hostCores: number;
  activeUsers: number;
}

interface Bucket {
  acc: SecondAccumulator;
  /** phase of the lowest-index worker that reported: all workers follow the same phases */
  phase?: { index: number; name: string };
  workers: Map<number, WorkerFigures>;
  elapsedS: number;
}

const newBucket = (elapsedS: number): Bucket => ({ acc: new SecondAccumulator(), workers: new Map(), elapsedS });

export class FleetMerger {
  private readonly buckets = new Map<number, Bucket>();
  private readonly finals = newBucket(0);
  private lastWritten = 0;
  /** per worker: the last whole second it reported */
  private readonly lastSecond: number[];
  /** workers that sent their final second or were lost: not waited for any more */
  private readonly done = new Set<number>();

  /** @param startMs epoch ms of the shared start (the barrier): second k ends at startMs + k s */
  constructor(
    private readonly count: number,
    private readonly startMs: number,
  ) {
    this.lastSecond = new Array<number>(count).fill(0);
  }

  get allDone(): boolean {
    return this.done.size >= this.count;
  }

  /** A worker's second. A whole second already written lands in the next one (as a late thread's flush does). */
  add(index: number, r: WorkerSecond): void {
    if (r.final) {
      this.absorb(this.finals, index, r);
      this.finals.elapsedS = Math.max(this.finals.elapsedS, r.elapsedS);
      this.done.add(index);
      return;
    }
    const k = Math.max(Math.round(r.elapsedS), this.lastWritten + 1);
    let b = this.buckets.get(k);
    if (!b) this.buckets.set(k, (b = newBucket(k)));
    this.absorb(b, index, r);
    this.lastSecond[index] = Math.max(this.lastSecond[index] ?? 0, Math.round(r.elapsedS));
  }

  /** A worker that will report no more (lost): nobody waits for it. */
  markGone(index: number): void {
    this.done.add(index);
  }

  private absorb(b: Bucket, index: number, r: WorkerSecond): void {
    b.acc.absorb(r.data);
    if (!b.phase || index < b.phase.index) b.phase = { index, name: r.phase };
    const prev = b.workers.get(index);
    // a late second folded into this one: its CPU and users belong to the same worker, keep the newer reading
    b.workers.set(index, { cpuCores: Math.max(r.cpuCores, prev?.cpuCores ?? 0), hostCores: r.hostCores, activeUsers: r.activeUsers });
  }

  /** Whole seconds that can be written at `nowMs`: every live worker reported them, or `waitMs` passed after their end. */
  ready(nowMs: number, waitMs: number): MergedSecond[] {
    const out: MergedSecond[] = [];
    for (;;) {
      const k = this.lastWritten + 1;
      const waiting = [...this.lastSecond.keys()].some((i) => !this.done.has(i) && (this.lastSecond[i] ?? 0) < k);
      if (this.allDone || (waiting && nowMs < this.startMs + k * SECOND_MS + waitMs)) break;
      out.push(this.take(k));
    }
    return out;
  }

  /** Once every worker is done: the whole seconds still open, then the final one. */
  drain(): MergedSecond[] {
    const out: MergedSecond[] = [];
    for (const k of [...this.buckets.keys()].sort((a, b) => a - b)) out.push(this.take(k));
    out.push(this.toSample(this.finals, true));
    return out;
  }

  private take(k: number): MergedSecond {
    const b = this.buckets.get(k) ?? newBucket(k);
    this.buckets.delete(k);
    this.lastWritten = Math.max(this.lastWritten, k);
    return this.toSample(b, false);
  }

  private toSample(b: Bucket, final: boolean): MergedSecond {
    let cpuCores = 0;
    let activeUsers = 0;
    let cancelled = 0;
    for (const w of b.workers.values()) {
      cpuCores += w.cpuCores;
      activeUsers += w.activeUsers;
    }
    for (const e of b.acc.endpoints.values()) cancelled += e.cancelled ?? 0;
    const sample: SecondSample = {
      tMs: this.startMs + Math.round(b.elapsedS * SECOND_MS),
      startMs: this.startMs,
      elapsedS: b.elapsedS,
      phase: b.phase?.name ?? '',
      activeUsers: final ? 0 : activeUsers,
      endpoints: b.acc.endpoints,
      failures: b.acc.failures,
      droppedLate: b.acc.droppedLate,
      cancelled,
      // the fleet's load-generation CPU, all workers (validity compares it with the cores of their hosts)
      cpuCores: Math.round(cpuCores * 1000) / 1000,
      final,
    };
    return { sample, workers: Object.fromEntries([...b.workers].sort(([a], [c]) => a - c).map(([i, w]) => [String(i), w])) };
  }
}

export interface MergedSecond {
  sample: SecondSample;
  /** by worker index */
  workers: Record<string, WorkerFigures>;
}
