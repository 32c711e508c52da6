// The kubernetes worker engine (docs/DISTRIBUTED.md, Kubernetes): one run's workers as an Indexed Job, the token in a
// Secret, optionally a Service for an in-cluster coordinator, all through the KubernetesApi port. Workers end as
// their pods reach Succeeded/Failed (by completion index); kill deletes one pod; stop deletes the Job (its pods in
// the foreground), the Secret and the Service. Not run against a cluster here: tested with a fake of the port.
import { realClock, type Clock, type Timer } from '../../common/clock.ts';
import { EngineUnavailableError } from '../../common/errors.ts';
import { LABEL_RUN } from '../../stack/labels.ts';
import type { KubernetesApi, WorkerPod } from './kubernetes-api.ts';
import { buildWorkerManifests, jobDeadlineSeconds, labelValue, JOB_DEADLINE_GRACE_SECONDS, type WorkerManifests } from './kubernetes-manifests.ts';
import type { V1ResourceRequirements } from './kubernetes-client.ts';
import { FLEET_LABEL_ROLE, FLEET_ROLE_WORKER, type Fleet, type FleetSpec, type WorkerEngine, type WorkerExit } from './port.ts';

export interface KubernetesEngineOptions {
  api: KubernetesApi;
  clock?: Clock;
  namespace?: string;
  image?: string;
  project?: string;
  resources?: V1ResourceRequirements;
  /** the coordinator runs in the cluster on this port: a Service for it is created (FleetSpec.coordinatorUrl: inClusterCoordinatorUrl) */
  coordinatorServicePort?: number;
  /** how often the Job's pods are listed */
  pollMs?: number;
}

export const DEFAULT_POD_POLL_MS = 1000;
/** Waiting reasons Kubernetes keeps retrying without success unless someone changes the Job or the cluster. */
const NEVER_STARTS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError']);

export function kubernetesEngine(opts: KubernetesEngineOptions): WorkerEngine {
  const clock = opts.clock ?? realClock;
  return {
    name: 'kubernetes',
    async start(spec: FleetSpec): Promise<Fleet> {
      const m = buildWorkerManifests({
        ...spec,
        activeDeadlineSeconds: jobDeadlineSeconds(spec.deadlineEpochMs, clock.nowMs()),
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(opts.image ? { image: opts.image } : {}),
        ...(opts.project ? { project: opts.project } : {}),
        ...(opts.resources ? { resources: opts.resources } : {}),
        ...(opts.coordinatorServicePort ? { coordinatorService: { port: opts.coordinatorServicePort } } : {}),
      });
      await createObjects(opts.api, m);
      const fleet = new KubernetesFleet(opts.api, clock, m, spec, opts.pollMs ?? DEFAULT_POD_POLL_MS);
      fleet.poll();
      return fleet;
    },
  };
}

/**
 * Secret, Service, then the Job (its pods need the Secret); then the Job owns the Secret and Service, so the cluster
 * removes them with it even when this coordinator dies. On a failure, what was created is removed again.
 */
