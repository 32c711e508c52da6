// `run --workers N` and its companions → the fleet part of a run, or a usage error (exit 2) before anything starts
// (docs/DISTRIBUTED.md). Only the flags' meaning lives here; the engines are registered in run/fleet-engines.ts.
import { isIP } from 'node:net';
import { UsageError } from '../common/errors.ts';
import { DEFAULT_COORDINATOR_PORT, DEFAULT_ENGINE, RUN_ID_PATTERN, WORKER_TOKEN_ENV, type WorkerEngine } from '../load/fleet/port.ts';
import type { FleetRequest } from '../run/drive-fleet.ts';
import type { EngineContext } from '../run/fleet-engines.ts';

export type FleetPart = Pick<FleetRequest, 'engine' | 'count' | 'bindHost' | 'port' | 'token'> & { runId?: string };

export interface FleetFlags {
  workers?: string;
  engine?: string;
  coordinatorHost?: string;
  coordinatorPort?: string;
  runId?: string;
  namespace?: string;
  image?: string;
}

type Placement = (r: { namespace?: string; image?: string }) => { namespace: string; image?: string };
type EngineFactory = (name: string, c?: EngineContext) => WorkerEngine;

/** A host name or an IP literal: what the coordinator can listen on (checked again by the system when it binds). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** --workers N [--engine NAME] [--coordinator-host/-port] [--run-id] [--namespace] [--image]: the fleet, or exit 2. */
export function fleetFlags(flags: FleetFlags, env: NodeJS.ProcessEnv, workerEngine: EngineFactory, placement: Placement): FleetPart | undefined {
  const kube = flags.namespace !== undefined || flags.image !== undefined;
  if (flags.workers === undefined) {
    const stray = [
      flags.engine !== undefined && '--engine',
      flags.coordinatorHost !== undefined && '--coordinator-host',
      flags.coordinatorPort !== undefined && '--coordinator-port',
      flags.runId !== undefined && '--run-id',
      kube && '--namespace/--image',
    ].filter(Boolean);
    if (stray.length) throw new UsageError(`${stray.join(', ')} need --workers N`);
    return undefined;
  }
  const count = Number(flags.workers);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--workers ${flags.workers}: a whole number ≥ 1`);
  const engine = flags.engine ?? DEFAULT_ENGINE;
  if (kube && engine !== 'kubernetes') throw new UsageError(`--namespace and --image are for --engine kubernetes, not ${engine}`);
  const host = flags.coordinatorHost;
  if (host !== undefined && isIP(host) === 0 && !HOST_NAME.test(host))
    throw new UsageError(`--coordinator-host must be an IP address or a host name, got "${host}"`);
  const c: EngineContext = engine === 'kubernetes' ? { kubernetes: placement({ namespace: flags.namespace, image: flags.image }) } : {};
  const external = engine === 'external' ? externalFlags(flags, env) : rejectExternalOnly(flags, engine);
  return { engine: workerEngine(engine, c), count, ...(host !== undefined && { bindHost: host }), ...external };
}

/** `--engine external`: workers started by someone else know the coordinator's port and the run's token already. */
function externalFlags(flags: FleetFlags, env: NodeJS.ProcessEnv): Pick<FleetPart, 'port' | 'token' | 'runId'> {
  const port = flags.coordinatorPort === undefined ? DEFAULT_COORDINATOR_PORT : Number(flags.coordinatorPort);
  if (!/^\d+$/.test(flags.coordinatorPort ?? '1') || !Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UsageError(`--coordinator-port must be a port number from 1 to 65535, got "${flags.coordinatorPort}"`);
  if (flags.runId !== undefined && !RUN_ID_PATTERN.test(flags.runId))
    throw new UsageError(`--run-id must be letters, digits, '.', '_' or '-' (at most 100, no '/'), got "${flags.runId}"`);
  const token = env[WORKER_TOKEN_ENV];
  // never on the command line (it would show in ps and in the pod spec): the environment, as the workers get it
  if (!token) throw new UsageError(`--engine external needs the run's token in $${WORKER_TOKEN_ENV} (the workers were given the same one)`);
  return { port, token, ...(flags.runId !== undefined && { runId: flags.runId }) };
}

function rejectExternalOnly(flags: FleetFlags, engine: string): Record<string, never> {
  const only = [flags.coordinatorPort !== undefined && '--coordinator-port', flags.runId !== undefined && '--run-id'].filter(Boolean);
  if (only.length) throw new UsageError(`${only.join(' and ')}: for --engine external (workers started by someone else), not ${engine}`);
  return {};
}
