// `loadscope k8s manifest` printed through the CLI and its pods started here as processes (k8s-local.ts resolves them),
// for fleet-external.int (the capacity run, alone) and fleet-lost.int (a worker killed, in the pool).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FleetReport } from '../../load/fleet/fleet-load.ts';
import { WORKER_TOKEN_ENV } from '../../load/fleet/port.ts';
import { startCapacityServer } from '../../load/testing/capacity-server.ts';
import { freePort } from '../../common/testing/free-port.ts';
import { FLEET_CAPACITY, writeFleetConfig } from './fleet-fixture.ts';
import { localPods, type LocalPod, type LocalRun } from './k8s-local.ts';
import { CLI, REPO_ROOT } from './stack-fixture.ts';

export const K8S_WORKERS = 3;

export interface PodProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

export interface ManifestRun {
  run: LocalRun;
  dir: string;
  port: number;
  target: string;
  close: () => Promise<void>;
}

/** The processes and directories a file started: `killAll` after each case, `removeDirs` after the file. */
export class PodProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly dirs: string[] = [];

  /** A pod's container as a process: `loadscope <args>` with its environment and nothing of ours (PATH only). */
  start(p: LocalPod): PodProcess {
    const child = spawn(process.execPath, [CLI, ...p.args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...p.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout!.resume();
    return { child, exited: new Promise((r) => child.once('exit', (code) => r(code))), stderr: () => stderr };
  }

  /** `loadscope k8s manifest` through the CLI, the token from the environment as for GitOps; its pods under `dir`. */
  async manifestRun(shape: Record<string, unknown>): Promise<ManifestRun> {
    const dir = mkdtempSync(join(tmpdir(), 'loadscope-k8s-local-'));
    this.dirs.push(dir);
    const server = await startCapacityServer(FLEET_CAPACITY.slots, FLEET_CAPACITY.serviceMs);
    const port = await freePort();
    const runId = `k8s-local-${process.pid}`;
    const args = ['k8s', 'manifest', 'fleet', '-c', writeFleetConfig(dir, shape), '--workers', String(K8S_WORKERS), '--run-id', runId];
    const yaml = execFileSync(process.execPath, [CLI, ...args, '--target', server.url, '--coordinator-port', String(port)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', [WORKER_TOKEN_ENV]: `token-${process.pid}-${Date.now()}` },
    });
    return { run: localPods(yaml, join(dir, 'pods')), dir, port, target: server.url, close: () => server.close() };
  }

  killAll(): void {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  removeDirs(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** The coordinator's results folder (its `--out`). */
export const outOf = (coordinator: LocalPod): string => coordinator.args[coordinator.args.indexOf('--out') + 1]!;

export const manifestOf = (runDir: string): { runId: string; stoppedBy: string; fleet: FleetReport } =>
  JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')) as { runId: string; stoppedBy: string; fleet: FleetReport };
