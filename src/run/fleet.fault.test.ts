// Faults of a fleet run through the real CLI (#15 Acceptance), no Docker: a worker killed mid-run ends the run, which
// is written as partial naming the worker, with no process left; a coordinator killed mid-run (kill -9: no exit
// handler runs) leaves its workers to finish their share of the plan by themselves, within their deadline. That the
// deadline alone stops a worker whose plan is longer is proven in fleet-worker.fault.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import type { FleetReport } from '../load/fleet/fleet-load.ts';
import { isAlive, seriesLines, startFleetRun, workerProcesses, writeFleetConfig, type FleetCliRun } from './testing/fleet-fixture.ts';
import { readEvents, waitFor } from './testing/stack-fixture.ts';

const dirs: string[] = [];
const pids = new Set<number>();
const runs: FleetCliRun[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  pids.clear();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** 3 workers, 30 users with 100-ms think time against a 100-req/s server, `durationS` long; resolves once `lines` seconds are written. */
async function startRun(
  durationS: number,
  lines: number,
): Promise<{ run: FleetCliRun; workers: Map<number, number>; server: Awaited<ReturnType<typeof startCapacityServer>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-fleet-fault-'));
  dirs.push(dir);
  const server = await startCapacityServer(10, 100);
  const run = startFleetRun({
    configPath: writeFleetConfig(dir, { kind: 'ramp', users: 30, rampUp: '1s', duration: `${durationS}s` }, '100ms'),
    target: server.url,
    workers: 3,
    outDir: join(dir, 'results'),
  });
  runs.push(run);
  const workers = await waitFor(
    '3 worker processes',
    () => {
      const w = workerProcesses(run.child.pid!);
      for (const pid of w.values()) pids.add(pid);
      return w.size === 3 ? w : undefined;
    },
    60_000,
  );
  await waitFor(
    `${lines} series lines`,
    () => {
      if (run.child.exitCode !== null) throw new Error(`the run ended early:\n${run.stderr()}`);
      const dir = run.runDir();
      return dir && seriesLines(dir).length >= lines ? true : undefined;
    },
    90_000,
    100,
  );
  return { run, workers, server };
}

describe('fleet faults', () => {
  it('a worker killed mid-run: the run ends, the report says partial and names the worker, no process left', async () => {
    const { run, workers, server } = await startRun(120, 3);
    try {
      const victim = workers.get(1)!;
      const killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
      const code = await run.exited;
      const endedAfterMs = Date.now() - killedAt;
      // written and analysed, but partial: infrastructure (3), never a green exit
      expect(code).toBe(3);
      const runDir = run.runDir()!;
      const m = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as { fleet: FleetReport; stoppedBy: string };
      const name = `local-1 (pid ${victim})`;
      expect(m.stoppedBy).toBe('worker-lost');
      expect(m.fleet.lost).toEqual([{ index: 1, name, reason: 'killed (SIGKILL)' }]);
      expect(readEvents(runDir).filter((e) => e.kind === 'worker-lost')).toEqual([expect.objectContaining({ worker: 1, name, reason: 'killed (SIGKILL)' })]);
      const md = readFileSync(join(runDir, 'report.md'), 'utf8');
      expect(md).toContain('INCOMPLETE RUN');
      expect(md).toContain(`partial run: load worker ${name} lost (killed (SIGKILL))`);
      const analysis = JSON.parse(readFileSync(join(runDir, 'analysis.json'), 'utf8')) as {
        incomplete: boolean;
        incidents: { kind: string; message: string }[];
      };
      expect(analysis.incomplete).toBe(true);
      expect(analysis.incidents.filter((i) => i.kind === 'worker-lost').map((i) => i.message)).toEqual([expect.stringContaining(`load worker ${name} lost`)]);
      for (const pid of workers.values()) expect(isAlive(pid), `worker pid ${pid}`).toBe(false);
      // the run stopped at the loss, not at its planned 120 s
      expect(seriesLines(runDir).length).toBeLessThan(30);
      console.log(JSON.stringify({ killToExitMs: endedAfterMs, seconds: seriesLines(runDir).length }));
    } finally {
      await server.close();
    }
  }, 150_000);

  it('the coordinator killed mid-run: its workers stop by themselves, within their deadline', async () => {
    const durationS = 12;
    const { run, workers, server } = await startRun(durationS, 2);
    try {
      const barrier = readEvents(run.runDir()!).find((e) => e.kind === 'fleet-barrier')!.atMs as number;
      run.child.kill('SIGKILL');
      await run.exited;
      // deadline = barrier + plan + grace (10 s + 10 % of the plan, engine.ts graceFor); then the stop bound (2 s) and
      // the last second's refused attempts (< 1 s); 2 s more for a busy host
      const deadlineMs = barrier + durationS * 1000 + 10_000 + durationS * 100;
      const boundMs = deadlineMs + 2_000 + 1_000 + 2_000;
      const endedMs = await waitFor(
        'every worker to end',
        () => ([...workers.values()].some(isAlive) ? undefined : Date.now()),
        boundMs - Date.now() + 5_000,
        100,
      );
      console.log(JSON.stringify({ workersEndedAfterBarrierMs: endedMs - barrier, deadlineAfterBarrierMs: deadlineMs - barrier }));
      expect(endedMs).toBeLessThanOrEqual(boundMs);
    } finally {
      await server.close();
    }
  }, 150_000);
});
