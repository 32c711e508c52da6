// The adapter's pure part: a client V1Pod in the port's words. (Its API calls need a cluster: not run here.)
import { describe, expect, it } from 'vitest';
import { K8S_COMPLETION_INDEX_KEY } from './kubernetes-api.ts';
import { workerPod, type V1Pod } from './kubernetes-client.ts';

const pod = (over: Partial<V1Pod>): V1Pod => ({ metadata: { name: 'loadscope-worker-x-1-abcde', labels: { [K8S_COMPLETION_INDEX_KEY]: '1' } }, ...over });

describe('workerPod (V1Pod → WorkerPod)', () => {
  it('takes the completion index from the label, else the annotation; none or garbage → undefined', () => {
    expect(workerPod(pod({ status: { phase: 'Running' } }))).toEqual({ name: 'loadscope-worker-x-1-abcde', index: 1, phase: 'Running' });
    expect(workerPod(pod({ metadata: { name: 'p', annotations: { [K8S_COMPLETION_INDEX_KEY]: '12' } } })).index).toBe(12);
    expect(workerPod(pod({ metadata: { name: 'p', labels: { [K8S_COMPLETION_INDEX_KEY]: '-1' } } })).index).toBeUndefined();
    expect(workerPod(pod({ metadata: { name: 'p' } })).index).toBeUndefined();
  });

  it('exit code and reason from the terminated container, else the pod reason; unknown phases are Unknown', () => {
    const oom = pod({
      status: {
        phase: 'Failed',
        containerStatuses: [
          { name: 'worker', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
        ],
      },
    });
    expect(workerPod(oom)).toMatchObject({ phase: 'Failed', exitCode: 137, reason: 'OOMKilled' });
    expect(workerPod(pod({ status: { phase: 'Failed', reason: 'DeadlineExceeded' } }))).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    const pulling = pod({
      status: {
        phase: 'Pending',
        containerStatuses: [{ name: 'worker', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }],
      },
    });
    expect(workerPod(pulling)).toMatchObject({ phase: 'Pending', waitingReason: 'ImagePullBackOff' });
    expect(workerPod(pulling).exitCode).toBeUndefined();
    expect(workerPod(pod({ status: { phase: 'Evicting?' } })).phase).toBe('Unknown');
    expect(workerPod(pod({})).phase).toBe('Unknown');
  });
});
