// Load worker: runs its share of users, records per endpoint, ships encoded histograms on each flush.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadscopeError } from '../common/errors.ts';
import { createZeroThinkDriver } from './autocannon-driver.ts';
import { compileFlow } from './flow-runner.ts';
import { startHttpUser } from './http-user.ts';
import { startOpenModel } from './open-model.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';
import { Recorder } from './recorder.ts';
import type { RunningUser, UserDeps } from './user-context.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);

try {
  const target = new URL(init.target);
  // the engine raises this flag the moment it stops; a response this worker sees afterwards was cancelled,
  // even when the 'stop' message waits behind a busy event loop
  const stopFlag = new Int32Array(init.stopFlag);
  const runStopped = (): boolean => Atomics.load(stopFlag, 0) !== 0;
  const recorder = new Recorder(init.keepRaw, runStopped);
  const deps: UserDeps = {
    flow: compileFlow(init.flow),
    target,
    recorder,
    requestTimeoutMs: init.requestTimeoutMs,
    thinkMinMs: init.thinkMinMs,
    thinkMaxMs: init.thinkMaxMs,
    deadlineEpochMs: init.deadlineEpochMs,
    runStopped,
    onEvent: (kind, detail) => post({ type: 'event', kind, detail }),
    seed: init.seed,
    threadIndex: init.threadIndex,
  };
  const users: RunningUser[] = [];
  /** users removed by a ramp-down that are still finishing their request */
  const leaving = new Set<RunningUser>();
  const stopping = new Set<Promise<void>>();
  // zero think time: each 'add' batch is one cohort = one autocannon instance, one connection per user
  const zeroThink = init.thinkMaxMs === 0 ? createZeroThinkDriver(deps) : undefined;

  const stopUser = (u: RunningUser, cancel: boolean): void => {
    leaving.add(u);
    const p = u.stop(cancel).catch((err: unknown) => deps.onEvent('user-error', { userId: u.id, message: String(err) }));
    stopping.add(p);
    void p.finally(() => {
      stopping.delete(p);
      leaving.delete(u);
    });
  };

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'begin':
        if (init.open) users.push(startOpenModel(deps, init.open.rateRps, init.open.maxInFlight));
        break;
      case 'add':
        if (zeroThink) users.push(...zeroThink.startCohort(m.ids));
        else for (const id of m.ids) users.push(startHttpUser(id, deps));
        break;
      case 'remove':
        // newest first, like Locust: the longest-lived sessions stay. A zero-think user closes just its
        // own connection; its cohort's instance ends by itself once all of its connections are gone.
        for (const u of users.splice(Math.max(0, users.length - m.count))) stopUser(u, false);
        break;
      case 'flush':
        post({ type: 'flushed', seq: m.seq, data: recorder.flush(), activeUsers: init.open ? 0 : users.length });
        break;
      case 'stall': {
        const untilMs = Date.now() + m.ms;
        while (Date.now() < untilMs); // busy on purpose: nothing else runs on this thread meanwhile
        break;
      }
      case 'stop':
        // the run is over: requests in flight (ramp-down leavers' too) are cancelled, not awaited
        for (const u of [...users.splice(0), ...leaving]) stopUser(u, true);
        void Promise.allSettled([...stopping]).then(() => {
          post({ type: 'stopped', data: recorder.flush() });
          port.close();
        });
        break;
    }
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'fatal', message: err instanceof Error ? err.message : String(err), code: err instanceof LoadscopeError ? err.code : undefined });
}
