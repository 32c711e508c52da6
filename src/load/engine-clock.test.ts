// The engine's record of time and of the stop, against targets whose capacity is set by the test.
import { describe, expect, it } from 'vitest';
import type { FlowConfig } from '../config/schema.ts';
import { runLoad, type EngineEvent, type SecondSample } from './engine.ts';
import { planShape } from './shapes/registry.ts';
import { RECOVERY_PHASE, type Timeline } from './shapes/types.ts';
import { startCapacityServer } from './testing/capacity-server.ts';
import { allowTarget } from '../config/target.ts';

const flow: FlowConfig = { onStart: [], tasks: [{ name: 'work', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] };

interface Seen {
  elapsedS: number;
  final: boolean;
  phase: string;
  activeUsers: number;
  count: number;
  cancelled: number;
  histCount: number;
  /** when onSecond ran, relative to the second's own tick */
  lagMs: number;
}

const see = (s: SecondSample): Seen => {
  const e = s.endpoints.get('work');
  return {
    elapsedS: s.elapsedS,
    final: s.final,
    phase: s.phase,
    activeUsers: s.activeUsers,
    count: e?.count ?? 0,
    cancelled: s.cancelled ?? 0,
    histCount: e?.hist.totalCount ?? 0,
    lagMs: Date.now() - s.tMs,
  };
};

describe('engine clock: one line per second, whatever the users loops do', () => {
  const DURATION_MS = 6_000;
  it('an overloaded worker (its loop busy for 2.5 s) leaves no second missing; each line is written before the next second', async () => {
    const server = await startCapacityServer(4, 10);
    try {
      const seen: Seen[] = [];
      await runLoad({
        flow,
        target: allowTarget(server.url, [], 'test'),
        timeline: planShape({ kind: 'ramp', users: 16, rampUpMs: 0, durationMs: DURATION_MS }),
        thinkMinMs: 0,
        thinkMaxMs: 0,
        requestTimeoutMs: 5_000,
        workers: 1,
        stallWorkers: { atMs: 1_500, forMs: 2_500 },
        onSecond: (s) => seen.push(see(s)),
      });
      const whole = seen.filter((s) => !s.final);
      // no second missing: 1..N in order. The last tick falls on the stop instant itself, and on a real clock either
      // timer may fire first, so N is 5 or 6 here; which one wins is asserted exactly on fake time
      // (engine-coordinator.test.ts: the stop's own second is the final line).
      const lastWhole = whole.length;
      expect(lastWhole).toBeGreaterThanOrEqual(DURATION_MS / 1000 - 1);
      expect(lastWhole).toBeLessThanOrEqual(DURATION_MS / 1000);
      expect(whole.map((s) => s.elapsedS)).toEqual(Array.from({ length: lastWhole }, (_, i) => i + 1));
      // on time: written before the next second begins, even while the worker could not answer
      for (const s of whole) expect(s.lagMs).toBeLessThan(1_000);
      // the stalled worker answered nothing during its stall: those seconds are empty, not missing
      expect(whole.some((s) => s.count === 0)).toBe(true);
      // and what it did afterwards is recorded in the seconds after
      expect(whole[4]!.count).toBeGreaterThan(0);
      expect(seen.at(-1)?.final).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('the stop: requests in flight are cancelled, never completions', () => {
  // 4 slots × 20 ms = 200 req/s. The server finishes requests in batches of `slots`, so a window of d seconds
  // holds at most capacity × d + slots completions; 10 % on top for the second boundaries' jitter.
  const slots = 4;
  const serviceMs = 20;
  const capacityRps = (slots * 1000) / serviceMs;
  const bound = (durationS: number): number => 1.1 * (capacityRps * durationS + slots);

  for (const [label, thinkMs, users] of [
    ['zero-think users (autocannon)', 0, [2, 8, 16]],
    ['think-time users (node:http)', 20, [4, 16, 40]],
  ] as const) {
    it(`${label}: no second exceeds the capacity by more than 10 %, the last partial one included; cancelled stay out of counts and latencies`, async () => {
      const server = await startCapacityServer(slots, serviceMs);
      try {
        const seen: Seen[] = [];
        const res = await runLoad({
          flow,
          target: allowTarget(server.url, [], 'test'),
          timeline: planShape({ kind: 'steps', users: [...users], rampUpMs: 300, holdMs: 1_200, recoveryMs: 0 }),
          thinkMinMs: thinkMs,
          thinkMaxMs: thinkMs,
          requestTimeoutMs: 5_000,
          workers: 1,
          onSecond: (s) => seen.push(see(s)),
        });
        expect(res.stoppedBy).toBe('completed');
        const last = seen.at(-1)!;
        expect(last.final).toBe(true);
        let prevS = 0;
        for (const s of seen) {
          const durationS = s.elapsedS - prevS;
          prevS = s.elapsedS;
          expect(s.count, `second ending at ${s.elapsedS} s`).toBeLessThanOrEqual(bound(durationS));
          // a cancelled request never has a latency
          expect(s.histCount).toBe(s.count);
        }
        // the last step saturates the target: requests were queued there at the stop
        expect(last.cancelled).toBeGreaterThan(0);
        expect(last.cancelled).toBeLessThanOrEqual(users.at(-1)!);
        expect(seen.slice(0, -1).every((s) => s.cancelled === 0)).toBe(true);
        // every recorded completion was served by the target
        expect(seen.reduce((n, s) => n + s.count, 0)).toBeLessThanOrEqual(server.served());
      } finally {
        await server.close();
      }
    });
  }
});

describe('stop-on-break with a recovery hold', () => {
  const ladder = (): Timeline => planShape({ kind: 'steps', users: [2, 6, 12, 20], rampUpMs: 200, holdMs: 1_300, recoveryMs: 0 });
  // once it fired it fires on every later second too: the engine must not apply it inside the recovery hold
  const breakAt6 = (): ((s: SecondSample) => string | undefined) => {
    let broken = false;
    return (s) => {
      broken ||= s.activeUsers >= 6;
      return broken ? 'users ≥ 6' : undefined;
    };
  };

  const run = async (timeline: Timeline) => {
    const server = await startCapacityServer(4, 20);
    const seen: Seen[] = [];
    const events: EngineEvent[] = [];
    try {
      const t0 = Date.now();
      const res = await runLoad({
        flow,
        target: allowTarget(server.url, [], 'test'),
        timeline,
        thinkMinMs: 50,
        thinkMaxMs: 50,
        requestTimeoutMs: 5_000,
        workers: 1,
        breakRule: breakAt6(),
        onSecond: (s) => seen.push(see(s)),
        onEvent: (e) => events.push(e),
      });
      return { res, seen, events, tookMs: Date.now() - t0 };
    } finally {
      await server.close();
    }
  };

  it('jumps to the recovery phase at the recovery users, holds it for its duration, then stops with "break"', async () => {
    const recovery = { users: 2, durationMs: 2_500 };
    const { res, seen, events } = await run({ ...ladder(), recovery });
    expect(res.stoppedBy).toBe('break');
    const brk = events.find((e) => e.kind === 'break');
    expect(events.filter((e) => e.kind === 'break')).toHaveLength(1);
    expect(brk?.detail).toMatchObject({ reason: 'users ≥ 6', recovery: true });
    expect(events.some((e) => e.kind === 'phase' && e.detail.phase === RECOVERY_PHASE)).toBe(true);
    const rec = seen.filter((s) => s.phase === RECOVERY_PHASE && !s.final);
    // a 2.5 s hold gives 2 or 3 whole seconds at the recovery users, with traffic
    expect(rec.length).toBeGreaterThanOrEqual(2);
    expect(rec.length).toBeLessThanOrEqual(3);
    for (const s of rec) expect(s.activeUsers).toBe(recovery.users);
    expect(rec.every((s) => s.count > 0)).toBe(true);
    // the ladder's later steps never ran
    expect(Math.max(...seen.map((s) => s.activeUsers))).toBeLessThan(12);
    const stop = events.find((e) => e.kind === 'stop');
    expect((stop?.atMs ?? 0) - (brk?.atMs ?? 0)).toBeGreaterThanOrEqual(recovery.durationMs);
  });

  it('without a recovery hold, the break stops the run as before', async () => {
    const { res, seen, events } = await run(ladder());
    expect(res.stoppedBy).toBe('break');
    expect(events.find((e) => e.kind === 'break')?.detail).toMatchObject({ recovery: false });
    expect(seen.some((s) => s.phase === RECOVERY_PHASE)).toBe(false);
    expect(Math.max(...seen.map((s) => s.activeUsers))).toBeLessThan(12);
  });
});
