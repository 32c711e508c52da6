// `loadscope up | down | ps` as stages: the engine, the Compose file and the stack wired here, so the CLI only
// parses flags and prints what comes back.
import type { Env } from '../common/interpolate.ts';
import { resolveInputPath } from '../common/paths.ts';
import { ensureEngine } from '../stack/engine/engine.ts';
import { LABEL_MANAGED, LABEL_RUN, LABEL_SERVICE } from '../stack/labels.ts';
import { loadComposeFile } from '../stack/compose/load.ts';
import { downByLabel, startStack } from '../stack/stack.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { dockerStackProvider } from './docker-stack.ts';
import type { StackProvider } from './run-scenario.ts';

/** Where dockerd logs when loadscope has to start it itself. */
const DEFAULT_DOCKERD_LOG = '/var/log/loadscope/dockerd.log';

/** How to reach (or start) the Docker engine, from the environment. */
function engineOptions(env: Env): { dockerHost: string | undefined; logPath: string; isRoot: boolean } {
  return { dockerHost: env.DOCKER_HOST, logPath: env.LOADSCOPE_DOCKERD_LOG ?? DEFAULT_DOCKERD_LOG, isRoot: process.getuid?.() === 0 };
}

/** The real stack provider for `run`, configured from the environment. */
export function stackProviderFromEnv(env: Env): StackProvider {
  const e = engineOptions(env);
  return dockerStackProvider({ env, dockerHost: e.dockerHost, dockerdLogPath: e.logPath, isRoot: e.isRoot });
}

export async function connectEngine(env: Env, log: (m: string) => void): Promise<ContainerRuntime> {
  return (await ensureEngine({ ...engineOptions(env), log })).runtime;
}

export interface UpRequest {
  composePath: string;
  runId: string;
  healthTimeoutMs: number;
  env: Env;
  log: (m: string) => void;
}

/** Brings the stack up healthy and leaves it running; returns its services. */
export async function stackUp(r: UpRequest): Promise<{ name: string; containerId: string }[]> {
  const project = loadComposeFile(resolveInputPath(r.composePath), r.env);
  const runtime = await connectEngine(r.env, r.log);
  const stack = await startStack({ runtime, project, runId: r.runId, healthTimeoutMs: r.healthTimeoutMs, detached: true });
  const services = stack.services.map((s) => ({ name: s.name, containerId: s.containerId }));
  await stack.detach();
  return services;
}

/** Removes every loadscope-managed container (of one run when given); returns their names. */
export async function stackDown(o: { runId?: string; env: Env; log: (m: string) => void }): Promise<string[]> {
  const runtime = await connectEngine(o.env, o.log);
  return downByLabel(runtime, { [LABEL_MANAGED]: 'true', ...(o.runId ? { [LABEL_RUN]: o.runId } : {}) });
}

export interface ManagedContainer {
  name: string;
  run: string;
  service: string;
  state: string;
  health: string;
}

export async function stackPs(o: { env: Env; log: (m: string) => void }): Promise<ManagedContainer[]> {
  const runtime = await connectEngine(o.env, o.log);
  const rows = await runtime.list({ [LABEL_MANAGED]: 'true' });
  return rows.map((c) => ({ name: c.name, run: c.labels[LABEL_RUN] ?? '', service: c.labels[LABEL_SERVICE] ?? '', state: c.state, health: String(c.health) }));
}
