import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeContainerRuntime } from '../stack/testing/fake-runtime.ts';
import { REPO_ROOT } from './generate.ts';
import { observabilityImages } from './observe.ts';

const compose = join(REPO_ROOT, 'compose', 'observability.yml');

describe('observabilityImages', () => {
  it('reports missing images without starting anything', async () => {
    const r = await observabilityImages(new FakeContainerRuntime({ images: ['prom/prometheus:v2.42.0'] }), compose);
    expect(r.images.map((i) => [i.service, i.present])).toEqual([
      ['prometheus', true],
      ['grafana', false],
    ]);
    expect(r.ready).toBe(false);
    expect(r.missing).toEqual([expect.stringMatching(/^grafana\/grafana:/)]);
  });

  it('is ready when both images are present', async () => {
    const r = await observabilityImages(new FakeContainerRuntime({ images: ['prom/prometheus:v2.42.0', 'grafana/grafana:11.6.0'] }), compose);
    expect(r.ready).toBe(true);
  });
});
