// The one adapter over @kubernetes/client-node (lint refuses the import anywhere else): the KubernetesApi port
// against a real cluster (kubeconfig as kubectl finds it), the client's types for the manifest builder, and a check of
// plain objects against the OpenAPI-generated models the client ships. Never run against a cluster here
// (docs/DISTRIBUTED.md, Kubernetes): the engine is tested through the port with a fake.
import * as k8s from '@kubernetes/client-node';
import { K8S_COMPLETION_INDEX_KEY, type KubernetesApi, type PodPhase, type WorkerPod } from './kubernetes-api.ts';

export type { V1ConfigMap, V1Job, V1Pod, V1Secret, V1Service, V1ResourceRequirements } from '@kubernetes/client-node';

export interface KubeconfigOptions {
  /** a kubeconfig file; default: $KUBECONFIG, ~/.kube/config or the in-cluster service account */
  kubeconfigPath?: string;
  context?: string;
}

/** The port over the client's API objects; 404 on delete counts as done. */
export function createKubernetesApi(opts: KubeconfigOptions = {}): KubernetesApi {
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else kc.loadFromDefault();
  if (opts.context) kc.setCurrentContext(opts.context);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  return {
    createSecret: async (namespace, body) => void (await core.createNamespacedSecret({ namespace, body })),
    deleteSecret: (namespace, name) => ignoreNotFound(core.deleteNamespacedSecret({ namespace, name })),
    createService: async (namespace, body) => void (await core.createNamespacedService({ namespace, body })),
    deleteService: (namespace, name) => ignoreNotFound(core.deleteNamespacedService({ namespace, name })),
    createJob: async (namespace, body) => void (await batch.createNamespacedJob({ namespace, body })),
    deleteJob: (namespace, name) => ignoreNotFound(batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Foreground' })),
    listPods: async (namespace, labelSelector) => (await core.listNamespacedPod({ namespace, labelSelector })).items.map(workerPod),
    deletePod: (namespace, name) => ignoreNotFound(core.deleteNamespacedPod({ namespace, name })),
  };
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return;
    throw err;
  }
}

const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

/** A client pod in the port's words: index from the Indexed Job's label (or annotation), exit from the first container. */
export function workerPod(pod: k8s.V1Pod): WorkerPod {
  const meta = pod.metadata ?? {};
  const rawIndex = meta.labels?.[K8S_COMPLETION_INDEX_KEY] ?? meta.annotations?.[K8S_COMPLETION_INDEX_KEY];
  const index = rawIndex !== undefined && /^\d+$/.test(rawIndex) ? Number(rawIndex) : undefined;
  const phase = PHASES.find((p) => p === pod.status?.phase) ?? 'Unknown';
  const state = pod.status?.containerStatuses?.[0]?.state;
  const terminated = state?.terminated;
  const reason = terminated?.reason ?? pod.status?.reason;
  const waitingReason = state?.waiting?.reason;
  return {
    name: meta.name ?? '',
    index,
    phase,
    ...(terminated ? { exitCode: terminated.exitCode } : {}),
    ...(reason ? { reason } : {}),
    ...(waitingReason ? { waitingReason } : {}),
  };
}

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

/** The OpenAPI model of `typeName` as the client generated it (its attribute names, types and formats). */
function modelAttributes(typeName: string): readonly Attribute[] | undefined {
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[typeName];
  return typeof model?.getAttributeTypeMap === 'function' ? model.getAttributeTypeMap() : undefined;
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Problems of a plain object (e.g. parsed from our YAML) against the client's OpenAPI-generated model `typeName`
 * (V1Job, V1Service, …): unknown fields (as the API server's strict field validation refuses them), wrong types,
 * non-integers in int32/int64 fields. Required fields are the TypeScript types' job (the builder returns V1Job).
 */
export function openApiProblems(value: unknown, typeName: string, path = typeName): string[] {
  const wrong = (want: string): string[] => [`${path}: expected ${want}, got ${Array.isArray(value) ? 'array' : typeof value}`];
  if (typeName === 'any') return [];
  if (typeName === 'string' || typeName === 'boolean') return typeof value === typeName ? [] : wrong(typeName);
  if (typeName === 'number') return typeof value === 'number' && Number.isFinite(value) ? [] : wrong('number');
  if (typeName === 'IntOrString') return typeof value === 'string' || Number.isInteger(value) ? [] : wrong('int or string');
  if (typeName === 'Date') return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? [] : wrong('date-time');
  const array = ARRAY.exec(typeName);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => openApiProblems(v, array[1] ?? '', `${path}[${i}]`)) : wrong('array');
  const map = MAP.exec(typeName);
  if (map) return isObject(value) ? Object.entries(value).flatMap(([k, v]) => openApiProblems(v, map[1] ?? '', `${path}.${k}`)) : wrong('object');
  const attributes = modelAttributes(typeName);
  if (!attributes) return [`${path}: unknown OpenAPI type ${typeName}`];
  if (!isObject(value)) return wrong(typeName);
  return Object.entries(value).flatMap(([key, v]) => {
    const attr = attributes.find((a) => a.baseName === key);
    if (!attr) return [`${path}.${key}: unknown field of ${typeName}`];
    const integer = (attr.format === 'int32' || attr.format === 'int64') && typeof v === 'number' && !Number.isInteger(v);
    return integer ? [`${path}.${key}: expected ${attr.format}, got ${v}`] : openApiProblems(v, attr.type, `${path}.${key}`);
  });
}
