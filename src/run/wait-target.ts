// Before load: the target must answer (GET /health 200 when the flow has it, else a TCP connect), bounded.
import http from 'node:http';
import net from 'node:net';
import { realClock, type Clock } from '../common/clock.ts';
import { LoadscopeError } from '../common/errors.ts';
import { portOf } from '../config/target.ts';

/** One probe may take this long: a target that answers slower is not ready for load yet. */
const PROBE_TIMEOUT_MS = 2_000;
/** Between probes: ready within a quarter second of answering, without busy-polling a starting app. */
const PROBE_INTERVAL_MS = 250;
/** Default bound on the whole wait (the stack's own health wait has already passed in stack mode). */
const DEFAULT_READY_TIMEOUT_MS = 60_000;

function probeHealth(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: portOf(url), path: '/health', timeout: PROBE_TIMEOUT_MS, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function probeTcp(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: portOf(url) });
    s.setTimeout(PROBE_TIMEOUT_MS, () => s.destroy());
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
  });
}

export async function waitForTarget(target: URL, opts: { useHealth: boolean; timeoutMs?: number; signal?: AbortSignal; clock?: Clock }): Promise<number> {
  const clock = opts.clock ?? realClock;
  const startMs = clock.monotonicMs();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  while (clock.monotonicMs() - startMs < timeoutMs) {
    if (opts.signal?.aborted) throw new LoadscopeError('ABORTED', 'aborted while waiting for the target');
    if (await (opts.useHealth && target.protocol === 'http:' ? probeHealth(target) : probeTcp(target))) return Math.round(clock.monotonicMs() - startMs);
    await clock.sleep(PROBE_INTERVAL_MS);
  }
  throw new LoadscopeError('STACK_START_FAILED', `target ${target.origin} not ready after ${timeoutMs} ms (${opts.useHealth ? 'GET /health' : 'TCP connect'})`);
}
