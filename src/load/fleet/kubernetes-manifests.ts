// The kubernetes engine's objects, pure (docs/DISTRIBUTED.md, Kubernetes): an Indexed Job of N workers, the per-run
// token in a Secret, and a Service for a coordinator that runs in the cluster. The engine creates them through the
// KubernetesApi port; `loadscope k8s manifest` prints the same objects as YAML for kubectl apply / GitOps.
import { stringify } from 'yaml';
import { LABEL_MANAGED, LABEL_PROJECT, LABEL_RUN } from '../../stack/labels.ts';
import {
  DEFAULT_NAMESPACE,
  DEFAULT_WORKER_IMAGE,
  FLEET_LABEL_ROLE,
  FLEET_ROLE_WORKER,
  WORKER_ARGS,
  WORKER_COORDINATOR_ENV,
  WORKER_INDEX_ENV,
  WORKER_START_ALLOWANCE_ENV,
  WORKER_TOKEN_ENV,
} from './port.ts';
import { K8S_COMPLETION_INDEX_KEY } from './kubernetes-api.ts';
// types only: erased, so building manifests never loads the client library
import type { V1ConfigMap, V1Job, V1ResourceRequirements, V1Secret, V1Service } from './kubernetes-client.ts';

export const FLEET_ROLE_COORDINATOR = 'coordinator';
// defined with the other fleet defaults in port.ts, which the CLI's start loads without this module's YAML library
export { DEFAULT_COORDINATOR_PORT, DEFAULT_NAMESPACE, DEFAULT_WORKER_IMAGE } from './port.ts';
/** Requests = limits: Guaranteed QoS, so a worker is neither throttled below its request nor evicted first. */
export const DEFAULT_WORKER_RESOURCES: V1ResourceRequirements = { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } };
/** Kubernetes ends the Job this long after the workers' own deadline: they stop by themselves first. */
export const JOB_DEADLINE_GRACE_SECONDS = 30;
/** Finished Jobs (and their pods) stay this long for `kubectl logs`, then Kubernetes removes them. */
export const JOB_TTL_AFTER_FINISHED_SECONDS = 600;
/** The Secret's key holding the per-run token. */
export const TOKEN_SECRET_KEY = 'token';
const WORKER_CONTAINER = 'worker';

export interface WorkerManifestSpec {
  runId: string;
  count: number;
  token: string;
  /** where the workers reach the coordinator; in the cluster: inClusterCoordinatorUrl() */
  coordinatorUrl: string;
  /** the coordinator runs in the cluster: a Service selects its pod (labels: run id + role coordinator) */
  coordinatorService?: { port: number };
  /** from the run's deadline: jobDeadlineSeconds() */
  activeDeadlineSeconds: number;
  /** the coordinator's wait for first contact (FleetSpec.startAllowanceMs); a static manifest leaves the worker's default */
  startAllowanceMs?: number;
  namespace?: string;
  image?: string;
  project?: string;
  resources?: V1ResourceRequirements;
}

export interface WorkerManifests {
  namespace: string;
  secret: V1Secret;
  job: V1Job;
  service?: V1Service;
  /** `k8s manifest` with the coordinator in the cluster: its config and its Job (kubernetes-coordinator.ts) */
  coordinator?: { configMap: V1ConfigMap; job: V1Job };
}

export interface FleetObjectNames {
  job: string;
  secret: string;
  service: string;
  configMap: string;
  coordinatorJob: string;
}

/** DNS-1123 names of one run's objects (lowercase, ≤ 63 with the pod suffix Kubernetes adds). */
export function fleetObjectNames(runId: string): FleetObjectNames {
  const suffix =
    runId
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .slice(-30)
      .replace(/^-+|-+$/g, '') || 'run';
  return {
    job: `loadscope-worker-${suffix}`,
    secret: `loadscope-token-${suffix}`,
    service: `loadscope-coord-${suffix}`,
    configMap: `loadscope-config-${suffix}`,
    coordinatorJob: `loadscope-coordinator-${suffix}`,
  };
}

