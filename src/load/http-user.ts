// Think-time users on node:http keep-alive agents (one socket per user, as a browser-less client would have).
// Why not autocannon here: it has no think time; pausing it means stopping the socket loop, and its
// rate limiter is per-second bursts. A plain agent loop sleeps exactly, and at ≤ a few hundred req/s
// per worker node:http costs little CPU. The zero-think-time, high-rate path uses autocannon instead.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { backoffMs, ONSTART_BACKOFF } from '../common/backoff.ts';
import { TimeoutError } from '../common/errors.ts';
import type { RenderContext } from '../config/template.ts';
import { buildRequest, captureInto, exceptionErrorKind, ONSTART_RESTART_PAUSE_MS, pickTask, statusErrorKind, type CompiledStep } from './flow-runner.ts';
import { abortableSleep, userRandom, type RunningUser, type UserDeps } from './user-context.ts';

export interface StepResult {
  ok: boolean;
  status?: number;
  body?: string;
}

/** One request, recorded under the step name. Never throws. */
export function sendStep(agent: http.Agent, deps: UserDeps, step: CompiledStep, ctx: RenderContext): Promise<StepResult> {
  const req = buildRequest(step, ctx);
  const lib = deps.target.protocol === 'https:' ? https : http;
  const startMs = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      const kind = exceptionErrorKind(err);
      deps.recorder.exception(step.name, step.method, kind, (err as { code?: string }).code ?? kind);
      resolve({ ok: false });
    };
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
    const r = lib.request(
      {
        agent,
        protocol: deps.target.protocol,
        hostname: deps.target.hostname.replace(/^\[|\]$/g, ''),
        port: deps.target.port,
        method: req.method,
        path: req.path,
        headers,
        timeout: deps.requestTimeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (step.capture.length > 0) chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const status = res.statusCode ?? 0;
          const kind = statusErrorKind(status);
          deps.recorder.response(step.name, step.method, (performance.now() - startMs) * 1000, kind, bytes, status);
          resolve({ ok: kind === undefined, status, body: chunks.length ? Buffer.concat(chunks).toString('utf8') : '' });
        });
        res.on('error', fail);
      },
    );
    r.on('timeout', () => {
      const e = new TimeoutError('request', deps.requestTimeoutMs);
      fail(e);
      r.destroy(e);
    });
    r.on('error', fail);
    r.end(req.body);
  });
}

/** Runs onStart until every step succeeded and captured; false when stopped first. */
export async function runOnStart(
  agent: http.Agent,
  deps: UserDeps,
  ctx: RenderContext,
  stopped: () => boolean,
  sleep: (ms: number) => Promise<void>,
): Promise<boolean> {
  let step = 0;
  let attempt = 0;
  while (step < deps.flow.onStart.length) {
    if (stopped() || deps.runStopped?.() === true || Date.now() >= deps.deadlineEpochMs) return false;
    const s = deps.flow.onStart[step] as CompiledStep;
    const res = await sendStep(agent, deps, s, ctx);
    if (res.ok && captureInto(s, res.body ?? '', ctx.vars)) {
      step++;
      attempt = 0;
      continue;
    }
    attempt++;
    if (attempt > s.retries) {
      // the whole flow starts again after a pause, so a broken enroll shows as errors, not a hot loop
      deps.onEvent('onstart-failed', { userId: ctx.userId, step: s.name, status: res.status });
      step = 0;
      attempt = 0;
      await sleep(ONSTART_RESTART_PAUSE_MS);
    } else await sleep(backoffMs(attempt, ONSTART_BACKOFF));
  }
  return true;
}

export function startHttpUser(id: number, deps: UserDeps): RunningUser {
  const agent = new (deps.target.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 1 });
  const random = userRandom(deps, id);
  const ctx: RenderContext = { userId: id, vars: {}, random };
  let stopping = false;
  let wake: () => void = () => {};
  const sleep = (ms: number): Promise<void> => {
    const s = abortableSleep(ms);
    wake = s.wake;
    return s.done;
  };
  const stopped = (): boolean => stopping || deps.runStopped?.() === true || Date.now() >= deps.deadlineEpochMs;
  const loop = (async () => {
    if (!(await runOnStart(agent, deps, ctx, stopped, sleep))) return;
    const spanMs = deps.thinkMaxMs - deps.thinkMinMs;
    while (!stopped()) {
      const task = pickTask(deps.flow, random());
      const res = await sendStep(agent, deps, task, ctx);
      if (res.ok && task.capture.length) captureInto(task, res.body ?? '', ctx.vars);
      if (stopped()) break;
      const thinkMs = deps.thinkMinMs + random() * spanMs;
      if (thinkMs > 0) await sleep(thinkMs);
      // a zero-think loop against a failing target would spin; yield to the event loop
      else if (!res.ok) await sleep(10);
    }
  })().finally(() => agent.destroy());
  return {
    id,
    stop(cancel) {
      stopping = true;
      wake();
      // the request in flight fails on its destroyed socket; the recorder books it as cancelled (run stopped)
      if (cancel) agent.destroy();
      return loop;
    },
  };
}
