// Input of the analysis layer: a serialisable mirror of one run directory (series.ndjson, histograms.ndjson,
// events.ndjson). Analysis may not import store/ or samplers/, so the shapes are restated here structurally;
// the store's `SeriesLine` and the samplers' `ContainerSample` / `PostgresSample` are assignable to them.

export type ErrorKind = '4xx' | '5xx' | 'timeout' | 'connection' | 'other';
export const ERROR_KINDS: readonly ErrorKind[] = ['4xx', '5xx', 'timeout', 'connection', 'other'];

/** One endpoint (or the total) for one second. Percentile fields are display-only: never re-aggregate them. */
export interface EndpointSecond {
  count: number;
  /** By kind; unknown keys are tolerated and counted as errors. */
  errors: Readonly<Record<string, number>>;
  bytes: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests in flight when the run stopped: in no count, error or latency (absent in older runs). */
  cancelled?: number;
}

/** The subset of the samplers' ContainerSample the analysis reads. */
export interface ContainerPoint {
  cpuCores: number | null;
  cpuLimitUtilization: number | null;
  cpuLimitCores: number | null;
  throttledRatio: number | null;
  memoryWorkingSetBytes: number;
  /** Anonymous memory (v1 rss, v2 anon); absent in runs recorded without it. */
  memoryRssBytes?: number | null;
  memoryLimitBytes: number | null;
  restarts: number;
  oomKills: number;
  /** > ~2000 means the stats stream is stalled or the container is down; such samples are skipped. */
  ageMs?: number;
}

/** The subset of the samplers' PostgresSample the analysis reads. */
export interface PostgresPoint {
  maxConnections: number;
  connectionsByState: Readonly<Record<string, number>>;
  /** application_name → state → count. */
  connectionsByApp: Readonly<Record<string, Readonly<Record<string, number>>>>;
  waitingByType: Readonly<Record<string, number>>;
  ungrantedLocks: number;
  blockedSessions: number;
  idleInTransaction: number;
  oldestIdleInTransactionSeconds: number;
  /** Autovacuum workers running (absent in runs recorded before it was sampled). */
  autovacuumWorkers?: number;
  /** Per-second deltas of the cumulative counters (checkpoint fields absent in runs recorded before they were sampled). */
  perSecond?: PostgresRates | null;
}

/** The subset of the samplers' PostgresPerSecond the analysis reads; every field optional so old runs still read. */
export interface PostgresRates {
  checkpointsTimed?: number;
  checkpointsReq?: number;
  /** Buffers written by checkpoints / by backends themselves (8 KiB each), per second. */
  buffersCheckpoint?: number;
  buffersBackend?: number;
  checkpointWriteMs?: number;
  checkpointSyncMs?: number;
}

/** The subset of the host sampler's HostSample the analysis reads. */
export interface HostPoint {
  cpuUtilization: number | null;
  /** Share of CPU time idle waiting for I/O (0..1); absent where not sampled. */
  iowaitRatio?: number | null;
}

/** One line of series.ndjson. */
export interface SeriesPoint {
  tMs: number;
  elapsedS: number;
  phase: string;
  activeUsers: number;
  endpoints: Readonly<Record<string, EndpointSecond>>;
  total: EndpointSecond;
  /** cpuCores = the generator process's CPU in cores; droppedLate = constant-rate requests not sent on time. */
  generator: { cpuCores: number | null; droppedLate?: number };
  containers?: Readonly<Record<string, ContainerPoint>>;
  postgres?: PostgresPoint | null;
  /** Optional pool gauge from the app (e.g. Hikari pending); used for the pool predicate when present. */
  pool?: { active: number; max: number; pending: number } | null;
  /** The host the generator runs on (absent in old runs). */
  host?: HostPoint | null;
  /** Sampling scheduler health: lagMs = how late this second's tick fired (the orchestrator's event loop was blocked). */
  sampler?: { lagMs?: number } | null;
  /** Fleet runs (docs/DISTRIBUTED.md): each worker's own CPU and its host's cores this second, by worker index. */
  workers?: Readonly<Record<string, { cpuCores: number; hostCores: number }>>;
}

/** One line of histograms.ndjson: per endpoint, hdr-histogram-js compressed base64, values in µs. */
export interface HistogramLine {
  tMs: number;
  elapsedS: number;
  unit: 'us';
  endpoints: Readonly<Record<string, string>>;
}

/** One line of events.ndjson (phase, users, break, stop, container-died, container-oom, sampler errors…). */
export interface RunEvent {
  tMs: number;
  kind: string;
  service?: string;
  oomKilled?: boolean;
  [detail: string]: unknown;
}

export interface RunRecord {
  series: readonly SeriesPoint[];
  histograms: readonly HistogramLine[];
  events: readonly RunEvent[];
}

/** Closed time interval in elapsed seconds (series `elapsedS`), [fromS, toS]. */
export interface WindowS {
  fromS: number;
  toS: number;
}

export type Status = 'pass' | 'fail' | 'no-data';

export const errorsOf = (e: EndpointSecond | undefined): number =>
  e ? Object.values(e.errors).reduce((n, v) => n + (Number.isFinite(v) ? v : 0), 0) : 0;
