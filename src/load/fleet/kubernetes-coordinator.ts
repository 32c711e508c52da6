// The in-cluster coordinator's objects, pure (docs/DISTRIBUTED.md, Kubernetes): the loadscope config in a ConfigMap,
// and a Job of one pod that runs `loadscope run SCENARIO --workers N --engine external` on the Service's port with the
// run's token from the Secret — the pod the worker Job's coordinator Service selects. `loadscope k8s manifest` prints
// them beside the worker objects (kubernetes-manifests.ts), so `kubectl apply` of its output is a whole run.
import { WORKER_TOKEN_ENV, type EngineName } from './port.ts';
import {
  DEFAULT_WORKER_IMAGE,
  FLEET_ROLE_COORDINATOR,
  fleetLabels,
  fleetObjectNames,
  JOB_TTL_AFTER_FINISHED_SECONDS,
  TOKEN_SECRET_KEY,
} from './kubernetes-manifests.ts';
import type { V1ConfigMap, V1Job, V1ResourceRequirements } from './kubernetes-client.ts';

/** The ConfigMap's key, mounted as a file in the coordinator pod at COORDINATOR_CONFIG_DIR. */
export const CONFIG_MAP_KEY = 'loadscope.yaml';
export const COORDINATOR_CONFIG_DIR = '/etc/loadscope';
/** The run directory lives here: an emptyDir (the image's /app is read-only to its user). Replace it with a volume
 * of yours to keep the run directory after the pod is gone. */
export const COORDINATOR_RESULTS_DIR = '/results';
/** Listens on every IPv4 address of the pod: the Service reaches it at the pod IP. */
export const COORDINATOR_LISTEN_HOST = '0.0.0.0';
/** After the workers' Job ends: time for the coordinator's analysis and report before Kubernetes ends its Job. */
export const COORDINATOR_AFTER_RUN_SECONDS = 600;
/** Requests = limits (Guaranteed QoS): the live judge, the merge and the analysis run here. */
export const DEFAULT_COORDINATOR_RESOURCES: V1ResourceRequirements = { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } };
const ENGINE: EngineName = 'external';
const CONTAINER = 'coordinator';

export interface CoordinatorManifestSpec {
  runId: string;
  scenario: string;
  /** the workers' count: the coordinator waits for this many */
  count: number;
  namespace: string;
  port: number;
  /** the loadscope config file's text, as `run -c` reads it */
  configText: string;
  /** `run --target` (attach mode: the coordinator brings up no stack in a pod) */
  target?: string;
  /** the worker Job's own; the coordinator's adds COORDINATOR_AFTER_RUN_SECONDS */
  workerDeadlineSeconds: number;
  image?: string;
  project?: string;
  resources?: V1ResourceRequirements;
}

/** The `loadscope run` command line of the coordinator pod (after the image's `loadscope` entry point). No token. */
export function coordinatorArgs(s: Pick<CoordinatorManifestSpec, 'runId' | 'scenario' | 'count' | 'port' | 'target'>): string[] {
  return [
    'run',
    s.scenario,
    '-c',
    `${COORDINATOR_CONFIG_DIR}/${CONFIG_MAP_KEY}`,
    '--out',
    COORDINATOR_RESULTS_DIR,
    '--no-metrics',
    '--workers',
    String(s.count),
    '--engine',
    ENGINE,
    '--coordinator-host',
    COORDINATOR_LISTEN_HOST,
    '--coordinator-port',
    String(s.port),
    '--run-id',
    s.runId,
    ...(s.target !== undefined ? ['--target', s.target] : []),
  ];
}

export function buildCoordinatorManifests(s: CoordinatorManifestSpec): { configMap: V1ConfigMap; job: V1Job } {
  const names = fleetObjectNames(s.runId);
  const project = s.project ?? 'loadscope';
  // the Service selects exactly these labels (kubernetes-manifests.ts coordinatorService)
  const labels = fleetLabels(s.runId, project, FLEET_ROLE_COORDINATOR);
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.configMap, namespace: s.namespace, labels },
    data: { [CONFIG_MAP_KEY]: s.configText },
  };
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: names.coordinatorJob, namespace: s.namespace, labels },
    spec: {
      completions: 1,
      parallelism: 1,
      // a second coordinator would not know the first one's workers: never restarted
      backoffLimit: 0,
      activeDeadlineSeconds: s.workerDeadlineSeconds + COORDINATOR_AFTER_RUN_SECONDS,
      ttlSecondsAfterFinished: JOB_TTL_AFTER_FINISHED_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [
            {
              name: CONTAINER,
              image: s.image ?? DEFAULT_WORKER_IMAGE,
              args: coordinatorArgs(s),
              env: [{ name: WORKER_TOKEN_ENV, valueFrom: { secretKeyRef: { name: names.secret, key: TOKEN_SECRET_KEY } } }],
              ports: [{ name: 'http', containerPort: s.port, protocol: 'TCP' }],
              // ready once it listens: the Service sends the workers there only then (they retry until it does)
              readinessProbe: { tcpSocket: { port: s.port }, periodSeconds: 2 },
              volumeMounts: [
                { name: 'config', mountPath: COORDINATOR_CONFIG_DIR, readOnly: true },
                { name: 'results', mountPath: COORDINATOR_RESULTS_DIR },
              ],
              resources: s.resources ?? DEFAULT_COORDINATOR_RESOURCES,
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: names.configMap } },
            { name: 'results', emptyDir: {} },
          ],
        },
      },
    },
  };
  return { configMap, job };
}
