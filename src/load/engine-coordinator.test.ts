// The engine's coordinator (timeline, per-second lines, stop, break, recovery jump) on fake time: a FakeClock
// and a fake worker pool (our own LoadPool port), so every instant and count is asserted exactly. What real
// workers do under real time is covered by engine.test.ts and engine-clock.test.ts.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../common/clock.ts';
import type { FlowConfig } from '../config/schema.ts';
import { allowTarget } from '../config/target.ts';
import { FLUSH_WAIT_MS, runLoad, STOP_REPLY_BOUND_MS, type EngineEvent, type LoadResult, type SecondSample } from './engine.ts';
import type { LoadPool, SecondAccumulator, StartPool } from './engine-pool.ts';
import { Recorder } from './recorder.ts';
import { planShape } from './shapes/registry.ts';
import { RECOVERY_PHASE, type Timeline } from './shapes/types.ts';

const flow: FlowConfig = { onStart: [], tasks: [{ name: 'work', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] };
const target = allowTarget('http://127.0.0.1:8000', [], 'test');
/** Each user completes this many requests per second of fake time (10 ms latency each). */
const REQS_PER_USER_S = 7;

/** Workers on fake time: each flush reports REQS_PER_USER_S per active user (or never answers, when `silent`). */
class FakePool implements LoadPool {
  activeUsers = 0;
  fatal?: Error;
  stopFlagAtMs?: number;
  readonly userChanges: { atMs: number; users: number }[] = [];
  private stopped = false;

  constructor(
    private readonly clock: FakeClock,
    private readonly acc: SecondAccumulator,
    private readonly o: { silent?: boolean; stopNeverAnswers?: boolean } = {},
  ) {}

  setUsers(n: number): void {
    if (n === this.activeUsers) return;
    this.activeUsers = n;
    this.userChanges.push({ atMs: this.clock.monotonicMs(), users: n });
  }
  flush(_seq: number, waitMs: number): Promise<void> {
    if (this.o.silent) return this.clock.sleep(waitMs);
    const rec = new Recorder(false, () => this.stopped);
    for (let i = 0; i < this.activeUsers * REQS_PER_USER_S; i++) rec.response('work', 'GET', 10_000, undefined, 100, 200);
    this.acc.absorb(rec.flush());
    return Promise.resolve();
  }
  raiseStopFlag(): void {
    this.stopped = true;
    this.stopFlagAtMs ??= this.clock.monotonicMs();
  }
  stop(boundMs: number): Promise<void> {
    this.raiseStopFlag();
    this.activeUsers = 0;
    return this.o.stopNeverAnswers ? this.clock.sleep(boundMs) : Promise.resolve();
  }
  stall(): void {}
  begin(): void {}
  terminate(): Promise<void> {
    return Promise.resolve();
  }
}

interface Seen {
  elapsedS: number;
  atMs: number;
  tMs: number;
  phase: string;
  users: number;
  count: number;
  cpuCores: number;
  final: boolean;
}

async function run(
  timeline: Timeline,
  o: { silent?: boolean; stopNeverAnswers?: boolean; breakRule?: (s: SecondSample) => string | undefined; signal?: AbortSignal } = {},
) {
  const clock = new FakeClock();
  const t0 = clock.nowMs();
  let pool: FakePool | undefined;
  const startPool: StartPool = (_n, _init, acc) => Promise.resolve((pool = new FakePool(clock, acc, o)));
  const seen: Seen[] = [];
  const events: EngineEvent[] = [];
  let result: LoadResult | undefined;
  const done = runLoad({
    flow,
    target,
    timeline,
    thinkMinMs: 0,
    thinkMaxMs: 0,
    requestTimeoutMs: 1000,
    clock,
    startPool,
    // the generator burns exactly half a core of fake time
    cpuUsageUs: () => clock.monotonicMs() * 500,
    breakRule: o.breakRule,
    signal: o.signal,
    onSecond: (s) =>
      seen.push({
        elapsedS: s.elapsedS,
        atMs: clock.nowMs() - t0,
        tMs: s.tMs - t0,
        phase: s.phase,
        users: s.activeUsers,
        count: s.endpoints.get('work')?.count ?? 0,
        cpuCores: s.cpuCores,
        final: s.final,
      }),
    onEvent: (e) => events.push({ ...e, atMs: e.atMs - t0 }),
  }).then((r) => (result = r));
  await clock.runUntil(() => result !== undefined, { stepMs: 50, maxMs: 600_000 });
  await done;
  return { result: result!, seen, events, pool: pool!, t0 };
}

describe('engine coordinator on fake time', () => {
  it('one line per second stamped on its own tick, the users and counts of that second, and a final line at the stop', async () => {
    const { result, seen, pool } = await run(planShape({ kind: 'ramp', users: 4, rampUpMs: 0, durationMs: 3_000 }));
    expect(result.stoppedBy).toBe('completed');
    expect(result.endedAtMs - result.startedAtMs).toBe(3_000);
    expect(seen).toEqual([
      { elapsedS: 1, atMs: 1_000, tMs: 1_000, phase: 'hold', users: 4, count: 4 * REQS_PER_USER_S, cpuCores: 0.5, final: false },
      { elapsedS: 2, atMs: 2_000, tMs: 2_000, phase: 'hold', users: 4, count: 4 * REQS_PER_USER_S, cpuCores: 0.5, final: false },
      { elapsedS: 3, atMs: 3_000, tMs: 3_000, phase: 'hold', users: 0, count: 0, cpuCores: 0.5, final: true },
    ]);
    expect(pool.userChanges).toEqual([{ atMs: 0, users: 4 }]);
    expect(pool.stopFlagAtMs).toBe(3_000);
  });

  it('a ramp adds users at their planned instants, batched at least ADD_BATCH_MS apart within a phase', async () => {
    const { pool } = await run(planShape({ kind: 'ramp', users: 10, rampUpMs: 500, durationMs: 2_000 }));
    // users join every 50 ms on the plan; the engine sends them in 100-ms batches
    expect(pool.userChanges).toEqual([
      { atMs: 0, users: 1 },
      { atMs: 100, users: 3 },
      { atMs: 200, users: 5 },
      { atMs: 300, users: 7 },
      { atMs: 400, users: 9 },
      { atMs: 500, users: 10 },
    ]);
  });

  it('workers that never answer a flush delay each line by exactly FLUSH_WAIT_MS, and no second is missing', async () => {
    const { seen } = await run(planShape({ kind: 'ramp', users: 2, rampUpMs: 0, durationMs: 3_000 }), { silent: true });
    const whole = seen.filter((s) => !s.final);
    expect(whole.map((s) => [s.elapsedS, s.tMs, s.atMs, s.count])).toEqual([
      [1, 1_000, 1_000 + FLUSH_WAIT_MS, 0],
      [2, 2_000, 2_000 + FLUSH_WAIT_MS, 0],
    ]);
    expect(seen.at(-1)).toMatchObject({ final: true, elapsedS: 3, tMs: 3_000 });
  });

  it('the stop waits for the workers at most STOP_REPLY_BOUND_MS', async () => {
    const { result, seen } = await run(planShape({ kind: 'ramp', users: 2, rampUpMs: 0, durationMs: 2_000 }), { stopNeverAnswers: true });
    expect(result.endedAtMs - result.startedAtMs).toBe(2_000 + STOP_REPLY_BOUND_MS);
    // the final line is stamped with the stop instant, not when the workers' replies gave up
    expect(seen.at(-1)).toMatchObject({ final: true, tMs: 2_000, atMs: 2_000 + STOP_REPLY_BOUND_MS });
  });

  it('a break jumps to the recovery hold at the recovery users, holds it exactly, then stops with "break"', async () => {
    const ladder = planShape({ kind: 'steps', users: [2, 6, 12], rampUpMs: 0, holdMs: 2_000, recoveryMs: 0 });
    let broken = false;
    const { result, seen, events } = await run(
      { ...ladder, recovery: { users: 2, durationMs: 3_000 } },
      {
        breakRule: (s) => {
          broken ||= s.activeUsers >= 6;
          return broken ? 'users ≥ 6' : undefined;
        },
      },
    );
    expect(result.stoppedBy).toBe('break');
    // 6 users from 2 s: the step at 2 s is applied before that instant's line (its timer was set first), so the
    // line of second 2 is the first at 6 users and the break is at 2 s
    const brk = events.find((e) => e.kind === 'break')!;
    expect(brk.atMs).toBe(2_000);
    expect(events.filter((e) => e.kind === 'break')).toHaveLength(1);
    expect(events.find((e) => e.kind === 'phase' && e.detail.phase === RECOVERY_PHASE)?.atMs).toBe(2_000);
    expect(events.find((e) => e.kind === 'stop')?.atMs).toBe(2_000 + 3_000);
    expect(seen.filter((s) => s.phase === RECOVERY_PHASE && !s.final).map((s) => [s.elapsedS, s.users])).toEqual([
      [3, 2],
      [4, 2],
    ]);
    expect(Math.max(...seen.map((s) => s.users))).toBe(6);
  });

  it('an abort stops at its own instant with "signal"', async () => {
    const ac = new AbortController();
    const { result, seen } = await run(planShape({ kind: 'ramp', users: 1, rampUpMs: 0, durationMs: 10_000 }), {
      signal: ac.signal,
      breakRule: (s) => {
        if (s.elapsedS === 2) ac.abort();
        return undefined;
      },
    });
    expect(result.stoppedBy).toBe('signal');
    expect(seen.map((s) => [s.elapsedS, s.final])).toEqual([
      [1, false],
      [2, false],
      [2, true],
    ]);
  });
});
