// `loadscope run --workers 3 --engine local` against a loopback server of fixed capacity (#15 Acceptance): the merged
// throughput is the server's capacity, one run directory, one report, the manifest lists the three workers, and no
// worker process is left. No Docker: the target is in this process, the workers are child processes of the CLI.
//
// Capacity: 20 slots × 100 ms = 200 req/s; 45 zero-think users (15 per worker) keep every slot busy with a queue
// behind it. Tolerance ±10 %, from its parts: a timer fires late by δ, so each slot serves 1000 / (100 + δ) req/s —
// δ up to 10 ms (a busy shared 2-core host) costs 9 %; the second boundaries move at most one batch of 20 (one slot
// each) between neighbouring seconds, ±20 / (200 × 10 s) = 1 % over the 10 judged seconds. Nothing makes it higher.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import type { FleetReport } from '../load/fleet/fleet-load.ts';
import { FLEET_CAPACITY, isAlive, seriesLines, startFleetRun, workerProcesses, writeFleetConfig } from './testing/fleet-fixture.ts';

const { slots: SLOTS, serviceMs: SERVICE_MS, capacityRps: CAPACITY_RPS, tolerance: TOLERANCE, shape: SHAPE } = FLEET_CAPACITY;

const dir = mkdtempSync(join(tmpdir(), 'loadscope-fleet-'));
let server: Awaited<ReturnType<typeof startCapacityServer>>;
let runDir: string;
let code: number | null;
const pidsSeen = new Map<number, number>();

beforeAll(async () => {
  server = await startCapacityServer(SLOTS, SERVICE_MS);
  const run = startFleetRun({
    configPath: writeFleetConfig(dir, SHAPE),
    target: server.url,
    workers: 3,
    outDir: join(dir, 'results'),
    args: ['--engine', 'local'],
  });
  const poll = setInterval(() => {
    for (const [i, pid] of workerProcesses(run.child.pid!)) pidsSeen.set(i, pid);
  }, 200);
  code = await run.exited;
  clearInterval(poll);
  runDir = run.runDir()!;
  if (!runDir) throw new Error(`no run directory:\n${run.stderr()}`);
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('--workers 3 --engine local, fixed-capacity target', () => {
  it(`merged throughput within ±${TOLERANCE * 100} % of ${CAPACITY_RPS} req/s over the judged hold seconds`, () => {
    expect(code).toBe(0);
    const judged = seriesLines(runDir).filter((l) => l.phase === 'hold' && !('final' in l) && (l.elapsedS as number) > 4 && (l.elapsedS as number) <= 14);
    expect(judged.length).toBe(10);
    const rps = judged.reduce((n, l) => n + (l.total as { count: number }).count, 0) / judged.length;
    console.log(JSON.stringify({ capacityRps: CAPACITY_RPS, mergedRps: rps, perSecond: judged.map((l) => (l.total as { count: number }).count) }));
    expect(rps).toBeGreaterThanOrEqual((1 - TOLERANCE) * CAPACITY_RPS);
    expect(rps).toBeLessThanOrEqual((1 + TOLERANCE) * CAPACITY_RPS);
    // each second's workers all reported (15 users each in the hold)
    for (const l of judged) expect(Object.values(l.workers as Record<string, { activeUsers: number }>).map((w) => w.activeUsers)).toEqual([15, 15, 15]);
  });

  it('one run directory with one report; the manifest lists the three workers and the barrier skew', () => {
    const results = readdirSync(join(dir, 'results')).filter((n) => n !== 'latest');
    expect(results).toHaveLength(1);
    expect(readdirSync(runDir)).toEqual(expect.arrayContaining(['report.html', 'report.md', 'analysis.json', 'series.ndjson', 'manifest.json']));
    const m = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as { fleet: FleetReport; stoppedBy: string };
    expect(m.stoppedBy).toBe('completed');
    expect(m.fleet.engine).toBe('local');
    expect(m.fleet.members.map((w) => [w.index, w.engine, w.name])).toEqual([0, 1, 2].map((i) => [i, 'local', `local-${i} (pid ${pidsSeen.get(i)})`]));
    expect(m.fleet.lost).toEqual([]);
    // one barrier for all: the workers' starts lie within a fraction of a second of each other
    expect(m.fleet.barrierSkewMs).toBeGreaterThanOrEqual(0);
    expect(m.fleet.barrierSkewMs).toBeLessThan(1000);
    console.log(JSON.stringify({ barrierSkewMs: m.fleet.barrierSkewMs, lateStartMs: m.fleet.lateStartMs }));
  });

  it('no worker process is left', () => {
    expect(pidsSeen.size).toBe(3);
    for (const pid of pidsSeen.values()) expect(isAlive(pid)).toBe(false);
  });
});
