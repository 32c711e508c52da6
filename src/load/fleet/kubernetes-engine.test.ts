import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../common/clock.ts';
import { EngineUnavailableError } from '../../common/errors.ts';
import { DEFAULT_POD_POLL_MS, kubernetesEngine } from './kubernetes-engine.ts';
import { fleetObjectNames, inClusterCoordinatorUrl, JOB_DEADLINE_GRACE_SECONDS } from './kubernetes-manifests.ts';
import { K8S_INDEX_ENV, type FleetSpec, type WorkerExit } from './port.ts';
import { FakeKubernetes } from './testing/fake-kubernetes.ts';

const clock = (): FakeClock => new FakeClock(1_800_000_000_000);
const spec = (c: FakeClock, over: Partial<FleetSpec> = {}): FleetSpec => ({
  runId: '20261202-203321-normal-ab12',
  count: 3,
  coordinatorUrl: 'http://10.0.0.5:37123',
  token: 's3cret-token',
  deadlineEpochMs: c.nowMs() + 60_000,
  ...over,
});
const names = fleetObjectNames('20261202-203321-normal-ab12');

async function started(over: Partial<FleetSpec> = {}, engineOpts: { coordinatorServicePort?: number } = {}) {
  const c = clock();
  const api = new FakeKubernetes();
  const fleet = await kubernetesEngine({ api, clock: c, namespace: 'load', ...engineOpts }).start(spec(c, over));
  const exits: WorkerExit[] = [];
  fleet.onExit((e) => exits.push(e));
  return { c, api, fleet, exits };
}

