// The only autocannon importer. Zero-think-time users: one autocannon instance per user (connections 1),
// so the user's captured variables live in this closure (autocannon resets its per-connection context
// whenever the request list loops). autocannon's HTTP client is leaner than node:http, which matters on
// this path where the generator, not the think time, bounds the rate.
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import autocannon from 'autocannon';
import { assertTargetAllowed } from '../config/target.ts';
import type { RenderContext } from '../config/template.ts';
import { buildRequest, captureInto, exceptionErrorKind, pickTask, statusErrorKind, type CompiledStep } from './flow-runner.ts';
import { runOnStart } from './http-user.ts';
import { abortableSleep, type RunningUser, type UserDeps } from './user-context.ts';

export const AUTOCANNON_VERSION = '9.0.0';

/** The tracker autocannon returns: an EventEmitter with stop() (and a then()). */
type Instance = EventEmitter & { stop(): void };

export function startAutocannonUser(id: number, deps: UserDeps, allowTargets: readonly string[]): RunningUser {
  // defence in depth: the config was checked, check again right before connecting
  assertTargetAllowed(deps.target.origin + '/', allowTargets, 'load driver');
  const ctx: RenderContext = { userId: id, vars: {} };
  let stopping = false;
  let wake: () => void = () => {};
  let instance: Instance | undefined;
  const sleep = (ms: number): Promise<void> => {
    const s = abortableSleep(ms);
    wake = s.wake;
    return s.done;
  };
  const stopped = (): boolean => stopping || Date.now() >= deps.deadlineEpochMs;

  const run = async (): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ok = await runOnStart(agent, deps, ctx, stopped, sleep).finally(() => agent.destroy());
    if (!ok || stopped()) return;
    let cur: CompiledStep = pickTask(deps.flow);
    const remainingS = Math.max(1, Math.ceil((deps.deadlineEpochMs - Date.now()) / 1000));
    const inst = autocannon({
      url: deps.target.origin,
      connections: 1,
      pipelining: 1,
      duration: remainingS,
      timeout: Math.max(1, Math.ceil(deps.requestTimeoutMs / 1000)),
      skipAggregateResult: true,
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => {
            cur = pickTask(deps.flow);
            const b = buildRequest(cur, ctx);
            return { ...req, method: b.method, path: b.path, headers: b.headers, body: b.body };
          },
          onResponse: (status: number, body: string) => {
            if (status < 400 && cur.capture.length) captureInto(cur, body, ctx.vars);
          },
        },
      ],
    } as unknown as autocannon.Options) as unknown as Instance;
    instance = inst;
    inst.on('response', (_client: unknown, status: number, resBytes: number, responseTimeMs: number) => {
      // 'response' fires before the next setupRequest, so `cur` is still this response's task
      deps.recorder.response(cur.name, cur.method, responseTimeMs * 1000, statusErrorKind(status), resBytes, status);
    });
    inst.on('reqError', (err: Error) => {
      const kind = exceptionErrorKind(err);
      deps.recorder.exception(cur.name, cur.method, kind, (err as { code?: string }).code ?? kind);
    });
    if (stopping) inst.stop();
    await new Promise<void>((resolve) => inst.on('done', () => resolve()));
  };
  const loop = run();
  return {
    id,
    stop() {
      stopping = true;
      wake();
      instance?.stop();
      return loop;
    },
  };
}

/** Bench baseline: plain autocannon, GET `/`, fixed connections and duration. Returns completed req/s. */
export async function rawAutocannonRps(url: string, connections: number, durationS: number): Promise<number> {
  assertTargetAllowed(new URL(url).origin + '/', [], 'bench');
  const result = await autocannon({ url, connections, duration: durationS });
  return result.requests.total / durationS;
}
