// Before load: the target must answer (GET /health 200 when the flow has it, else a TCP connect), bounded.
import http from 'node:http';
import net from 'node:net';
import { LoadscopeError } from '../common/errors.ts';

function probeHealth(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 80, path: '/health', timeout: 2_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function probeTcp(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) });
    s.setTimeout(2_000, () => s.destroy());
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
  });
}

export async function waitForTarget(target: URL, opts: { useHealth: boolean; timeoutMs?: number; signal?: AbortSignal }): Promise<number> {
  const startMs = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  while (Date.now() - startMs < timeoutMs) {
    if (opts.signal?.aborted) throw new LoadscopeError('ABORTED', 'aborted while waiting for the target');
    if (await (opts.useHealth && target.protocol === 'http:' ? probeHealth(target) : probeTcp(target))) return Date.now() - startMs;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new LoadscopeError('STACK_START_FAILED', `target ${target.origin} not ready after ${timeoutMs} ms (${opts.useHealth ? 'GET /health' : 'TCP connect'})`);
}