describe('kubernetes engine over the KubernetesApi port (a fake, no cluster)', () => {
  it('start creates the Secret, then the Indexed Job of N workers; members are the pods by index', async () => {
    const { api, fleet } = await started();
    expect(api.calls.filter((c) => c.startsWith('create'))).toEqual([`createSecret load/${names.secret}`, `createJob load/${names.job}`]);
    expect(api.services.size).toBe(0);
    const job = api.jobs.get(`load/${names.job}`);
    expect(job?.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimit: 0 });
    // deadline 60 s away + the grace the workers get to stop by themselves
    expect(job?.spec?.activeDeadlineSeconds).toBe(60 + JOB_DEADLINE_GRACE_SECONDS);
    expect(fleet.members).toEqual([0, 1, 2].map((index) => ({ index, name: `${names.job}-${index}` })));
    await fleet.stop();
  });

  it('with an in-cluster coordinator port, a Service is created and removed with the run', async () => {
    const url = inClusterCoordinatorUrl('20261202-203321-normal-ab12', 'load', 8787);
    const { api, fleet } = await started({ coordinatorUrl: url }, { coordinatorServicePort: 8787 });
    expect([...api.services.keys()]).toEqual([`load/${names.service}`]);
    expect(url).toBe(`http://${names.service}.load.svc:8787`);
    await fleet.stop();
    expect(api.services.size + api.secrets.size + api.jobs.size + api.pods.size).toBe(0);
  });

  it('the Job owns the Secret and the Service: when the Job goes (its TTL, or a delete) without this coordinator, they go with it', async () => {
    const url = inClusterCoordinatorUrl('20261202-203321-normal-ab12', 'load', 8787);
    const { api, fleet } = await started({ coordinatorUrl: url }, { coordinatorServicePort: 8787 });
    const uid = api.jobs.get(`load/${names.job}`)?.metadata?.uid;
    expect(uid).toBeTruthy();
    const owner = [{ apiVersion: 'batch/v1', kind: 'Job', name: names.job, uid }];
    expect(api.secrets.get(`load/${names.secret}`)?.metadata?.ownerReferences).toEqual(owner);
    expect(api.services.get(`load/${names.service}`)?.metadata?.ownerReferences).toEqual(owner);
    // the coordinator is gone; the cluster deletes the finished Job (ttlSecondsAfterFinished): nothing is left
    expect(api.jobs.get(`load/${names.job}`)?.spec?.ttlSecondsAfterFinished).toBeGreaterThan(0);
    await api.deleteJob('load', names.job);
    expect(api.services.size + api.secrets.size + api.jobs.size + api.pods.size).toBe(0);
    await fleet.stop();
  });

  it('a failed owner patch removes what start created and says the engine is unavailable', async () => {
    const c = clock();
    const api = new FakeKubernetes();
    api.failNext.set('setOwner', new Error('Forbidden: patch secrets'));
    await expect(kubernetesEngine({ api, clock: c, namespace: 'load' }).start(spec(c))).rejects.toBeInstanceOf(EngineUnavailableError);
    expect(api.services.size + api.secrets.size + api.jobs.size + api.pods.size).toBe(0);
  });

  it('each worker ends when its pod (by completion index) reaches Succeeded or Failed; ended resolves with all', async () => {
    const { c, api, fleet, exits } = await started();
    api.setPod(0, 'Running');
    api.setPod(1, 'Succeeded', { exitCode: 0 });
    await c.advance(DEFAULT_POD_POLL_MS);
    expect(exits.map((e) => [e.index, e.exitCode, e.reason])).toEqual([[1, 0, 'exited 0']]);
    api.setPod(0, 'Failed', { exitCode: 137, reason: 'OOMKilled' });
    api.setPod(2, 'Failed', { exitCode: 3, reason: 'Error' });
    await c.advance(DEFAULT_POD_POLL_MS);
    const all = await fleet.ended;
    expect(all.map((e) => [e.index, e.exitCode, e.reason])).toEqual([
      [0, 137, 'pod Failed: OOMKilled'],
      [1, 0, 'exited 0'],
      [2, 3, 'pod Failed: Error'],
    ]);
    expect(exits).toHaveLength(3); // each once, though the pods stay Failed/Succeeded on later polls
    // stamped at the poll that saw them: index 1 one poll before the other two
    expect(all.map((e) => c.nowMs() - e.atMs)).toEqual([0, DEFAULT_POD_POLL_MS, 0]);
    expect(c.pending).toBe(0); // no poll left once every worker ended
    await fleet.stop();
  });

  it('kill(index) deletes only that pod and ends that worker; an unknown or ended index is a no-op', async () => {
    const { c, api, fleet, exits } = await started();
    await fleet.kill(1);
    expect(api.calls.filter((x) => x.startsWith('deletePod'))).toHaveLength(1);
    expect([...api.pods.values()].map((p) => p.index).sort()).toEqual([0, 2]);
    expect(exits).toEqual([{ index: 1, reason: 'killed (pod deleted)', atMs: c.nowMs() }]);
    await fleet.kill(1);
    await fleet.kill(7);
    expect(api.calls.filter((x) => x.startsWith('deletePod'))).toHaveLength(1);
    await c.advance(DEFAULT_POD_POLL_MS);
    expect(exits).toHaveLength(1); // the missing pod of a killed worker is not a second end
    await fleet.stop();
  });

  it('a pod that disappears without an end (deleted from outside, evicted) ends its worker', async () => {
    const { c, api, fleet, exits } = await started();
    await c.advance(DEFAULT_POD_POLL_MS);
    const pod = [...api.pods.values()].find((p) => p.index === 2);
    api.pods.delete(pod?.name ?? '');
    await c.advance(DEFAULT_POD_POLL_MS);
    expect(exits.map((e) => [e.index, e.reason])).toEqual([[2, 'pod gone (deleted or evicted)']]);
    await fleet.stop();
  });

  it('a pod that can never start (image pull, missing Secret) ends its worker at once; a plain wait does not', async () => {
    const { c, api, fleet, exits } = await started();
    api.setPod(0, 'Pending', { waitingReason: 'ContainerCreating' });
    api.setPod(1, 'Pending', { waitingReason: 'ImagePullBackOff' });
    api.setPod(2, 'Pending', { waitingReason: 'CreateContainerConfigError' });
    await c.advance(DEFAULT_POD_POLL_MS);
    expect(exits.map((e) => [e.index, e.reason])).toEqual([
      [1, 'pod cannot start: ImagePullBackOff'],
      [2, 'pod cannot start: CreateContainerConfigError'],
    ]);
    await fleet.stop();
  });

  it('stop deletes the Job (with its pods), the Secret, ends the rest, and is idempotent', async () => {
    const { api, fleet } = await started();
    await Promise.all([fleet.stop(), fleet.stop()]);
    await fleet.stop();
    expect(api.calls.filter((x) => x.startsWith('delete'))).toEqual([`deleteJob load/${names.job}`, `deleteSecret load/${names.secret}`]);
    expect(api.jobs.size + api.secrets.size + api.pods.size).toBe(0);
    expect((await fleet.ended).map((e) => e.reason)).toEqual(Array(3).fill('stopped (job deleted)'));
  });

  it('a failed delete fails stop, and the next stop tries again', async () => {
    const { api, fleet } = await started();
    api.failNext.set('deleteJob', new Error('connection refused'));
    await expect(fleet.stop()).rejects.toBeInstanceOf(EngineUnavailableError);
    await fleet.stop();
    expect(api.jobs.size + api.secrets.size).toBe(0);
  });

  it('workers still running past the deadline + grace are reaped and everything is deleted; list errors are retried', async () => {
    const { c, api, fleet } = await started({ count: 2 });
    api.failNext.set('listPods', new Error('timeout'));
    await c.advance(DEFAULT_POD_POLL_MS);
    expect(api.calls.filter((x) => x.startsWith('listPods'))).toHaveLength(1);
    await c.advance(60_000 + JOB_DEADLINE_GRACE_SECONDS * 1000);
    const all = await fleet.ended;
    expect(all.map((e) => e.reason)).toEqual(Array(2).fill('reaped: still running past the deadline'));
    expect(api.jobs.size + api.secrets.size + api.pods.size).toBe(0);
    expect(c.pending).toBe(0);
  });

  it('a failed create removes what was already created and says engine unavailable', async () => {
    const c = clock();
    const api = new FakeKubernetes();
    api.failNext.set('createJob', new Error('forbidden: jobs.batch is forbidden'));
    const engine = kubernetesEngine({ api, clock: c, coordinatorServicePort: 8787 });
    await expect(engine.start(spec(c))).rejects.toThrow(/could not start the workers in namespace default: forbidden/);
    expect(api.secrets.size + api.services.size + api.jobs.size).toBe(0);
  });

  it('the pods carry no index env of ours to fill in: the Job gives JOB_COMPLETION_INDEX, the manifest maps it', async () => {
    const { api, fleet } = await started();
    const env = api.jobs.get(`load/${names.job}`)?.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.some((e) => e.name === K8S_INDEX_ENV)).toBe(false);
    await fleet.stop();
  });
});
