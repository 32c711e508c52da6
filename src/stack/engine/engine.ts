// Finds a Docker engine that answers, or starts a private one (root on Debian): no engine runs on a fresh machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EngineUnavailableError } from '../../common/errors.ts';
import { DockerodeRuntime, endpointFromEnv } from '../runtime/dockerode-runtime.ts';
import type { ContainerRuntime, EngineInfo } from '../runtime/port.ts';

export interface EngineOptions {
  dockerHost: string | undefined;
  /** Where a private dockerd logs. */
  logPath: string;
  isRoot: boolean;
  waitMs?: number;
  log?: (msg: string) => void;
}

export interface Engine {
  runtime: ContainerRuntime;
  info: EngineInfo;
  /** True when this call started dockerd. */
  started: boolean;
}

// Our engine: no bridge, no iptables, so it can never create networks or NAT rules; containers use host networking.
export const DOCKERD_ARGS = ['--bridge=none', '--iptables=false', '--ip6tables=false'] as const;

export async function ensureEngine(opts: EngineOptions): Promise<Engine> {
  const log = opts.log ?? (() => {});
  const runtime = new DockerodeRuntime(endpointFromEnv(opts.dockerHost));
  const first = await tryPing(runtime);
  if (first) return { runtime, info: first, started: false };
  if (opts.dockerHost) {
    throw new EngineUnavailableError(`DOCKER_HOST=${opts.dockerHost} does not answer. Start that engine, or unset DOCKER_HOST to let loadscope start its own.`);
  }
  if (!opts.isRoot || !existsSync('/etc/debian_version')) {
    throw new EngineUnavailableError(
      'No Docker engine answers at /var/run/docker.sock. Install Docker (Debian: apt-get install docker.io) and start it, ' +
        'or run as root on Debian so loadscope can start a private engine.',
    );
  }
  if (!which('dockerd')) {
    log('installing docker.io from apt (dockerd not found)…');
    aptInstall(['docker.io']);
  }
  if (!dockerdAlive()) {
    mkdirSync(dirname(opts.logPath), { recursive: true });
    const fd = openSync(opts.logPath, 'a');
    log(`starting private dockerd (${DOCKERD_ARGS.join(' ')}), log ${opts.logPath}`);
    const child = spawn('dockerd', [...DOCKERD_ARGS], { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
  }
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  while (Date.now() < deadline) {
    const info = await tryPing(runtime);
    if (info) return { runtime, info, started: true };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new EngineUnavailableError(`dockerd did not answer within ${opts.waitMs ?? 60_000} ms; see ${opts.logPath}`);
}

async function tryPing(runtime: ContainerRuntime): Promise<EngineInfo | undefined> {
  try {
    return await runtime.ping();
  } catch {
    return undefined;
  }
}

/** A dockerd already started (pidfile with a live pid) is waited for, never started twice. */
function dockerdAlive(): boolean {
  const pidFile = '/var/run/docker.pid';
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dockerd');
  } catch {
    return false;
  }
}

export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** apt-get install, updating the lists first when the package is unknown to them. */
export function aptInstall(packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): number | null => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env }).status;
  if (install() === 0) return;
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  if (install() !== 0) throw new EngineUnavailableError(`apt-get install ${packages.join(' ')} failed`);
}
