// `loadscope k8s manifest`: the kubernetes engine's objects for one scenario as YAML for kubectl apply / GitOps
// (docs/DISTRIBUTED.md, Kubernetes). The scenario is checked against the config (exit 2 when unknown or invalid);
// the Job's deadline comes from its planned duration; the objects come from the same builder the engine uses. With
// the coordinator in the cluster (no --coordinator-url) it is printed too — a ConfigMap with the config and a Job
// running `loadscope run --engine external` behind the Service — so the output alone is a whole run.
import { randomBytes } from 'node:crypto';
import type { ResolvedConfig } from '../config/schema.ts';
import { UsageError } from '../common/errors.ts';
import { allowTarget } from '../config/target.ts';
import { buildCoordinatorManifests } from '../load/fleet/kubernetes-coordinator.ts';
import { planShape } from '../load/shapes/registry.ts';
import { workerRunMs } from '../load/fleet/fleet-load.ts';
import { LABEL_RUN } from '../stack/labels.ts';
import {
  buildWorkerManifests,
  DEFAULT_COORDINATOR_PORT,
  DEFAULT_NAMESPACE,
  inClusterCoordinatorUrl,
  JOB_DEADLINE_GRACE_SECONDS,
  labelValue,
  manifestsYaml,
} from '../load/fleet/kubernetes-manifests.ts';
import { RUN_ID_PATTERN, WORKER_START_ALLOWANCE_MS, WORKER_TOKEN_ENV } from '../load/fleet/port.ts';
import { newRunId } from './run-scenario.ts';

export { WORKER_START_ALLOWANCE_MS } from '../load/fleet/port.ts';
/** Kubernetes accepts up to 100 000 completions; our pod names stay DNS labels up to this many. */
export const MAX_K8S_WORKERS = 10_000;

export interface K8sManifestRequest {
  config: ResolvedConfig;
  scenario: string;
  workers: number;
  image?: string;
  namespace?: string;
  /** a coordinator outside the cluster, as the pods reach it; without it: a Service for an in-cluster coordinator */
  coordinatorUrl?: string;
  coordinatorPort?: number;
  runId?: string;
  /** the config file's text: the in-cluster coordinator's ConfigMap (what `run -c` reads there) */
  configText: string;
  /** the in-cluster coordinator's --target (the target as the pods reach it); default the config's */
  target?: string;
  /** the environment: WORKER_TOKEN_ENV, when set, is the token (stable output for GitOps); else a fresh one */
  env: Readonly<Record<string, string | undefined>>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --namespace and --image as the cluster will take them (a DNS label, an image reference), or a usage error (exit 2). */
export function kubernetesPlacement(r: { namespace?: string; image?: string }): { namespace: string; image?: string } {
  const namespace = r.namespace ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace)) throw new UsageError(`--namespace must be a DNS label (lowercase letters, digits, '-'), got "${namespace}"`);
  if (r.image !== undefined && (r.image.trim() === '' || /\s/.test(r.image))) throw new UsageError(`--image must be an image reference, got "${r.image}"`);
  return { namespace, ...(r.image !== undefined && { image: r.image }) };
}

export function k8sManifest(r: K8sManifestRequest): string {
  const scenario = r.config.scenarios[r.scenario];
  if (!scenario) throw new UsageError(`unknown scenario "${r.scenario}" (have: ${Object.keys(r.config.scenarios).join(', ')})`);
  if (!Number.isInteger(r.workers) || r.workers < 1 || r.workers > MAX_K8S_WORKERS)
    throw new UsageError(`--workers must be an integer from 1 to ${MAX_K8S_WORKERS}, got ${r.workers}`);
  const { namespace } = kubernetesPlacement(r);
  const port = r.coordinatorPort ?? DEFAULT_COORDINATOR_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--coordinator-port must be a port number, got ${r.coordinatorPort}`);
  if (r.coordinatorUrl !== undefined && !isHttpUrl(r.coordinatorUrl))
    throw new UsageError(`--coordinator-url must be an http(s) URL, got "${r.coordinatorUrl}"`);
  if (r.runId !== undefined && !RUN_ID_PATTERN.test(r.runId))
    throw new UsageError(`--run-id must be letters, digits, '.', '_' or '-' (at most 100, no '/'), got "${r.runId}"`);
  if (r.coordinatorUrl !== undefined && r.target !== undefined) throw new UsageError('--target is for the in-cluster coordinator: not with --coordinator-url');
  const target = r.coordinatorUrl ? undefined : coordinatorTarget(r);
  const runId = r.runId ?? newRunId(r.scenario);
  // as the coordinator will count it (no --time-scale in its args): to schedule, pull and meet at the barrier, then
  // the plan, its recovery hold and the workers' grace (they stop by themselves at that deadline)
  const plannedMs = WORKER_START_ALLOWANCE_MS + workerRunMs(planShape(scenario.shape, 1));
  const workerDeadlineSeconds = Math.ceil(plannedMs / 1000) + JOB_DEADLINE_GRACE_SECONDS;
  const manifests = buildWorkerManifests({
    runId,
    count: r.workers,
    token: r.env[WORKER_TOKEN_ENV] || randomBytes(32).toString('hex'),
    coordinatorUrl: r.coordinatorUrl ?? inClusterCoordinatorUrl(runId, namespace, port),
    ...(r.coordinatorUrl ? {} : { coordinatorService: { port } }),
    activeDeadlineSeconds: workerDeadlineSeconds,
    namespace,
    ...(r.image ? { image: r.image } : {}),
  });
  if (!r.coordinatorUrl) {
    const spec = { runId, scenario: r.scenario, count: r.workers, namespace, port, configText: r.configText, workerDeadlineSeconds };
    manifests.coordinator = buildCoordinatorManifests({ ...spec, ...(target !== undefined && { target }), ...(r.image ? { image: r.image } : {}) });
  }
  const where = r.coordinatorUrl
    ? `coordinator at ${r.coordinatorUrl}`
    : `coordinator in the cluster (Job ${manifests.coordinator!.job.metadata!.name}, port ${port}); remove the run with: kubectl delete job,secret,service,configmap -n ${namespace} -l ${LABEL_RUN}=${labelValue(runId)}`;
  return `# loadscope k8s manifest ${r.scenario} --workers ${r.workers}: run ${runId}, ${where}\n${manifestsYaml(manifests)}`;
}

/** The coordinator in a pod attaches to the target (no Compose stack there): --target, or the config's when it has no
 * stack; checked against allowTargets now as the coordinator and every worker will check it (exit 2). */
function coordinatorTarget(r: K8sManifestRequest): string | undefined {
  if (r.target === undefined && r.config.stack)
    throw new UsageError(
      'the config has a `stack` (Compose), which a coordinator in a pod cannot bring up: pass --target URL, the system under test as the pods reach it (its host listed in allowTargets)',
    );
  allowTarget(r.target ?? r.config.target, r.config.allowTargets, r.target !== undefined ? '--target' : 'target');
  return r.target;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}
