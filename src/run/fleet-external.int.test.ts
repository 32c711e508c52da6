// The in-cluster contract of `loadscope k8s manifest` proven on this machine (#15; no cluster here): its output, run
// as processes exactly as the pods would run it (run/testing/k8s-local.ts: the coordinator Job's args, the worker
// Job's environment, the Secret and ConfigMap resolved; only the network rewritten to loopback), against the
// fixed-capacity target of fleet.int (20 slots × 100 ms = 200 req/s, ±10 %: the derivation is in fleet.int.test.ts).
// The workers start first, as pods may: they wait for the coordinator. One merged run directory named by the given
// run id; the manifest lists the three workers. A worker killed mid-run (no engine sees it: the coordinator started
// nothing) is lost by its silence: a partial run naming it, exit 3. Nothing is left running or listening.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FleetReport } from '../load/fleet/fleet-load.ts';
import { SILENT_MS } from '../load/fleet/fleet-load.ts';
import { WORKER_TOKEN_ENV } from '../load/fleet/port.ts';
import { startCapacityServer } from '../load/testing/capacity-server.ts';
import { FLEET_CAPACITY, isAlive, seriesLines, writeFleetConfig } from './testing/fleet-fixture.ts';
import { localPods, type LocalPod, type LocalRun } from './testing/k8s-local.ts';
import { CLI, readEvents, REPO_ROOT, waitFor } from './testing/stack-fixture.ts';

const { slots: SLOTS, serviceMs: SERVICE_MS, capacityRps: CAPACITY_RPS, tolerance: TOLERANCE, shape: SHAPE } = FLEET_CAPACITY;
const WORKERS = 3;
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** A pod's container as a process: `loadscope <args>` with its environment and nothing of ours (PATH only). */
function start(p: LocalPod): Proc {
  const child = spawn(process.execPath, [CLI, ...p.args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...p.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.resume();
  return { child, exited: new Promise((r) => child.once('exit', (code) => r(code))), stderr: () => stderr };
}

/** `loadscope k8s manifest` through the CLI, the token from the environment as for GitOps; its pods under `dir`. */
async function manifestRun(
  durationShape: Record<string, unknown>,
): Promise<{ run: LocalRun; dir: string; port: number; target: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-k8s-local-'));
  dirs.push(dir);
  const server = await startCapacityServer(SLOTS, SERVICE_MS);
  const port = await freePort();
  const runId = `k8s-local-${process.pid}`;
  const yaml = execFileSync(
    process.execPath,
    [
      CLI,
      'k8s',
      'manifest',
      'fleet',
      '-c',
      writeFleetConfig(dir, durationShape),
      '--workers',
      String(WORKERS),
      '--run-id',
      runId,
      '--target',
      server.url,
      '--coordinator-port',
      String(port),
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', [WORKER_TOKEN_ENV]: `token-${process.pid}-${Date.now()}` } },
  );
  return { run: localPods(yaml, join(dir, 'pods')), dir, port, target: server.url, close: () => server.close() };
}

const manifestOf = (runDir: string): { runId: string; stoppedBy: string; fleet: FleetReport } =>
  JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as { runId: string; stoppedBy: string; fleet: FleetReport };

async function portIsFree(port: number): Promise<boolean> {
  const s = createServer();
  try {
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

describe('k8s manifest, its pods run here as processes (workers first), --engine external coordinator', () => {
  it(`one merged run of ${WORKERS} workers at the target's capacity (${CAPACITY_RPS} req/s ±${TOLERANCE * 100} %); nothing left`, async () => {
    const { run, port, close } = await manifestRun(SHAPE);
    try {
      expect(run.kinds).toEqual(['Secret', 'ConfigMap', 'Service', 'Job', 'Job']);
      expect(run.workers).toHaveLength(WORKERS);
      const workers = run.workers.map(start);
      await new Promise((r) => setTimeout(r, 2_000));
      const coordinator = start(run.coordinator);
      const code = await coordinator.exited;
      expect(code, coordinator.stderr()).toBe(0);
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
      const out = run.coordinator.args[run.coordinator.args.indexOf('--out') + 1]!;
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

  it('a worker killed mid-run is lost by its silence: partial run naming it, exit 3, the others stopped; nothing left', async () => {
    const { run, port, close } = await manifestRun({ kind: 'ramp', users: 30, rampUp: '1s', duration: '120s' });
    try {
      const workers = run.workers.map(start);
      const coordinator = start(run.coordinator);
      const out = run.coordinator.args[run.coordinator.args.indexOf('--out') + 1]!;
      const runDir = join(out, run.runId);
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
