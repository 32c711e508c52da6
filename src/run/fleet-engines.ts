// The one place worker engines are registered (#15, docs/DISTRIBUTED.md): `--engine NAME` → a WorkerEngine.
import { UsageError } from '../common/errors.ts';
import { ExternalEngine } from '../load/fleet/external-engine.ts';
import { LocalEngine } from '../load/fleet/local-engine.ts';
import { dockerWorkerEngine } from './docker-workers.ts';
import { createKubernetesEngine } from './fleet-kubernetes.ts';
import { ENGINE_NAMES, type EngineName, type WorkerEngine } from '../load/fleet/port.ts';

export { DEFAULT_ENGINE, ENGINE_NAMES } from '../load/fleet/port.ts';

export interface EngineContext {
  /** a worker's stderr line (the local engine's children) */
  onOutput?: (index: number, line: string) => void;
  /** --namespace / --image of `run --engine kubernetes` (checked by kubernetesPlacement) */
  kubernetes?: { namespace: string; image?: string };
}

/** undefined: not built into this version (yet). */
const ENGINES: Record<EngineName, ((c: EngineContext) => WorkerEngine) | undefined> = {
  local: (c) => new LocalEngine({ onOutput: c.onOutput }),
  docker: (c) => dockerWorkerEngine({ onOutput: c.onOutput }),
  // an Indexed Job through the kubeconfig kubectl would use (docs/DISTRIBUTED.md, Kubernetes; not run on a cluster here)
  kubernetes: (c) => createKubernetesEngine(c.kubernetes ?? {}),
  // starts nothing: N workers started by someone else (the Job of `loadscope k8s manifest`) come to its port
  external: () => new ExternalEngine(),
};

/** The engine called `name`; an unknown or unavailable one is a usage error (exit 2) before anything starts. */
export function workerEngine(name: string, c: EngineContext = {}): WorkerEngine {
  if (!(ENGINE_NAMES as readonly string[]).includes(name)) throw new UsageError(`--engine ${name}: unknown worker engine (one of ${ENGINE_NAMES.join(', ')})`);
  const make = ENGINES[name as EngineName];
  if (!make)
    throw new UsageError(`--engine ${name}: this engine is not available in this build (available: ${ENGINE_NAMES.filter((n) => ENGINES[n]).join(', ')})`);
  return make(c);
}
