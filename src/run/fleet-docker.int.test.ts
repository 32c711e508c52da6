// `loadscope run --workers 3 --engine docker` against a loopback server of fixed capacity (#15 Acceptance): as
// fleet.int.test.ts does for the local engine, with the workers in loadscope/loadscope containers on the host
// network (their 127.0.0.1 is this machine's: the target and the coordinator are in reach, nothing else is).
//
// Capacity and tolerance as in fleet.int.test.ts: 20 slots × 100 ms = 200 req/s, 45 zero-think users, ±10 %
// (timer lateness ≤ 10 ms on this busy host: 9 %; second-boundary shifts: 1 %). Containers add no term: the
// workers share the host's network stack and clock.
// A worker container killed mid-run is fleet-lost.int.test.ts, in the pool.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import type { FleetReport } from '../load/fleet/fleet-load.ts';
import { FLEET_LABEL_ROLE, FLEET_ROLE_WORKER } from '../load/fleet/port.ts';
import { LABEL_RUN } from '../stack/labels.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { realRuntime } from '../stack/testing/runtime.ts';
import { ensureWorkerImage, FLEET_CAPACITY, seriesLines, startFleetRun, writeFleetConfig } from './testing/fleet-fixture.ts';

const { slots: SLOTS, serviceMs: SERVICE_MS, capacityRps: CAPACITY_RPS, tolerance: TOLERANCE, shape: SHAPE } = FLEET_CAPACITY;

const dir = mkdtempSync(join(tmpdir(), 'loadscope-fleet-docker-'));
let runtime: ContainerRuntime;
let server: Awaited<ReturnType<typeof startCapacityServer>>;
let runDir: string;
let code: number | null;
let stderr = '';

beforeAll(async () => {
  runtime = await realRuntime();
  await ensureWorkerImage(runtime);
  server = await startCapacityServer(SLOTS, SERVICE_MS);
  const run = startFleetRun({
    configPath: writeFleetConfig(dir, SHAPE),
    target: server.url,
    workers: 3,
    outDir: join(dir, 'results'),
    args: ['--engine', 'docker'],
  });
  code = await run.exited;
  stderr = run.stderr();
  runDir = run.runDir()!;
  if (!runDir) throw new Error(`no run directory:\n${stderr}`);
}, 600_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const manifest = (): { fleet: FleetReport; stoppedBy: string; runId: string } => JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8'));

describe('--workers 3 --engine docker, fixed-capacity target', () => {
  it(`merged throughput within ±${TOLERANCE * 100} % of ${CAPACITY_RPS} req/s over the judged hold seconds`, () => {
    expect(code, stderr).toBe(0);
    const judged = seriesLines(runDir).filter((l) => l.phase === 'hold' && !('final' in l) && (l.elapsedS as number) > 4 && (l.elapsedS as number) <= 14);
    expect(judged.length).toBe(10);
    const rps = judged.reduce((n, l) => n + (l.total as { count: number }).count, 0) / judged.length;
    console.log(
      JSON.stringify({ engine: 'docker', capacityRps: CAPACITY_RPS, mergedRps: rps, perSecond: judged.map((l) => (l.total as { count: number }).count) }),
    );
    expect(rps).toBeGreaterThanOrEqual((1 - TOLERANCE) * CAPACITY_RPS);
    expect(rps).toBeLessThanOrEqual((1 + TOLERANCE) * CAPACITY_RPS);
    for (const l of judged) expect(Object.values(l.workers as Record<string, { activeUsers: number }>).map((w) => w.activeUsers)).toEqual([15, 15, 15]);
  });

  it('one run directory with one report; the manifest lists the three worker containers', () => {
    expect(readdirSync(join(dir, 'results')).filter((n) => n !== 'latest')).toHaveLength(1);
    expect(readdirSync(runDir)).toEqual(expect.arrayContaining(['report.html', 'report.md', 'analysis.json', 'series.ndjson', 'manifest.json']));
    const m = manifest();
    expect(m.stoppedBy).toBe('completed');
    expect(m.fleet.engine).toBe('docker');
    expect(m.fleet.members.map((w) => [w.index, w.engine])).toEqual([0, 1, 2].map((i) => [i, 'docker']));
    m.fleet.members.forEach((w, i) => expect(w.name).toMatch(new RegExp(`^loadscope-worker-.+-${i}$`)));
    expect(m.fleet.lost).toEqual([]);
    console.log(JSON.stringify({ barrierSkewMs: m.fleet.barrierSkewMs, lateStartMs: m.fleet.lateStartMs }));
  });

  it('no worker container is left', async () => {
    expect(await runtime.list({ [LABEL_RUN]: manifest().runId, [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER })).toEqual([]);
  });
});
