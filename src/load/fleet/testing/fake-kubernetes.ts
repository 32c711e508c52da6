// An in-memory KubernetesApi (our port, not the client): objects by namespace/name, a Job's pods created Pending with
// their completion index as the Job controller would, and knobs for the tests to move pods along or make calls fail.
import { jobOwnerReferences, type JobOwner, type KubernetesApi, type PodPhase, type WorkerPod } from '../kubernetes-api.ts';
import type { V1Job, V1Secret, V1Service } from '../kubernetes-client.ts';

export class FakeKubernetes implements KubernetesApi {
  readonly secrets = new Map<string, V1Secret>();
  readonly services = new Map<string, V1Service>();
  readonly jobs = new Map<string, V1Job>();
  /** pods by name, with the labels of the Job's pod template */
  readonly pods = new Map<string, WorkerPod & { namespace: string; job: string; labels: Record<string, string> }>();
  readonly calls: string[] = [];
  /** the next call of this method throws it */
  readonly failNext = new Map<keyof KubernetesApi, Error>();
  private podSeq = 0;

  private check(method: keyof KubernetesApi, detail: string): void {
    this.calls.push(`${method} ${detail}`);
    const err = this.failNext.get(method);
    if (err) {
      this.failNext.delete(method);
      throw err;
    }
  }

  private static create<T extends { metadata?: { name?: string } }>(store: Map<string, T>, namespace: string, obj: T): void {
    const key = `${namespace}/${obj.metadata?.name ?? ''}`;
    if (store.has(key)) throw new Error(`AlreadyExists: ${key}`);
    store.set(key, structuredClone(obj));
  }

  async createSecret(namespace: string, secret: V1Secret): Promise<void> {
    this.check('createSecret', `${namespace}/${secret.metadata?.name}`);
    FakeKubernetes.create(this.secrets, namespace, secret);
  }
  async deleteSecret(namespace: string, name: string): Promise<void> {
    this.check('deleteSecret', `${namespace}/${name}`);
    this.secrets.delete(`${namespace}/${name}`);
  }
  async createService(namespace: string, service: V1Service): Promise<void> {
    this.check('createService', `${namespace}/${service.metadata?.name}`);
    FakeKubernetes.create(this.services, namespace, service);
  }
  async deleteService(namespace: string, name: string): Promise<void> {
    this.check('deleteService', `${namespace}/${name}`);
    this.services.delete(`${namespace}/${name}`);
  }

  async createJob(namespace: string, job: V1Job): Promise<{ uid: string }> {
    const name = job.metadata?.name ?? '';
    this.check('createJob', `${namespace}/${name}`);
    const uid = `uid-${name}-${this.podSeq++}`;
    FakeKubernetes.create(this.jobs, namespace, { ...job, metadata: { ...job.metadata, uid } });
    const labels = job.spec?.template.metadata?.labels ?? {};
    for (let index = 0; index < (job.spec?.completions ?? 1); index++) {
      const pod = `${name}-${index}-${(this.podSeq++).toString(36).padStart(5, 'x')}`;
      this.pods.set(pod, { name: pod, index, phase: 'Pending', namespace, job: name, labels });
    }
    return { uid };
  }
  async setOwner(namespace: string, kind: 'Secret' | 'Service', name: string, owner: JobOwner): Promise<void> {
    this.check('setOwner', `${namespace}/${kind}/${name} ${owner.name}`);
    const obj = (kind === 'Secret' ? this.secrets : this.services).get(`${namespace}/${name}`);
    if (!obj) throw new Error(`NotFound: ${kind} ${namespace}/${name}`);
    obj.metadata = { ...obj.metadata, ownerReferences: jobOwnerReferences(owner) };
  }
  /** like propagationPolicy Foreground: the Job's pods go with it */
  async deleteJob(namespace: string, name: string): Promise<void> {
    this.check('deleteJob', `${namespace}/${name}`);
    const uid = this.jobs.get(`${namespace}/${name}`)?.metadata?.uid;
    this.jobs.delete(`${namespace}/${name}`);
    for (const [podName, pod] of this.pods) if (pod.namespace === namespace && pod.job === name) this.pods.delete(podName);
    // the garbage collector: objects whose owner (by uid) is gone go too
    for (const store of [this.secrets, this.services] as Map<string, V1Secret | V1Service>[])
      for (const [key, obj] of store)
        if (uid && key.startsWith(`${namespace}/`) && obj.metadata?.ownerReferences?.some((r) => r.uid === uid)) store.delete(key);
  }

  async listPods(namespace: string, labelSelector: string): Promise<WorkerPod[]> {
    this.check('listPods', `${namespace} ${labelSelector}`);
    const wanted = labelSelector.split(',').map((kv) => kv.split('=') as [string, string]);
    return [...this.pods.values()]
      .filter((p) => p.namespace === namespace && wanted.every(([k, v]) => p.labels[k] === v))
      .map(({ name, index, phase, exitCode, reason, waitingReason }) => ({
        name,
        index,
        phase,
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(reason ? { reason } : {}),
        ...(waitingReason ? { waitingReason } : {}),
      }));
  }
  async deletePod(namespace: string, name: string): Promise<void> {
    this.check('deletePod', `${namespace}/${name}`);
    this.pods.delete(name);
  }

  /** moves the pod of `index` to a phase (the kubelet's and the Job controller's part) */
  setPod(index: number, phase: PodPhase, end: { exitCode?: number; reason?: string; waitingReason?: string } = {}): void {
    const pod = [...this.pods.values()].find((p) => p.index === index);
    if (!pod) throw new Error(`no pod with index ${index}`);
    Object.assign(pod, { phase, ...end });
  }
}