/** The URL of the coordinator Service inside the cluster, for FleetSpec.coordinatorUrl when the coordinator runs there. */
export function inClusterCoordinatorUrl(runId: string, namespace: string, port: number): string {
  return `http://${fleetObjectNames(runId).service}.${namespace}.svc:${port}`;
}

/** A label value Kubernetes accepts: ≤ 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
export function labelValue(s: string): string {
  return s
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(-63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** Seconds from now to the workers' deadline, plus the grace: the Job's activeDeadlineSeconds (at least 1). */
export function jobDeadlineSeconds(deadlineEpochMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((deadlineEpochMs - nowMs) / 1000) + JOB_DEADLINE_GRACE_SECONDS);
}

export function fleetLabels(runId: string, project: string, role: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: labelValue(runId), [LABEL_PROJECT]: labelValue(project), [FLEET_LABEL_ROLE]: role };
}

export function buildWorkerManifests(spec: WorkerManifestSpec): WorkerManifests {
  if (!Number.isInteger(spec.count) || spec.count < 1) throw new RangeError(`workers must be a positive integer, got ${spec.count}`);
  if (!Number.isInteger(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds < 1)
    throw new RangeError(`activeDeadlineSeconds must be ≥ 1, got ${spec.activeDeadlineSeconds}`);
  const namespace = spec.namespace ?? DEFAULT_NAMESPACE;
  const project = spec.project ?? 'loadscope';
  const names = fleetObjectNames(spec.runId);
  const service = spec.coordinatorService
    ? coordinatorService(names.service, namespace, fleetLabels(spec.runId, project, FLEET_ROLE_COORDINATOR), spec.coordinatorService.port)
    : undefined;
  const workerLabels = fleetLabels(spec.runId, project, FLEET_ROLE_WORKER);
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: names.secret, namespace, labels: workerLabels },
    type: 'Opaque',
    stringData: { [TOKEN_SECRET_KEY]: spec.token },
  };
  const job = workerJob({ ...spec, namespace, jobName: names.job, secretName: names.secret, labels: workerLabels });
  return { namespace, secret, job, ...(service ? { service } : {}) };
}

interface JobInput extends WorkerManifestSpec {
  namespace: string;
  jobName: string;
  secretName: string;
  labels: Record<string, string>;
}

function workerJob(o: JobInput): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.jobName, namespace: o.namespace, labels: o.labels },
    spec: {
      completionMode: 'Indexed',
      completions: o.count,
      parallelism: o.count,
      // one failed worker fails the run (the coordinator marks it partial); Kubernetes must not start a second one
      backoffLimit: 0,
      activeDeadlineSeconds: o.activeDeadlineSeconds,
      ttlSecondsAfterFinished: JOB_TTL_AFTER_FINISHED_SECONDS,
      template: {
        metadata: { labels: o.labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [
            {
              name: WORKER_CONTAINER,
              image: o.image ?? DEFAULT_WORKER_IMAGE,
              args: [...WORKER_ARGS],
              env: [
                { name: WORKER_COORDINATOR_ENV, value: o.coordinatorUrl },
                { name: WORKER_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${K8S_COMPLETION_INDEX_KEY}']` } } },
                { name: WORKER_TOKEN_ENV, valueFrom: { secretKeyRef: { name: o.secretName, key: TOKEN_SECRET_KEY } } },
                ...(o.startAllowanceMs !== undefined ? [{ name: WORKER_START_ALLOWANCE_ENV, value: String(o.startAllowanceMs) }] : []),
              ],
              resources: o.resources ?? DEFAULT_WORKER_RESOURCES,
            },
          ],
        },
      },
    },
  };
}

function coordinatorService(name: string, namespace: string, selector: Record<string, string>, port: number): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: selector },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }] },
  };
}

/** The objects as one multi-document YAML stream, in the order kubectl must apply them (Secret and ConfigMap before
 * the Jobs that read them; the coordinator before its workers). */
export function manifestsYaml(m: WorkerManifests): string {
  const c = m.coordinator;
  const docs = [m.secret, ...(c ? [c.configMap] : []), ...(m.service ? [m.service] : []), ...(c ? [c.job] : []), m.job];
  return docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
