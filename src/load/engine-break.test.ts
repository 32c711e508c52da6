// Stop-on-break with real workers: the jump to the recovery hold and the plain stop. What is asserted here holds on a
// busy host (whole seconds counted by the engine's own ticks, users and events, a lower bound on the hold), so the
// file runs with the other unit files, and its two runs side by side (each its own server; 2–6 users with 50-ms think
// wait, they do not load the CPU); the exact instants are asserted on fake time in engine-coordinator.test.ts.
import { describe, expect, it } from 'vitest';
import { runLoad, type EngineEvent, type SecondSample } from './engine.ts';
import { planShape } from './shapes/registry.ts';
import { RECOVERY_PHASE, type Timeline } from './shapes/types.ts';
import { startCapacityServer } from './testing/capacity-server.ts';
import { flow, see, type Seen } from './testing/engine-seen.ts';
import { allowTarget } from '../config/target.ts';

describe.concurrent('stop-on-break with a recovery hold', () => {
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
    // events are stamped with Date.now(), the hold is a timer on libuv's whole-millisecond loop time: read on the
    // wall clock it may end 1 ms early (2499 ms seen for 2500); fake time asserts it exactly (engine-coordinator.test.ts)
    expect((stop?.atMs ?? 0) - (brk?.atMs ?? 0)).toBeGreaterThanOrEqual(recovery.durationMs - 1);
  });

  it('without a recovery hold, the break stops the run as before', async () => {
    const { res, seen, events } = await run(ladder());
    expect(res.stoppedBy).toBe('break');
    expect(events.find((e) => e.kind === 'break')?.detail).toMatchObject({ recovery: false });
    expect(seen.some((s) => s.phase === RECOVERY_PHASE)).toBe(false);
    expect(Math.max(...seen.map((s) => s.activeUsers))).toBeLessThan(12);
  });
});
