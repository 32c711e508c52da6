// The port the kubernetes engine talks through (docs/DISTRIBUTED.md, Kubernetes): the few calls it needs, in our
// words. The one adapter over @kubernetes/client-node (kubernetes-client.ts) implements it against a cluster; unit
// tests implement it with an in-memory fake. Deletes of something already gone resolve (the engine's stop is idempotent).
import type { V1Job, V1Secret, V1Service } from './kubernetes-client.ts';

/** Kubernetes sets this label (1.28+) and annotation on each pod of an Indexed Job. Here, not in the adapter, so
 * that the manifest builder and `loadscope k8s manifest` never load the client (≈ 1.5 s to import). */
export const K8S_COMPLETION_INDEX_KEY = 'batch.kubernetes.io/job-completion-index';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** One pod of a worker Job, as the engine needs to see it. */
export interface WorkerPod {
  name: string;
  /** the pod's completion index (the Job sets it as JOB_COMPLETION_INDEX); undefined when the pod carries none */
  index?: number;
  phase: PodPhase;
  /** the worker container's exit code, once it terminated */
  exitCode?: number;
  /** the container's or pod's reason, e.g. OOMKilled, DeadlineExceeded, Error */
  reason?: string;
  /** why the container has not started yet, e.g. ImagePullBackOff, CreateContainerConfigError */
  waitingReason?: string;
}

/** The owning Job, as an owner reference names it. */
export interface JobOwner {
  name: string;
  uid: string;
}

/** metadata.ownerReferences of an object the Job owns (the garbage collector deletes it after the Job). */
export const jobOwnerReferences = (o: JobOwner): Array<{ apiVersion: string; kind: string; name: string; uid: string }> => [
  { apiVersion: 'batch/v1', kind: 'Job', name: o.name, uid: o.uid },
];

export interface KubernetesApi {
  createSecret(namespace: string, secret: V1Secret): Promise<void>;
  deleteSecret(namespace: string, name: string): Promise<void>;
  createService(namespace: string, service: V1Service): Promise<void>;
  deleteService(namespace: string, name: string): Promise<void>;
  /** creates the Job; resolves with the uid the API server gave it (owner references name it) */
  createJob(namespace: string, job: V1Job): Promise<{ uid: string }>;
  /**
   * makes the Job the owner of a Secret or Service (merge patch of metadata.ownerReferences), so the cluster's
   * garbage collector removes it with the Job — when its TTL ends it, or someone deletes it — even if the coordinator
   * that created them is gone
   */
  setOwner(namespace: string, kind: 'Secret' | 'Service', name: string, owner: JobOwner): Promise<void>;
  /** deletes the Job and, in the foreground, its pods */
  deleteJob(namespace: string, name: string): Promise<void>;
  /** the pods that match a label selector, e.g. `job-name=loadscope-worker-…` */
  listPods(namespace: string, labelSelector: string): Promise<WorkerPod[]>;
  deletePod(namespace: string, name: string): Promise<void>;
}
