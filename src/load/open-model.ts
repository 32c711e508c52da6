// Open model: requests start on a fixed schedule whatever the latency; when maxInFlight are busy the
// scheduled request is dropped and counted, instead of silently slowing the schedule (coordinated omission).
import http from 'node:http';
import https from 'node:https';
import type { RenderContext } from '../config/template.ts';
import { captureInto, pickTask } from './flow-runner.ts';
import { runOnStart, sendStep } from './http-user.ts';
import { abortableSleep, OPEN_MODEL_STREAM, type RunningUser, type UserDeps } from './user-context.ts';
import { deriveSeed, seededRng } from '../common/random.ts';

export function startOpenModel(deps: UserDeps, rateRps: number, maxInFlight: number): RunningUser {
  const agent = new (deps.target.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: maxInFlight });
  const random = seededRng(deriveSeed(deps.seed, OPEN_MODEL_STREAM, deps.threadIndex));
  const ctx: RenderContext = { userId: 0, vars: {}, random };
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight = 0;
  let finish: () => void = () => {};
  const stopped = (): boolean => stopping || deps.runStopped?.() === true || Date.now() >= deps.deadlineEpochMs;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const loop = async (): Promise<void> => {
    // one shared session: the open model has no users, so onStart runs once per worker
    if (!(await runOnStart(agent, deps, ctx, stopped, (ms) => abortableSleep(ms).done))) return finish();
    const startMs = Date.now();
    const intervalMs = 1000 / rateRps;
    let n = 0;
    const tick = (): void => {
      if (stopped()) return void drain();
      const now = Date.now();
      while (startMs + n * intervalMs <= now) {
        n++;
        if (inFlight >= maxInFlight) {
          deps.recorder.droppedLate++;
          continue;
        }
        inFlight++;
        const task = pickTask(deps.flow, random());
        void sendStep(agent, deps, task, ctx).then((res) => {
          inFlight--;
          if (res.ok && task.capture.length) captureInto(task, res.body ?? '', ctx.vars);
          if (stopping && inFlight === 0) finish();
        });
      }
      timer = setTimeout(tick, Math.max(0, startMs + n * intervalMs - Date.now()));
    };
    tick();
  };
  const drain = (): void => {
    if (inFlight === 0) finish();
  };
  void loop();
  return {
    id: 0,
    stop(cancel) {
      stopping = true;
      clearTimeout(timer);
      // requests in flight fail on their destroyed sockets and are booked as cancelled (run stopped)
      if (cancel) agent.destroy();
      drain();
      return done.finally(() => agent.destroy());
    },
  };
}
