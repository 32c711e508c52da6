import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectCgroup, mapDockerStats, workingSetBytes } from './docker-stats-map.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./__fixtures__/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const base = { service: 'app', containerId: 'c1', restarts: 0, oomKills: 0 };

describe('mapDockerStats, cgroup v1 (Docker 20.10)', () => {
  const a = fixture('docker-stats-v1-a');
  const b = fixture('docker-stats-v1-b');
  const s = mapDockerStats(b, {
    ...base,
    limits: { memoryLimitBytes: 536870912, cpuLimitCores: 1.5 },
    previous: a,
    nowMs: Date.parse('2025-03-04T10:00:01.500Z'),
  })!;

  it('detects v1 and computes CPU cores from two consecutive samples', () => {
    expect(detectCgroup(b)).toBe('v1');
    expect(s.cgroup).toBe('v1');
    expect(s.cpuCores).toBeCloseTo(0.75, 9); // 0.75e9 ns over 1 s
    expect(s.cpuLimitUtilization).toBeCloseTo(0.5, 9);
    expect(s.cpuUserSeconds).toBeCloseTo(3.7);
    expect(s.cpuSystemSeconds).toBeCloseTo(2.05);
    expect(s.ageMs).toBe(500);
  });
  it('uses the docker stats formula against precpu when there is no previous sample', () => {
    const first = mapDockerStats(b, { ...base, limits: {}, nowMs: 0 })!;
    expect(first.cpuCores).toBeCloseTo(0.75, 9); // 0.75e9 / 4e9 × 4 online CPUs
    expect(first.cpuLimitUtilization).toBeNull();
    // The first object of a stream has an empty precpu: no CPU value rather than a bogus one.
    expect(mapDockerStats(fixture('docker-stats-v1-first'), { ...base, limits: {}, nowMs: 0 })!.cpuCores).toBeNull();
  });
  it('reports throttling counters and the throttled share of periods', () => {
    expect(s.throttlingPeriods).toBe(1010);
    expect(s.throttledPeriods).toBe(103);
    expect(s.throttledSeconds).toBeCloseTo(2.56);
    expect(s.throttledRatio).toBeCloseTo(0.3); // 3 of 10 periods
  });
  it('working set = usage − total_inactive_file, rss = total_rss, limit from inspect', () => {
    expect(s.memoryUsageBytes).toBe(268435456);
    expect(s.memoryWorkingSetBytes).toBe(268435456 - 67108864);
    expect(s.memoryRssBytes).toBe(150994944);
    expect(s.memoryLimitBytes).toBe(536870912);
    expect(s.memoryAvailableBytes).toBe(536870912 - 201326592);
  });
  it('sums network over interfaces and blkio Read/Write only (not Sync/Async/Total)', () => {
    expect(s.networkRxBytes).toBe(123456789 + 1000);
    expect(s.networkTxBytes).toBe(98765432 + 2000);
    expect(s.blockReadBytes).toBe(10485760 + 1048576);
    expect(s.blockWriteBytes).toBe(20971520 + 2097152);
    expect(s.pids).toBe(23);
  });
});

describe('mapDockerStats, cgroup v2', () => {
  const a = fixture('docker-stats-v2-a');
  const b = fixture('docker-stats-v2-b');
  const s = mapDockerStats(b, { ...base, limits: {}, previous: a, nowMs: Date.parse('2025-03-04T10:00:01Z') })!;

  it('computes CPU, working set (inactive_file), rss (anon), throttling', () => {
    expect(s.cgroup).toBe('v2');
    expect(s.cpuCores).toBeCloseTo(1.5, 9);
    expect(s.memoryWorkingSetBytes).toBe(157286400 - 31457280);
    expect(s.memoryRssBytes).toBe(94371840);
    expect(s.throttledSeconds).toBeCloseTo(0.04);
    expect(s.throttledRatio).toBeCloseTo(0.5);
  });
  it('has no limit without one in inspect, no network with host networking, lowercase blkio ops', () => {
    expect(s.memoryLimitBytes).toBeNull(); // stats "limit" is not trusted: it is host RAM when unlimited
    expect(s.memoryAvailableBytes).toBeNull();
    expect(s.networkRxBytes).toBeNull();
    expect(s.blockReadBytes).toBe(5242880);
    expect(s.blockWriteBytes).toBe(7340032);
  });
});

describe('edge cases', () => {
  it('returns null for a stopped container object and floors the working set at 0', () => {
    expect(mapDockerStats({ read: '0001-01-01T00:00:00Z', id: 'x', name: '/x' }, { ...base, limits: {}, nowMs: 0 })).toBeNull();
    expect(workingSetBytes({ usage: 100, stats: { total_inactive_file: 150 } })).toBe(0);
    expect(workingSetBytes({ usage: 100, stats: {} })).toBe(100);
  });
});
