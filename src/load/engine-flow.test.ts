// Real worker threads against a fake ArchiveOrigin API: users enroll once and keep their token, follow the task mix
// and the think time, and the merged per-second histograms equal the raw latencies. Its wall-clock check, each user's
// rate within 15 % of duration / (mean think + mean latency), read 0.95–0.99 of the expected rate beside two or three
// CPU-heavy neighbour files (analysis suites) and 1.00 alone, so the file runs with the other unit files
// (vitest.config.ts); the capacity measurement, which needs the cores, stays in engine.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigObject } from '../config/load.ts';
import { runLoad, type SecondSample } from './engine.ts';
import { createLatencyHistogram, recordLatencyUs } from './histogram.ts';
import { planShape } from './shapes/registry.ts';
import { startFakeArchive, type FakeArchive } from './testing/fake-archive.ts';
import { allowTarget } from '../config/target.ts';

const archiveFlow = parseConfigObject(
  {
    flow: {
      onStart: [
        {
          name: 'enroll',
          method: 'POST',
          path: '/device/enroll',
          json: { device_id: 'device-{{randomInt 1 10000}}', device_token: 't' },
          capture: { token: 'enrollment_token' },
        },
      ],
      tasks: [
        {
          name: 'lock_proof',
          weight: 3,
          method: 'POST',
          path: '/lock-proof',
          headers: { Authorization: 'Bearer {{token}}' },
          json: { capture_id: 'capture-{{randomInt 1 100000}}', metadata: { timestamp: '{{now}}' } },
        },
        { name: 'health', weight: 1, path: '/health' },
        { name: 'ledger', weight: 2, path: '/ledger/entries', headers: { Authorization: 'Bearer {{token}}' } },
      ],
    },
    scenarios: { s: { shape: { kind: 'ramp', users: 1, duration: '1s' } } },
  },
  'test',
).flow;

let fake: FakeArchive | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('load engine against a fake ArchiveOrigin API', () => {
  it('users enroll once, use their token, follow the 3:1:2 mix and the think time; merged percentiles equal raw', async () => {
    fake = await startFakeArchive();
    const users = 100;
    const durationMs = 8_000;
    const thinkMinMs = 100;
    const thinkMaxMs = 200;
    const raw = new Map<string, number[]>();
    const merged = new Map<string, ReturnType<typeof createLatencyHistogram>>();
    const seconds: Pick<SecondSample, 'activeUsers' | 'phase'>[] = [];
    const res = await runLoad({
      flow: archiveFlow,
      target: allowTarget(fake.url, [], 'test'),
      timeline: planShape({ kind: 'ramp', users, rampUpMs: 0, durationMs }),
      thinkMinMs,
      thinkMaxMs,
      requestTimeoutMs: 5_000,
      workers: 2,
      keepRawLatencies: true,
      onRawLatencies: (name, us) => raw.set(name, [...(raw.get(name) ?? []), ...us]),
      onSecond: (s) => {
        seconds.push({ activeUsers: s.activeUsers, phase: s.phase });
        for (const [name, e] of s.endpoints) {
          if (!merged.has(name)) merged.set(name, createLatencyHistogram());
          merged.get(name)!.add(e.hist);
        }
      },
    });
    expect(res.stoppedBy).toBe('completed');
    expect(fake.enrolls).toBe(users);
    expect(fake.unauthorized).toBe(0);
    expect(fake.byToken.size).toBe(users);

    const lock = fake.counts['/lock-proof'] ?? 0;
    const health = fake.counts['/health'] ?? 0;
    const ledger = fake.counts['/ledger/entries'] ?? 0;
    const tasks = lock + health + ledger;
    expect(lock / tasks).toBeGreaterThan(0.5 * 0.9);
    expect(lock / tasks).toBeLessThan(0.5 * 1.1);
    expect(health / tasks).toBeGreaterThan((1 / 6) * 0.9);
    expect(health / tasks).toBeLessThan((1 / 6) * 1.1);
    expect(ledger / tasks).toBeGreaterThan((2 / 6) * 0.9);
    expect(ledger / tasks).toBeLessThan((2 / 6) * 1.1);

    // per-user rate ≈ 1 / (mean think + mean latency); tokens count every task except health
    const meanLatencyMs = (merged.get('lock_proof')?.mean ?? 0) / 1000;
    const expectedPerUser = (durationMs / ((thinkMinMs + thinkMaxMs) / 2 + meanLatencyMs)) * (5 / 6);
    const perUser = [...fake.byToken.values()];
    const meanPerUser = perUser.reduce((a, b) => a + b, 0) / perUser.length;
    expect(meanPerUser).toBeGreaterThan(expectedPerUser * 0.85);
    expect(meanPerUser).toBeLessThan(expectedPerUser * 1.15);
    expect(seconds.some((s) => s.activeUsers === users && s.phase === 'hold')).toBe(true);

    for (const name of ['lock_proof', 'health', 'ledger', 'enroll']) {
      const rawUs = raw.get(name) ?? [];
      const fromRaw = createLatencyHistogram();
      for (const us of rawUs) recordLatencyUs(fromRaw, us);
      const m = merged.get(name)!;
      expect(m.totalCount).toBe(rawUs.length);
      for (const p of [50, 90, 95, 99, 99.9, 100]) expect(m.getValueAtPercentile(p)).toBe(fromRaw.getValueAtPercentile(p));
    }
  });

  it('takes only a checked target: a non-loopback one is refused before any engine exists', () => {
    // runLoad's `target` is an AllowedTarget; the one check that makes one refuses this
    expect(() => allowTarget('http://example.invalid:8000', [], 'test')).toThrow(expect.objectContaining({ code: 'TARGET_NOT_ALLOWED' }));
  });
});
