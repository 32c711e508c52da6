import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { realClock, type Clock } from '../common/clock.ts';
import { SamplingScheduler } from './scheduler.ts';
import type { GeneratorSample, HostSample, PostgresSample, SampleSnapshot, SamplerEvent } from './types.ts';

// the real clock's timers, driven by vitest's fake timers
const fakeClock: Clock = realClock;
const host = {
  sample: (): { host: HostSample; generator: GeneratorSample } => ({
    host: { cpuUtilization: 0.2, cpuCount: 4, memoryUsedBytes: 1, memoryTotalBytes: 2, refreshDurationMs: 3 },
    generator: { cpuCores: 0.1, memoryRssBytes: 100 },
  }),
};

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-04T10:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SamplingScheduler', () => {
  it('ticks every interval and delivers snapshots with containers, postgres, host and generator', async () => {
    const snaps: SampleSnapshot[] = [];
    const sched = new SamplingScheduler({
      clock: fakeClock,
      host,
      containers: { sample: () => ({}) },
      postgres: { sample: async () => null },
      onSample: (s) => snaps.push(s),
    });
    sched.start();
    await vi.advanceTimersByTimeAsync(3000);
    await sched.stop();
    expect(snaps.map((s) => s.tMs - Date.parse('2025-03-04T10:00:00Z'))).toEqual([1000, 2000, 3000]);
    expect(snaps[0]!.host.cpuUtilization).toBe(0.2);
    expect(snaps[0]!.sampler.timings).toHaveProperty('postgres');
  });

  it('skips (never stacks) a tick while the previous one is still running, and counts it', async () => {
    const snaps: SampleSnapshot[] = [];
    const events: SamplerEvent[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const slowPg = {
      sample: async (): Promise<PostgresSample | null> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2500)); // spans two due times
        inFlight--;
        return null;
      },
    };
    const sched = new SamplingScheduler({ clock: fakeClock, host, postgres: slowPg, onSample: (s) => snaps.push(s), onEvent: (e) => events.push(e) });
    sched.start();
    await vi.advanceTimersByTimeAsync(1000 + 2500 + 10);
    expect(maxInFlight).toBe(1);
    expect(sched.skippedTicks).toBe(2); // due at 2000 and 3000 while the 1000 tick ran
    expect(events.filter((e) => e.kind === 'tick_skipped')).toHaveLength(1); // one event per streak
    await vi.advanceTimersByTimeAsync(500); // 4000: runs again
    expect(inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(2500);
    await sched.stop();
    expect(snaps[0]!.sampler.timings.postgres!.durationMs).toBe(2500);
    expect(snaps.at(-1)!.sampler.skippedTicks).toBeGreaterThanOrEqual(2);
  });

  it('turns a sampler error into an event and keeps sampling', async () => {
    const snaps: SampleSnapshot[] = [];
    const events: SamplerEvent[] = [];
    let calls = 0;
    const sched = new SamplingScheduler({
      clock: fakeClock,
      host,
      containers: {
        sample: () => {
          if (++calls === 1) throw new Error('docker gone');
          return {};
        },
      },
      postgres: { sample: async () => Promise.reject(new Error('boom')) },
      onSample: (s) => snaps.push(s),
      onEvent: (e) => events.push(e),
    });
    sched.start();
    await vi.advanceTimersByTimeAsync(2000);
    await sched.stop();
    expect(snaps).toHaveLength(2);
    expect(snaps[0]!.sampler.timings.containers!.ok).toBe(false);
    expect(snaps[1]!.sampler.timings.containers!.ok).toBe(true);
    expect(events.filter((e) => e.kind === 'sampler_error').map((e) => e.sampler)).toEqual(['containers', 'postgres', 'postgres']);
    expect(events[0]!.message).toContain('docker gone');
  });

  it('measures lag when the event loop delivers the timer late', async () => {
    const snaps: SampleSnapshot[] = [];
    const clock: Clock = { ...fakeClock, nowMs: () => Date.now() + lateBy };
    let lateBy = 0;
    const sched = new SamplingScheduler({ clock, host, onSample: (s) => snaps.push(s) });
    sched.start();
    await vi.advanceTimersByTimeAsync(1000);
    lateBy = 120; // the next timer fires, but the clock says we are 120 ms past due
    await vi.advanceTimersByTimeAsync(1000);
    await sched.stop();
    expect(snaps[0]!.sampler.lagMs).toBe(0);
    expect(snaps[1]!.sampler.lagMs).toBe(120);
  });

  it('does not keep anything per tick', async () => {
    let n = 0;
    const sched = new SamplingScheduler({ clock: fakeClock, host, onSample: () => n++ });
    sched.start();
    await vi.advanceTimersByTimeAsync(100_000);
    await sched.stop();
    expect(n).toBe(100);
    expect(Object.values(sched).filter(Array.isArray)).toEqual([]);
  });
});
