// Fleet runs through the real CLI (`loadscope run --workers N`) against a loopback target, and the worker
// processes they start, found through /proc (their parent and LOADSCOPE_WORKER_INDEX).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { WORKER_IMAGE_REF } from '../../load/fleet/docker-engine.ts';
import { WORKER_INDEX_ENV } from '../../load/fleet/port.ts';
import { ensureImages, imageBuildSettings } from '../../stack/images/ensure.ts';
import type { ContainerRuntime } from '../../stack/runtime/port.ts';
import { CLI, REPO_ROOT } from './stack-fixture.ts';

export interface FleetCliRun {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
  /** the run directory, once the CLI created it */
  runDir: () => string | undefined;
}

/** The worker image, before a docker-engine run (minutes when src/ changed), so the run's own timing is the run's. */
export async function ensureWorkerImage(runtime: ContainerRuntime): Promise<void> {
  await ensureImages({ runtime, composeDir: join(REPO_ROOT, 'compose'), ...imageBuildSettings(process.env), log: () => undefined, refs: [WORKER_IMAGE_REF] });
}

/** A config whose one scenario `fleet` has `shape` and zero think time, against a one-endpoint flow. */
export function writeFleetConfig(dir: string, shape: Record<string, unknown>, thinkTime = '0s'): string {
  const path = join(dir, 'loadscope.yaml');
  writeFileSync(path, stringifyYaml({ flow: { tasks: [{ name: 'work', path: '/work' }] }, scenarios: { fleet: { shape, thinkTime } } }));
  return path;
}

export function startFleetRun(o: { configPath: string; target: string; workers: number; outDir: string; args?: string[] }): FleetCliRun {
  const args = [
    CLI,
    'run',
    'fleet',
    '-c',
    o.configPath,
    '--target',
    o.target,
    '--out',
    o.outDir,
    '--no-metrics',
    '--workers',
    String(o.workers),
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const latest = join(o.outDir, 'latest');
  return { child, exited, stderr: () => stderr, runDir: () => (existsSync(latest) ? realpathSync(latest) : undefined) };
}

/** Live processes whose parent is `ppid` and that carry a worker index, by index. */
export function workerProcesses(ppid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis
      const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidOf !== ppid) continue;
      const env = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
      const idx = env.find((e) => e.startsWith(`${WORKER_INDEX_ENV}=`));
      if (idx) out.set(Number(idx.split('=')[1]), Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export const seriesLines = (runDir: string): Record<string, unknown>[] => {
  const file = join(runDir, 'series.ndjson');
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
};

/**
 * The fixed-capacity case of fleet.int and fleet-docker.int (the derivation of the ±10 % is in fleet.int.test.ts):
 * 20 slots × 100 ms = 200 req/s; ramp 2 s, then the hold: its first 2 s settle the queue, the next 10 s are judged.
 */
const FLEET_SLOTS = 20;
const FLEET_SERVICE_MS = 100;
export const FLEET_CAPACITY = {
  slots: FLEET_SLOTS,
  serviceMs: FLEET_SERVICE_MS,
  capacityRps: (FLEET_SLOTS * 1000) / FLEET_SERVICE_MS,
  tolerance: 0.1,
  shape: { kind: 'ramp', users: 45, rampUp: '2s', duration: '16s' },
};
