// The real adapter without a cluster: a kubeconfig naming a closed loopback port, so the client's first call is
// refused on this machine and nothing leaves it. Shows the failure a user sees when the cluster is unreachable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineUnavailableError } from '../common/errors.ts';
import { freePort } from '../stack/testing/runtime.ts';
import { createKubernetesEngine } from './fleet-kubernetes.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadscope-kube-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function kubeconfig(): Promise<string> {
  const port = await freePort(); // free = nothing listens: every connection is refused
  const path = join(dir, `config-${port}`);
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Config\nclusters: [{ name: none, cluster: { server: "https://127.0.0.1:${port}" } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: c, context: { cluster: none, user: u } }]\ncurrent-context: c\n`,
  );
  return path;
}

describe('createKubernetesEngine (the client adapter, no cluster)', () => {
  it('an unreachable API server: start fails as engine unavailable (exit 3), naming the namespace', async () => {
    const engine = createKubernetesEngine({ kubeconfigPath: await kubeconfig(), namespace: 'perf' });
    expect(engine.name).toBe('kubernetes');
    const started = engine.start({ runId: 'r1', count: 2, coordinatorUrl: 'http://127.0.0.1:1', token: 't', deadlineEpochMs: Date.now() + 60_000 });
    await expect(started).rejects.toBeInstanceOf(EngineUnavailableError);
    await expect(started).rejects.toThrow(/could not start the workers in namespace perf: .*ECONNREFUSED/);
  });

  it('a kubeconfig that cannot be read, or an unknown context: engine unavailable at start, before anything is sent', async () => {
    const spec = { runId: 'r1', count: 1, coordinatorUrl: 'http://127.0.0.1:1', token: 't', deadlineEpochMs: Date.now() + 60_000 };
    const missing = createKubernetesEngine({ kubeconfigPath: join(dir, 'missing') }); // registering reads nothing yet
    await expect(missing.start(spec)).rejects.toBeInstanceOf(EngineUnavailableError);
    await expect(missing.start(spec)).rejects.toThrow(/cannot use the kubeconfig .*missing/);
    await expect(createKubernetesEngine({ kubeconfigPath: await kubeconfig(), context: 'nope' }).start(spec)).rejects.toBeInstanceOf(EngineUnavailableError);
  });
});
