// The kubernetes worker engine wired to a real cluster's API through the one adapter (docs/DISTRIBUTED.md,
// Kubernetes): the factory the coordinator's engine choice (`--engine kubernetes`) calls. The client library takes
// ≈ 1.5 s to import, so it is loaded by the first start(), never by merely registering the engine.
import { EngineUnavailableError } from '../common/errors.ts';
import type { KubeconfigOptions } from '../load/fleet/kubernetes-client.ts';
import { kubernetesEngine, type KubernetesEngineOptions } from '../load/fleet/kubernetes-engine.ts';
import type { WorkerEngine } from '../load/fleet/port.ts';

export type KubernetesEngineSettings = KubeconfigOptions & Omit<KubernetesEngineOptions, 'api'>;

/** The kubeconfig (as kubectl finds it, or the given file/context) is read at the first start(), then the cluster is called. */
export function createKubernetesEngine(settings: KubernetesEngineSettings = {}): WorkerEngine {
  let engine: Promise<WorkerEngine> | undefined;
  return {
    name: 'kubernetes',
    start: async (spec) => (await (engine ??= connect(settings))).start(spec),
  };
}

async function connect({ kubeconfigPath, context, ...engine }: KubernetesEngineSettings): Promise<WorkerEngine> {
  const { createKubernetesApi } = await import('../load/fleet/kubernetes-client.ts');
  try {
    return kubernetesEngine({ ...engine, api: createKubernetesApi({ ...(kubeconfigPath ? { kubeconfigPath } : {}), ...(context ? { context } : {}) }) });
  } catch (err) {
    throw new EngineUnavailableError(
      `kubernetes: cannot use the kubeconfig${kubeconfigPath ? ` ${kubeconfigPath}` : ''}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
