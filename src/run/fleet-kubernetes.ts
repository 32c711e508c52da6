// The kubernetes worker engine wired to a real cluster's API through the one adapter (docs/DISTRIBUTED.md,
// Kubernetes): the factory the coordinator's engine choice (`--engine kubernetes`) calls.
import { EngineUnavailableError } from '../common/errors.ts';
import { createKubernetesApi, type KubeconfigOptions } from '../load/fleet/kubernetes-client.ts';
import { kubernetesEngine, type KubernetesEngineOptions } from '../load/fleet/kubernetes-engine.ts';
import type { WorkerEngine } from '../load/fleet/port.ts';

export type KubernetesEngineSettings = KubeconfigOptions & Omit<KubernetesEngineOptions, 'api'>;

/** Reads the kubeconfig (as kubectl does, or the given file/context) now; the cluster is first contacted by start(). */
export function createKubernetesEngine(settings: KubernetesEngineSettings = {}): WorkerEngine {
  const { kubeconfigPath, context, ...engine } = settings;
  try {
    return kubernetesEngine({ ...engine, api: createKubernetesApi({ ...(kubeconfigPath ? { kubeconfigPath } : {}), ...(context ? { context } : {}) }) });
  } catch (err) {
    throw new EngineUnavailableError(`kubernetes: cannot use the kubeconfig${kubeconfigPath ? ` ${kubeconfigPath}` : ''}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
