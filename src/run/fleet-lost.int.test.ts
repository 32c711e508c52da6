// A load worker lost mid-run, on the engines whose capacity runs need the cores (fleet-docker.int, fleet-external.int,
// alone): here the fault only — the run ends, the report says partial and names the worker, nothing is left running
// or listening. These assert events, exit codes and leftovers, not throughput, so they run in the integration pool.
// (The local engine's lost worker is fleet.fault.test.ts.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SILENT_MS, type FleetReport } from '../load/fleet/fleet-load.ts';
import { FLEET_LABEL_ROLE, FLEET_ROLE_WORKER } from '../load/fleet/port.ts';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import { LABEL_OWNER_PID, LABEL_SERVICE } from '../stack/labels.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { ensureWorkerImage, isAlive, seriesLines, startFleetRun, writeFleetConfig } from './testing/fleet-fixture.ts';
import { portIsFree } from '../common/testing/free-port.ts';
import { manifestOf, outOf, PodProcesses } from './testing/k8s-pods.ts';
import { readEvents, waitFor } from './testing/stack-fixture.ts';

let runtime: ContainerRuntime;
const pods = new PodProcesses();

beforeAll(async () => {
  runtime = await realRuntime();
  await ensureWorkerImage(runtime);
}, 600_000);
afterEach(() => pods.killAll());
afterAll(() => pods.removeDirs());

describe('k8s manifest pods as processes (--engine external): a worker killed mid-run', () => {
  it('a worker killed mid-run is lost by its silence: partial run naming it, exit 3, the others stopped; nothing left', async () => {
    const { run, port, close } = await pods.manifestRun({ kind: 'ramp', users: 30, rampUp: '1s', duration: '120s' });
    try {
      const workers = run.workers.map((p) => pods.start(p));
      const coordinator = pods.start(run.coordinator);
      const runDir = join(outOf(run.coordinator), run.runId);
      await waitFor('3 series lines', () => (seriesLines(runDir).length >= 3 ? true : undefined), 90_000, 100);
      const killedAt = Date.now();
      workers[1]!.child.kill('SIGKILL');
      const code = await coordinator.exited;
      const endedAfterMs = Date.now() - killedAt;
      expect(code, coordinator.stderr()).toBe(3);
      const m = manifestOf(runDir);
      expect(m.stoppedBy).toBe('worker-lost');
      expect(m.fleet.lost).toEqual([{ index: 1, name: 'external-1', reason: `silent for ${SILENT_MS / 1000} s` }]);
      expect(readEvents(runDir).filter((e) => e.kind === 'worker-lost')).toEqual([expect.objectContaining({ worker: 1, name: 'external-1' })]);
      expect(readFileSync(join(runDir, 'report.md'), 'utf8')).toContain('INCOMPLETE RUN');
      // the coordinator cannot kill what it did not start: the others end at its `stop` reply
      expect([await workers[0]!.exited, await workers[2]!.exited]).toEqual([0, 0]);
      console.log(JSON.stringify({ killToExitMs: endedAfterMs, seconds: seriesLines(runDir).length }));
      expect(endedAfterMs).toBeLessThan(SILENT_MS + 10_000);
      for (const p of [coordinator, ...workers]) expect(isAlive(p.child.pid!)).toBe(false);
      expect(await portIsFree(port)).toBe(true);
    } finally {
      await close();
    }
  }, 150_000);
});

describe('--engine docker, a worker container killed mid-run', () => {
  it('the run ends, the report says partial and names the container, no container left', async () => {
    const faultDir = mkdtempSync(join(tmpdir(), 'loadscope-fleet-docker-kill-'));
    const slow = await startCapacityServer(10, 100);
    const run = startFleetRun({
      configPath: writeFleetConfig(faultDir, { kind: 'ramp', users: 30, rampUp: '1s', duration: '120s' }, '100ms'),
      target: slow.url,
      workers: 3,
      outDir: join(faultDir, 'results'),
      args: ['--engine', 'docker'],
    });
    try {
      const mine = { [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER, [LABEL_OWNER_PID]: String(run.child.pid) };
      await waitFor(
        '3 series lines',
        () => {
          if (run.child.exitCode !== null) throw new Error(`the run ended early:\n${run.stderr()}`);
          const d = run.runDir();
          return d && seriesLines(d).length >= 3 ? true : undefined;
        },
        120_000,
        100,
      );
      const [victim] = await runtime.list({ ...mine, [LABEL_SERVICE]: 'worker-1' });
      if (!victim) throw new Error('worker-1 container not found');
      await runtime.signal(victim.id, 'SIGKILL');
      await run.exited;
      const d = run.runDir()!;
      const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { fleet: FleetReport; stoppedBy: string };
      expect(m.stoppedBy).toBe('worker-lost');
      expect(m.fleet.lost).toEqual([{ index: 1, name: victim.name, reason: 'exited (exit 137, SIGKILL)' }]);
      const md = readFileSync(join(d, 'report.md'), 'utf8');
      expect(md).toContain('INCOMPLETE RUN');
      expect(md).toContain(`partial run: load worker ${victim.name} lost`);
      expect(seriesLines(d).length).toBeLessThan(30);
      expect(await runtime.list(mine)).toEqual([]);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      for (const c of await runtime.list({ [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER, [LABEL_OWNER_PID]: String(run.child.pid) })) await runtime.remove(c.id);
      await slow.close();
      rmSync(faultDir, { recursive: true, force: true });
    }
  }, 240_000);
});
