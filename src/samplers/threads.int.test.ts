// The busiest thread through the real container sampler on the real engine (docs/ANALYSIS.md, Bottlenecks: a
// thread): a container spinning one shell loop has a thread runnable the whole second, whatever else the host runs;
// a sleeping one has none. Known answers: runnable ≥ 95 % and ≤ 5 %.
import { afterAll, describe, expect, it } from 'vitest';
import { LABEL_MANAGED, LABEL_RUN } from '../stack/labels.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { leftovers, realRuntime, uniqueRunId } from '../stack/testing/runtime.ts';
import { ContainerSampler } from './containers.ts';

const runId = uniqueRunId('it-threads');
let runtime: ContainerRuntime;
const ids: string[] = [];

async function container(name: string, script: string): Promise<string> {
  const id = await runtime.create({
    name: `loadscope-${runId}-${name}`,
    image: 'loadscope/postgres:15',
    entrypoint: ['sh', '-c', script],
    env: {},
    labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId },
    networkMode: 'host',
    binds: [],
  });
  ids.push(id);
  await runtime.start(id);
  return id;
}

afterAll(async () => {
  await Promise.all(ids.map((id) => runtime.remove(id)));
  expect(await leftovers(runtime, runId)).toEqual([]);
});

describe('the busiest thread of a real container', () => {
  it('a spinning loop is runnable the whole second; a sleeping container is not', async () => {
    runtime = await realRuntime();
    // the spin is bounded: it ends with the container's 60-s sleep, and the container is removed after the test
    const spin = await container('spin', 'timeout 60 sh -c "while :; do :; done" & sleep 60');
    const idle = await container('idle', 'sleep 60');
    const sampler = new ContainerSampler({
      runtime,
      targets: [
        { service: 'spin', containerId: spin },
        { service: 'idle', containerId: idle },
      ],
    });
    sampler.start();
    const seen: { spin?: number | null; spinCores?: number | null; idle?: number | null }[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const s = sampler.sample();
        seen.push({ spin: s.spin?.busiestThreadRunnable, spinCores: s.spin?.busiestThreadCores, idle: s.idle?.busiestThreadRunnable });
      }
    } finally {
      await sampler.stop();
    }
    const last = seen.slice(-3);
    for (const x of last) {
      expect(x.spin, JSON.stringify(seen)).toBeGreaterThanOrEqual(0.95);
      expect(x.spinCores, JSON.stringify(seen)).toBeGreaterThan(0);
      expect(x.idle, JSON.stringify(seen)).toBeLessThanOrEqual(0.05);
    }
  });
});
