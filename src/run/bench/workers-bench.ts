// 1 vs 2 local worker processes (#15, docs/DISTRIBUTED.md) against one trivial loopback server in its own process:
// the fleet's merged throughput and the ratio. Zero think time, the same users split over the workers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowTarget } from '../../config/target.ts';
import { runFleetLoad } from '../../load/fleet/fleet-load.ts';
import { LocalEngine } from '../../load/fleet/local-engine.ts';
import { planShape } from '../../load/shapes/registry.ts';
import { startServer } from './load-bench.ts';

export interface WorkersBench {
  /** merged req/s by worker count, over the steady seconds */
  rps: Record<number, number>;
  /** barrier skew by worker count, ms */
  skewMs: Record<number, number | undefined>;
}

/** The first seconds carry each worker's start (JIT warm-up, one client per connection): skipped, as in load-bench. */
const WARMUP_S = 2;

async function fleetRps(url: string, workers: number, users: number, durationS: number): Promise<{ rps: number; skewMs?: number }> {
  const counts: number[] = [];
  const r = await runFleetLoad(
    {
      flow: { onStart: [], tasks: [{ name: 'root', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] },
      target: allowTarget(url, [], 'bench'),
      timeline: planShape({ kind: 'ramp', users, rampUpMs: 0, durationMs: durationS * 1000 }),
      thinkMinMs: 0,
      thinkMaxMs: 0,
      requestTimeoutMs: 10_000,
      onSecond: (s) => {
        if (!s.final && s.elapsedS > WARMUP_S) counts.push(s.endpoints.get('root')?.count ?? 0);
      },
    },
    { runId: `bench-workers-${workers}`, engine: new LocalEngine(), count: workers, allowTargets: [] },
  );
  return { rps: counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length), skewMs: r.fleet.barrierSkewMs };
}

export async function workersBench(o: { users: number; durationS: number; log: (line: string) => void }): Promise<WorkersBench> {
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-bench-workers-'));
  const server = await startServer(dir);
  const out: WorkersBench = { rps: {}, skewMs: {} };
  try {
    for (const n of [1, 2]) {
      const r = await fleetRps(server.url, n, o.users, o.durationS);
      out.rps[n] = r.rps;
      out.skewMs[n] = r.skewMs;
      o.log(
        `${n} worker${n > 1 ? 's' : ''}: ${r.rps.toFixed(0)} req/s merged (${o.users} zero-think users, ${o.durationS} s, barrier skew ${r.skewMs ?? '?'} ms)`,
      );
    }
  } finally {
    server.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
