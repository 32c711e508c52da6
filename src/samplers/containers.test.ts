import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ContainerInfo, ContainerRuntime } from '../stack/runtime/port.ts';
import { ContainerSampler } from './containers.ts';
import type { SamplerEvent } from './types.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./__fixtures__/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

function fakeRuntime(objects: Record<string, unknown>[]): Pick<ContainerRuntime, 'stats' | 'inspect'> {
  return {
    inspect: async (id) => ({ id, restartCount: 0, oomKilled: false, memoryLimitBytes: 536870912, cpuLimitCores: 2 }) as ContainerInfo,
    async *stats(_id, signal) {
      for (const o of objects) yield o;
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
}

describe('ContainerSampler', () => {
  it('caches the latest mapped sample per service from the stream and counts lifecycle events', async () => {
    const events: SamplerEvent[] = [];
    const sampler = new ContainerSampler({
      runtime: fakeRuntime([fixture('docker-stats-v1-a'), fixture('docker-stats-v1-b')]),
      targets: [{ service: 'app', containerId: 'c1' }],
      onEvent: (e) => events.push(e),
      now: () => Date.parse('2025-03-04T10:00:02Z'),
    });
    sampler.start();
    await new Promise((r) => setTimeout(r, 20));
    sampler.noteEvent({ action: 'oom', id: 'c1', name: 'app', labels: {}, timeMs: 0 });
    sampler.noteEvent({ action: 'die', id: 'c1', name: 'app', labels: {}, timeMs: 0 });
    sampler.noteEvent({ action: 'start', id: 'c1', name: 'app', labels: {}, timeMs: 0 });
    const s = sampler.sample();
    expect(Object.keys(s)).toEqual(['app']);
    expect(s.app!.cpuCores).toBeCloseTo(0.75);
    expect(s.app!.cpuLimitUtilization).toBeCloseTo(0.375);
    expect(s.app!.ageMs).toBe(1000);
    expect(s.app!.restarts).toBe(1);
    expect(s.app!.oomKills).toBe(1);
    await sampler.stop();
    expect(events).toEqual([]);
  });
});
