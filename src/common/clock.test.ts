import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';

describe('FakeClock', () => {
  it('runs timers at their own instants, in due order (ties in the order set), only when time is advanced', async () => {
    const clock = new FakeClock(1_000);
    const ran: string[] = [];
    clock.setTimer(300, () => ran.push(`b@${clock.monotonicMs()}`));
    clock.setTimer(100, () => ran.push(`a@${clock.monotonicMs()}`));
    clock.setTimer(300, () => ran.push(`c@${clock.monotonicMs()}`));
    const cancelled = clock.setTimer(200, () => ran.push('never'));
    cancelled.cancel();
    expect(ran).toEqual([]);
    await clock.advance(250);
    expect(ran).toEqual(['a@100']);
    await clock.advance(250);
    expect(ran).toEqual(['a@100', 'b@300', 'c@300']);
    expect(clock.monotonicMs()).toBe(500);
    expect(clock.nowMs()).toBe(1_500);
    expect(clock.pending).toBe(0);
  });

  it('sleep resolves when time reaches it, and a timer set by a timer runs in the same advance when due', async () => {
    const clock = new FakeClock();
    const woke: number[] = [];
    void clock.sleep(50).then(() => {
      woke.push(clock.monotonicMs());
      clock.setTimer(20, () => woke.push(clock.monotonicMs()));
    });
    await clock.advance(100);
    expect(woke).toEqual([50, 70]);
  });
});
