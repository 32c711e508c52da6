import { describe, expect, it } from 'vitest';
import { HostSampler, type HostProbe } from './host.ts';

describe('HostSampler iowait', () => {
  it('is the iowait share of the /proc/stat jiffies between two refreshes; null on the first', async () => {
    const stats = [
      [100, 0, 50, 800, 50, 0, 0, 0],
      // +100 user, +0 nice, +50 system, +250 idle, +100 iowait: 100 / 500
      [200, 0, 100, 1050, 150, 0, 0, 0],
    ];
    const probe: HostProbe = {
      currentLoad: () => Promise.resolve({ currentLoad: 40, cpus: [{}, {}] }),
      mem: () => Promise.resolve({ total: 8e9, active: 2e9 }),
      procStatCpu: () => Promise.resolve(stats.shift()),
    };
    const h = new HostSampler({ probe });
    await h.refresh();
    expect(h.sample().host.iowaitRatio).toBeNull();
    await h.refresh();
    expect(h.sample().host.iowaitRatio).toBeCloseTo(0.2, 10);
  });
});
