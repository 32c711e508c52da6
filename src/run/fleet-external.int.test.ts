// The in-cluster contract of `loadscope k8s manifest` proven on this machine (#15; no cluster here): its output, run
// as processes exactly as the pods would run it (run/testing/k8s-local.ts: the coordinator Job's args, the worker
// Job's environment, the Secret and ConfigMap resolved; only the network rewritten to loopback), against the
// fixed-capacity target of fleet.int (20 slots × 100 ms = 200 req/s, ±10 %: the derivation is in fleet.int.test.ts).
// The workers start first, as pods may: they wait for the coordinator. One merged run directory named by the given
// run id; the manifest lists the three workers. Nothing is left running or listening. The capacity needs the cores
// (integration-alone); a worker killed mid-run is fleet-lost.int.test.ts, in the pool.
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FLEET_CAPACITY, isAlive, seriesLines } from './testing/fleet-fixture.ts';
import { portIsFree } from '../common/testing/free-port.ts';
import { K8S_WORKERS as WORKERS, manifestOf, outOf, PodProcesses } from './testing/k8s-pods.ts';

const { capacityRps: CAPACITY_RPS, tolerance: TOLERANCE, shape: SHAPE } = FLEET_CAPACITY;
const pods = new PodProcesses();

afterEach(() => pods.killAll());
afterAll(() => pods.removeDirs());

describe('k8s manifest, its pods run here as processes (workers first), --engine external coordinator', () => {
  it(`one merged run of ${WORKERS} workers at the target's capacity (${CAPACITY_RPS} req/s ±${TOLERANCE * 100} %); nothing left`, async () => {
    const { run, port, close } = await pods.manifestRun(SHAPE);
    try {
      expect(run.kinds).toEqual(['Secret', 'ConfigMap', 'Service', 'Job', 'Job']);
      expect(run.workers).toHaveLength(WORKERS);
      const workers = run.workers.map((p) => pods.start(p));
      await new Promise((r) => setTimeout(r, 2_000));
      const coordinator = pods.start(run.coordinator);
      const code = await coordinator.exited;
      expect(code, coordinator.stderr()).toBe(0);
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
      const out = outOf(run.coordinator);
      expect(readdirSync(out).filter((n) => n !== 'latest')).toEqual([run.runId]);
      const runDir = join(out, run.runId);
      expect(readdirSync(runDir)).toEqual(expect.arrayContaining(['report.html', 'report.md', 'analysis.json', 'series.ndjson', 'manifest.json']));
      const m = manifestOf(runDir);
      expect([m.runId, m.stoppedBy, m.fleet.engine, m.fleet.count]).toEqual([run.runId, 'completed', 'external', WORKERS]);
      expect(m.fleet.members.map((w) => [w.index, w.name, w.host])).toEqual([0, 1, 2].map((i) => [i, `external-${i}`, hostname()]));
      expect(m.fleet.lost).toEqual([]);
      expect(m.fleet.barrierSkewMs).toBeLessThan(1000);
      const judged = seriesLines(runDir).filter((l) => l.phase === 'hold' && !('final' in l) && (l.elapsedS as number) > 4 && (l.elapsedS as number) <= 14);
      expect(judged.length).toBe(10);
      const rps = judged.reduce((n, l) => n + (l.total as { count: number }).count, 0) / judged.length;
      console.log(
        JSON.stringify({
          capacityRps: CAPACITY_RPS,
          mergedRps: rps,
          barrierSkewMs: m.fleet.barrierSkewMs,
          perSecond: judged.map((l) => (l.total as { count: number }).count),
        }),
      );
      expect(rps).toBeGreaterThanOrEqual((1 - TOLERANCE) * CAPACITY_RPS);
      expect(rps).toBeLessThanOrEqual((1 + TOLERANCE) * CAPACITY_RPS);
      for (const l of judged) expect(Object.values(l.workers as Record<string, { activeUsers: number }>).map((w) => w.activeUsers)).toEqual([15, 15, 15]);
      for (const p of [coordinator, ...workers]) expect(isAlive(p.child.pid!)).toBe(false);
      expect(await portIsFree(port)).toBe(true);
    } finally {
      await close();
    }
  }, 150_000);
});
