import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { FakeContainerRuntime } from './testing/fake-runtime.ts';
import { reapOrphans } from './reaper.ts';

const labels = (pid: number, extra: Record<string, string> = {}) => ({
  'loadscope.managed': 'true',
  'loadscope.owner-pid': String(pid),
  'loadscope.owner-host': hostname(),
  ...extra,
});

describe('reapOrphans', () => {
  it('removes managed containers whose owner process is gone, and nothing else', async () => {
    const fake = new FakeContainerRuntime();
    fake.addContainer({ name: 'crashed', labels: labels(111) });
    fake.addContainer({ name: 'live', labels: labels(222) });
    fake.addContainer({ name: 'up-on-purpose', labels: labels(111, { 'loadscope.detached': 'true' }) });
    fake.addContainer({ name: 'other-host', labels: { ...labels(111), 'loadscope.owner-host': 'elsewhere' } });
    fake.addContainer({ name: 'not-ours', labels: { 'loadscope.owner-pid': '111' } });
    const removed = await reapOrphans(fake, (pid) => pid === 222);
    expect(removed).toEqual(['crashed']);
    expect((await fake.list({})).map((c) => c.name).sort()).toEqual(['live', 'not-ours', 'other-host', 'up-on-purpose']);
  });
});
