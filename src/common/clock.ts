// The one clock: wall time (stamps), monotonic time (durations) and timers, injectable so timing code can be
// driven by a FakeClock in tests and assert exact values instead of tolerance bands.

/** A scheduled callback; cancel() is idempotent. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds (wall clock): for stamps written into the run record. */
  nowMs(): number;
  /** Milliseconds from an arbitrary origin that never goes back: for measuring durations. */
  monotonicMs(): number;
  /** Calls `fn` once after `ms` (negative counts as 0). */
  setTimer(ms: number, fn: () => void): Timer;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * The real clock for background work (samplers): sub-millisecond wall time, and timers that never keep the
 * process alive on their own.
 */
export const backgroundClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
  monotonicMs: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref()),
};

interface Scheduled {
  atMs: number;
  seq: number;
  fn: () => void;
}

/**
 * Time that moves only when told: `advance(ms)` runs every timer due on the way, in due order (ties in the
 * order they were set), letting promise continuations settle after each one, as real timers do.
 */
export class FakeClock implements Clock {
  private t: number;
  private readonly wallOffsetMs: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(startEpochMs = 1_700_000_000_000) {
    this.t = 0;
    this.wallOffsetMs = startEpochMs;
  }

  nowMs(): number {
    return this.wallOffsetMs + this.t;
  }

  monotonicMs(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry: Scheduled = { atMs: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.queue.push(entry);
    return { cancel: () => void (this.queue = this.queue.filter((e) => e !== entry)) };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.queue.length;
  }

  /** Moves time forward by `ms`, running each due timer at its own instant. */
  async advance(ms: number): Promise<void> {
    const endMs = this.t + ms;
    await settle();
    for (;;) {
      const next = this.queue.filter((e) => e.atMs <= endMs).sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (!next) break;
      this.queue = this.queue.filter((e) => e !== next);
      this.t = next.atMs;
      next.fn();
      await settle();
    }
    this.t = endMs;
    await settle();
  }

  /** Advances in `stepMs` steps until `done()` holds or `maxMs` has passed; returns the time advanced. */
  async runUntil(done: () => boolean, o: { stepMs?: number; maxMs: number }): Promise<number> {
    const startMs = this.t;
    while (!done() && this.t - startMs < o.maxMs) await this.advance(o.stepMs ?? 1);
    return this.t - startMs;
  }
}

/** Lets queued promise continuations run (a few macrotask turns, so chained awaits complete too). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
