// The worker-engine port (#15, docs/DISTRIBUTED.md): how a coordinator starts N `loadscope worker` processes
// somewhere — child processes on this machine, containers on a Docker engine, or an Indexed Job on Kubernetes —
// and learns when one ends. The engines know nothing of the load itself: each worker fetches its assignment from
// the coordinator (URL + per-run token) and streams its seconds back over HTTP.

/** What every engine needs to start one run's workers. */
export interface FleetSpec {
  runId: string;
  /** how many workers; each is told its index 0..count-1 (on Kubernetes: JOB_COMPLETION_INDEX) */
  count: number;
  /** the coordinator's base URL as the workers must reach it, e.g. http://127.0.0.1:37123 */
  coordinatorUrl: string;
  /** the per-run secret; passed in the environment (WORKER_TOKEN_ENV), never on a command line */
  token: string;
  /** epoch ms after which a worker stops by itself, coordinator or not; engines also use it to reap */
  deadlineEpochMs: number;
  /** how long the coordinator waits for a worker's first contact; the worker retries that contact as long (never longer:
   * a worker whose coordinator is gone does not linger). Passed as WORKER_START_ALLOWANCE_ENV. */
  startAllowanceMs?: number;
}

/** One worker's end as the engine saw it (process exit, container die, pod failed). */
export interface WorkerExit {
  index: number;
  /** process exit code; undefined when killed by a signal or when the engine cannot tell */
  exitCode?: number;
  signal?: string;
  /** engine's words for it: "exited 0", "killed (SIGKILL)", "OOMKilled", "pod Failed: ..." */
  reason: string;
  atMs: number;
}

/** The started workers. */
export interface Fleet {
  /** engine-specific names of the workers, by index (pid, container name, pod/job name) — listed in the manifest */
  readonly members: ReadonlyArray<{ index: number; name: string }>;
  /** resolves when every worker has ended (or was reaped) */
  readonly ended: Promise<WorkerExit[]>;
  /** called once per worker as it ends */
  onExit(listener: (exit: WorkerExit) => void): void;
  /** kills one worker (tests and the coordinator's own stop); unknown index is a no-op */
  kill(index: number): Promise<void>;
  /** stops every worker and removes what the engine created (containers, pods, job); idempotent */
  stop(): Promise<void>;
}

/** The engines, in the order `--engine` lists them; the first is the default when `--workers` is given. `external`
 * starts nothing: it takes over N workers someone else started (e.g. the Indexed Job of `loadscope k8s manifest`). */
export const ENGINE_NAMES = ['local', 'docker', 'kubernetes', 'external'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
export const DEFAULT_ENGINE: EngineName = ENGINE_NAMES[0];

export interface WorkerEngine {
  readonly name: EngineName;
  /** how long its workers may take to ask for their assignment; default: the coordinator's own (fleet-load.ts) */
  readonly startAllowanceMs?: number;
  start(spec: FleetSpec): Promise<Fleet>;
}

/** Time a worker may take to be scheduled, pull its image and reach its coordinator: the Kubernetes Job's deadline
 * allows it on top of the scenario, the `kubernetes` and `external` coordinators wait this long for their workers, and
 * a worker not told otherwise (WORKER_START_ALLOWANCE_ENV; a static manifest's pods) keeps retrying its first contact
 * this long (a pod may start before its coordinator's). */
export const WORKER_START_ALLOWANCE_MS = 120_000;

/** The environment a worker reads: the coordinator, its index and the token. One place for these names. */
export const WORKER_COORDINATOR_ENV = 'LOADSCOPE_COORDINATOR_URL';
export const WORKER_INDEX_ENV = 'LOADSCOPE_WORKER_INDEX';
export const WORKER_TOKEN_ENV = 'LOADSCOPE_WORKER_TOKEN';
/** Milliseconds the worker retries its first contact: the coordinator's own wait for it (FleetSpec.startAllowanceMs). */
export const WORKER_START_ALLOWANCE_ENV = 'LOADSCOPE_WORKER_START_ALLOWANCE_MS';
/** Kubernetes' Indexed Job sets this on each pod; the worker reads it when WORKER_INDEX_ENV is absent. */
export const K8S_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** A run id given to a coordinator (`run --run-id`, the manifests): it names the run directory, so no '/' or '..'. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The port of a coordinator its workers were told in advance: the manifests' Service, `--engine external`. */
export const DEFAULT_COORDINATOR_PORT = 8787;

/** The worker image the docker engine builds (compose/images/loadscope) and the Kubernetes Job runs by default. */
export const WORKER_IMAGE_REF = 'loadscope/loadscope:dev';

/** The worker image the docker engine builds (compose/images/loadscope); its entry point is `loadscope`, so the Job
 * passes only WORKER_ARGS. A cluster needs it in a registry it pulls from (or loaded into the nodes): --image. */
export const DEFAULT_WORKER_IMAGE = WORKER_IMAGE_REF;
/** The Kubernetes namespace of the Job, Service, ConfigMap and Secret when none is given. */
export const DEFAULT_NAMESPACE = 'default';

/** The command each engine runs (after the node + loadscope entry point): `loadscope worker`. */
export const WORKER_ARGS = ['worker'] as const;

/** Whatever an engine creates carries managedLabels (stack/labels.ts: run, owner, project) plus this role label,
 * so `loadscope down`, the reaper and the tests find and remove leftover workers like leftover stacks. */
export const FLEET_LABEL_ROLE = 'loadscope.role';
export const FLEET_ROLE_WORKER = 'worker';

/** The environment for worker `index` of a fleet. */
export function workerEnv(spec: FleetSpec, index: number): Record<string, string> {
  return {
    [WORKER_COORDINATOR_ENV]: spec.coordinatorUrl,
    [WORKER_INDEX_ENV]: String(index),
    [WORKER_TOKEN_ENV]: spec.token,
    ...(spec.startAllowanceMs !== undefined && { [WORKER_START_ALLOWANCE_ENV]: String(spec.startAllowanceMs) }),
  };
}