async function createObjects(api: KubernetesApi, m: WorkerManifests): Promise<void> {
  const ns = m.namespace;
  const undo: Array<() => Promise<void>> = [];
  try {
    await api.createSecret(ns, m.secret);
    undo.push(() => api.deleteSecret(ns, m.secret.metadata?.name ?? ''));
    if (m.service) {
      await api.createService(ns, m.service);
      undo.push(() => api.deleteService(ns, m.service?.metadata?.name ?? ''));
    }
    const jobName = m.job.metadata?.name ?? '';
    const { uid } = await api.createJob(ns, m.job);
    undo.push(() => api.deleteJob(ns, jobName));
    await api.setOwner(ns, 'Secret', m.secret.metadata?.name ?? '', { name: jobName, uid });
    if (m.service) await api.setOwner(ns, 'Service', m.service.metadata?.name ?? '', { name: jobName, uid });
  } catch (err) {
    await Promise.allSettled(undo.map((u) => u()));
    throw new EngineUnavailableError(`kubernetes: could not start the workers in namespace ${ns}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

class KubernetesFleet implements Fleet {
  readonly members: ReadonlyArray<{ index: number; name: string }>;
  readonly ended: Promise<WorkerExit[]>;
  private readonly exits = new Map<number, WorkerExit>();
  private readonly listeners: Array<(exit: WorkerExit) => void> = [];
  private readonly seen = new Set<number>();
  private readonly selector: string;
  private resolveEnded!: (exits: WorkerExit[]) => void;
  private timer: Timer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly api: KubernetesApi,
    private readonly clock: Clock,
    private readonly m: WorkerManifests,
    private readonly spec: FleetSpec,
    private readonly pollMs: number,
  ) {
    const job = m.job.metadata?.name ?? '';
    // Kubernetes names each pod <job>-<index>-<random>: the member name is that prefix
    this.members = Array.from({ length: spec.count }, (_, index) => ({ index, name: `${job}-${index}` }));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.selector = `${LABEL_RUN}=${labelValue(spec.runId)},${FLEET_LABEL_ROLE}=${FLEET_ROLE_WORKER}`;
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.listeners.push(listener);
  }

  /** One look at the pods, then the next one is scheduled; past the deadline + grace, the rest are reaped. */
  poll(): void {
    this.timer = this.clock.setTimer(this.pollMs, () => void this.pollOnce());
  }

  private async pollOnce(): Promise<void> {
    if (this.stopping) return;
    try {
      this.observe(await this.api.listPods(this.m.namespace, this.selector));
    } catch {
      // a failed list is retried at the next poll; the deadline below still reaps
    }
    if (this.stopping || this.exits.size === this.spec.count) return;
    if (this.clock.nowMs() > this.spec.deadlineEpochMs + JOB_DEADLINE_GRACE_SECONDS * 1000) {
      this.endRest('reaped: still running past the deadline');
      await this.stop().catch(() => undefined);
      return;
    }
    this.poll();
  }

  private observe(pods: readonly WorkerPod[]): void {
    const present = new Set<number>();
    for (const pod of pods) {
      if (pod.index === undefined) continue;
      present.add(pod.index);
      this.seen.add(pod.index);
      if (pod.phase === 'Succeeded' || pod.phase === 'Failed') this.end(podExit(pod, pod.index, this.clock.nowMs()));
      // a worker that can never start (wrong image, missing Secret) ends now, not at the deadline
      else if (pod.waitingReason && NEVER_STARTS.has(pod.waitingReason))
        this.end({ index: pod.index, reason: `pod cannot start: ${pod.waitingReason}`, atMs: this.clock.nowMs() });
    }
    // a pod seen before and gone now without an end (deleted, evicted with its Job) ends its worker
    for (const index of this.seen) if (!present.has(index)) this.end({ index, reason: 'pod gone (deleted or evicted)', atMs: this.clock.nowMs() });
  }

  private end(exit: WorkerExit): void {
    if (this.exits.has(exit.index) || exit.index < 0 || exit.index >= this.spec.count) return;
    this.exits.set(exit.index, exit);
    for (const l of this.listeners) l(exit);
    if (this.exits.size === this.spec.count) {
      this.timer?.cancel();
      this.resolveEnded([...this.exits.values()].sort((a, b) => a.index - b.index));
    }
  }

  private endRest(reason: string): void {
    for (const { index } of this.members) this.end({ index, reason, atMs: this.clock.nowMs() });
  }

  async kill(index: number): Promise<void> {
    if (this.exits.has(index) || !this.members.some((m) => m.index === index)) return;
    const pods = await this.api.listPods(this.m.namespace, this.selector);
    await Promise.all(pods.filter((p) => p.index === index).map((p) => this.api.deletePod(this.m.namespace, p.name)));
    this.end({ index, reason: 'killed (pod deleted)', atMs: this.clock.nowMs() });
  }

  stop(): Promise<void> {
    this.stopping ??= this.deleteAll().then(
      () => this.endRest('stopped (job deleted)'),
      (err: unknown) => {
        this.stopping = undefined; // a failed delete may be retried by the next stop()
        throw err;
      },
    );
    return this.stopping;
  }

  private async deleteAll(): Promise<void> {
    this.timer?.cancel();
    const ns = this.m.namespace;
    const deletes = [this.api.deleteJob(ns, this.m.job.metadata?.name ?? ''), this.api.deleteSecret(ns, this.m.secret.metadata?.name ?? '')];
    if (this.m.service) deletes.push(this.api.deleteService(ns, this.m.service.metadata?.name ?? ''));
    const failed = (await Promise.allSettled(deletes)).filter((r) => r.status === 'rejected');
    if (failed.length) throw new EngineUnavailableError(`kubernetes: could not remove the run's objects in ${ns}: ${String(failed[0]?.reason)}`);
  }
}

function podExit(pod: WorkerPod, index: number, atMs: number): WorkerExit {
  const code = pod.exitCode;
  const reason = pod.phase === 'Succeeded' ? `exited ${code ?? 0}` : `pod Failed: ${pod.reason ?? (code === undefined ? 'unknown' : `exit ${code}`)}`;
  return { index, ...(code === undefined ? {} : { exitCode: code }), reason, atMs };
}
