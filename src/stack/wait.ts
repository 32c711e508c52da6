// Polls a container until it reaches a wanted condition, failing fast when it can no longer get there.
import { realClock, type Clock } from '../common/clock.ts';
import type { ContainerInfo, ContainerRuntime } from './runtime/port.ts';

/**
 * ready: running, and healthy if the container has any healthcheck (the file's or the image's).
 * healthy: running and healthy; a container without a healthcheck fails.
 * completed: exited with code 0.
 */
export type WaitCondition = 'ready' | 'healthy' | 'completed';

export interface WaitOptions {
  timeoutMs: number;
  clock?: Clock;
  pollIntervalMs?: number;
  /** The healthcheck's retries, only to word the "unhealthy" reason. */
  retries?: number;
}

/** Why a wait failed, phrased to follow "service <name>: ". */
export class WaitError extends Error {}

export const DEFAULT_POLL_INTERVAL_MS = 250;

export async function waitForContainer(runtime: ContainerRuntime, id: string, condition: WaitCondition, options: WaitOptions): Promise<ContainerInfo> {
  const clock = options.clock ?? realClock;
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const deadline = clock.nowMs() + options.timeoutMs;
  for (;;) {
    const info = await runtime.inspect(id);
    if (info === undefined) throw new WaitError('container disappeared while waiting for it');
    if (verdict(info, condition, options.retries)) return info;
    const remaining = deadline - clock.nowMs();
    if (remaining <= 0) throw new WaitError(timeoutReason(info, condition, options.timeoutMs));
    await clock.sleep(Math.min(pollMs, remaining));
  }
}

/** true when reached, false to keep polling; throws when the condition can no longer be reached. */
function verdict(info: ContainerInfo, condition: WaitCondition, retries: number | undefined): boolean {
  const ended = info.state === 'exited' || info.state === 'dead';
  const oom = info.oomKilled ? ' (OOM-killed)' : '';
  if (condition === 'completed') {
    if (!ended) return false;
    if (info.exitCode === 0) return true;
    throw new WaitError(`exited with code ${info.exitCode}${oom}`);
  }
  if (ended) {
    const goal = condition === 'healthy' || info.health !== 'none' ? 'healthy' : 'running';
    throw new WaitError(`exited with code ${info.exitCode}${oom} before becoming ${goal}`);
  }
  if (info.state !== 'running') return false;
  switch (info.health) {
    case 'healthy':
      return true;
    case 'unhealthy':
      throw new WaitError(retries === undefined ? 'became unhealthy' : `unhealthy after ${retries} retries`);
    case 'none':
      if (condition === 'healthy') throw new WaitError('has no healthcheck, but a dependent waits for service_healthy');
      return true;
    case 'starting':
      return false;
  }
}

function timeoutReason(info: ContainerInfo, condition: WaitCondition, timeoutMs: number): string {
  if (condition === 'completed') return `did not exit within ${timeoutMs} ms (state ${info.state})`;
  if (info.health !== 'none' || condition === 'healthy') return `not healthy within ${timeoutMs} ms (health ${info.health})`;
  return `not running within ${timeoutMs} ms (state ${info.state})`;
}
