// The local engine with real child processes (`loadscope worker`), against a coordinator whose answers the test
// chooses: each exit is reported once with its reason; at the deadline every worker is killed and reaped.
import { afterEach, describe, expect, it } from 'vitest';
import { newRunToken, startCoordinator, type Coordinator } from './coordinator.ts';
import { LocalEngine } from './local-engine.ts';
import type { Fleet, WorkerExit } from './port.ts';

let coord: Coordinator | undefined;
let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.stop();
  await coord?.close();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pidOf = (name: string): number => Number(/pid (\d+)/.exec(name)![1]);

async function fleetWith(assignment: () => Promise<undefined>, deadlineInMs: number): Promise<{ exits: WorkerExit[]; asked: Set<number> }> {
  const token = newRunToken();
  const asked = new Set<number>();
  coord = await startCoordinator({
    token,
    count: 2,
    handlers: {
      assignment: (i) => {
        asked.add(i);
        return assignment();
      },
      start: () => Promise.resolve(undefined),
      second: () => ({}),
    },
  });
  const exits: WorkerExit[] = [];
  fleet = await new LocalEngine().start({ runId: 'r', count: 2, coordinatorUrl: coord.url, token, deadlineEpochMs: Date.now() + deadlineInMs });
  fleet.onExit((e) => exits.push(e));
  return { exits, asked };
}

describe('LocalEngine', () => {
  it('starts N workers with their index and token; a worker turned away exits 0, reported once', async () => {
    const { exits, asked } = await fleetWith(() => Promise.resolve(undefined), 60_000);
    expect(fleet!.members.map((m) => m.name)).toEqual([expect.stringMatching(/^local-0 \(pid \d+\)$/), expect.stringMatching(/^local-1 \(pid \d+\)$/)]);
    const ended = await fleet!.ended;
    expect(ended.map((e) => [e.index, e.exitCode, e.reason])).toEqual([
      [0, 0, 'exited 0'],
      [1, 0, 'exited 0'],
    ]);
    expect([...asked].sort()).toEqual([0, 1]);
    expect(exits.map((e) => e.index).sort()).toEqual([0, 1]);
  }, 60_000);

  it('kills and reaps every worker at the fleet deadline', async () => {
    // the coordinator never answers: only the engine's deadline ends the workers
    const { exits } = await fleetWith(() => new Promise(() => {}), 8_000);
    const pids = fleet!.members.map((m) => pidOf(m.name));
    const ended = await fleet!.ended;
    expect(ended.map((e) => e.reason)).toEqual(['killed (SIGTERM)', 'killed (SIGTERM)']);
    expect(exits).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    await fleet!.stop(); // idempotent
  }, 60_000);
});
