import { describe, expect, it } from 'vitest';
import { FakeContainerRuntime } from './testing/fake-runtime.ts';
import type { Clock } from '../common/clock.ts';
import { waitForContainer, WaitError } from './wait.ts';

function fakeClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return { slept, nowMs: () => t, monotonicMs: () => t, setTimer: () => ({ cancel() {} }), sleep: async (ms) => void (slept.push(ms), (t += ms)) };
}

async function started(fake: FakeContainerRuntime, withHealthcheck: boolean): Promise<string> {
  fake.addImage('img');
  const healthcheck = { test: ['CMD', 'true'], intervalMs: 1000, timeoutMs: 1000, retries: 3, startPeriodMs: 0 };
  const id = await fake.create({ name: 'c', image: 'img', env: {}, labels: {}, networkMode: 'host', binds: [], ...(withHealthcheck && { healthcheck }) });
  await fake.start(id);
  return id;
}

describe('waitForContainer', () => {
  it('polls every 250 ms until healthy', async () => {
    const fake = new FakeContainerRuntime();
    fake.script('c', { health: ['starting', 'starting', 'healthy'] });
    const clock = fakeClock();
    const info = await waitForContainer(fake, await started(fake, true), 'ready', { timeoutMs: 10_000, clock });
    expect(info.health).toBe('healthy');
    expect(clock.slept).toEqual([250, 250]);
  });

  it('treats a running container without healthcheck as ready, but not as healthy', async () => {
    const fake = new FakeContainerRuntime();
    const id = await started(fake, false);
    await expect(waitForContainer(fake, id, 'ready', { timeoutMs: 1000, clock: fakeClock() })).resolves.toMatchObject({ state: 'running' });
    await expect(waitForContainer(fake, id, 'healthy', { timeoutMs: 1000, clock: fakeClock() })).rejects.toThrow(/no healthcheck/);
  });

  it('fails fast on exit and on unhealthy, and on the deadline', async () => {
    const exits = new FakeContainerRuntime();
    exits.script('c', { health: ['starting'], exitOnInspect: 3, exitCode: 1, oomKilled: true });
    await expect(waitForContainer(exits, await started(exits, true), 'ready', { timeoutMs: 60_000, clock: fakeClock() })).rejects.toThrow(
      'exited with code 1 (OOM-killed) before becoming healthy',
    );
    const sick = new FakeContainerRuntime();
    sick.script('c', { health: ['starting', 'unhealthy'] });
    await expect(waitForContainer(sick, await started(sick, true), 'ready', { timeoutMs: 60_000, clock: fakeClock(), retries: 3 })).rejects.toThrow(
      new WaitError('unhealthy after 3 retries'),
    );
    const slow = new FakeContainerRuntime();
    slow.script('c', { health: ['starting'] });
    const clock = fakeClock();
    await expect(waitForContainer(slow, await started(slow, true), 'ready', { timeoutMs: 1000, clock })).rejects.toThrow(
      'not healthy within 1000 ms (health starting)',
    );
    expect(clock.nowMs()).toBe(1000);
  });

  it('waits for completion with exit code 0', async () => {
    const ok = new FakeContainerRuntime();
    ok.script('c', { exitOnInspect: 2, exitCode: 0 });
    await expect(waitForContainer(ok, await started(ok, false), 'completed', { timeoutMs: 5000, clock: fakeClock() })).resolves.toMatchObject({ exitCode: 0 });
    const bad = new FakeContainerRuntime();
    bad.script('c', { exitOnInspect: 1, exitCode: 3 });
    await expect(waitForContainer(bad, await started(bad, false), 'completed', { timeoutMs: 5000, clock: fakeClock() })).rejects.toThrow('exited with code 3');
  });
});
