import { describe, expect, it } from 'vitest';
import { WORKER_COORDINATOR_ENV, WORKER_INDEX_ENV, WORKER_START_ALLOWANCE_ENV, WORKER_TOKEN_ENV, workerEnv } from '../load/fleet/port.ts';
import { workerSettings } from './fleet-worker.ts';

const spec = { runId: 'r', count: 2, coordinatorUrl: 'http://127.0.0.1:40000', token: 'tok', deadlineEpochMs: 0 };

describe('a worker’s settings from its environment', () => {
  it('round-trips what an engine gives it, the first-contact allowance included when the coordinator set one', () => {
    expect(workerSettings(workerEnv({ ...spec, startAllowanceMs: 60_000 }, 1))).toEqual({
      url: spec.coordinatorUrl,
      index: 1,
      token: 'tok',
      startAllowanceMs: 60_000,
    });
    expect(workerSettings(workerEnv(spec, 0))).toEqual({ url: spec.coordinatorUrl, index: 0, token: 'tok' });
  });

  it('refuses an allowance that is not a positive whole number of milliseconds, naming the variable', () => {
    const env = { [WORKER_COORDINATOR_ENV]: spec.coordinatorUrl, [WORKER_INDEX_ENV]: '0', [WORKER_TOKEN_ENV]: 'tok' };
    for (const bad of ['0', '-5', '1.5', 'soon', ''])
      expect(() => workerSettings({ ...env, [WORKER_START_ALLOWANCE_ENV]: bad })).toThrow(new RegExp(`${WORKER_START_ALLOWANCE_ENV} \\(milliseconds > 0\\)`));
  });
});
