// The run directory's format, declared once: manifest.json and each NDJSON line (series, histograms, events).
// The writer, the reader and the analysis use the types inferred here (analysis/types.ts re-exports them), so a
// field is added in one place. Pure data (no I/O): analysis/ may import this module's types (eslint.config.js).
// Objects are loose: the samplers write more fields than the analysis reads, and a newer writer may add some.
import { z } from 'zod';

export { FORMAT_VERSION, SUPPORTED_FORMAT_VERSIONS } from './format-version.ts';

const counts = z.record(z.string(), z.number());

/** One endpoint (or the total) for one second. Percentile fields are display-only: never re-aggregate them. */
export const endpointSecondSchema = z.looseObject({
  count: z.number(),
  /** By kind; unknown keys are tolerated and counted as errors. */
  errors: counts.readonly(),
  bytes: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
  maxMs: z.number(),
  /** Requests in flight when the run stopped: in no count, error or latency (written only when > 0). */
  cancelled: z.number().optional(),
});

/** A container's second as the analysis reads it (the samplers' ContainerSample writes more). */
export const containerPointSchema = z.looseObject({
  cpuCores: z.number().nullable(),
  cpuLimitUtilization: z.number().nullable(),
  cpuLimitCores: z.number().nullable(),
  throttledRatio: z.number().nullable(),
  memoryWorkingSetBytes: z.number(),
  /** Anonymous memory (v1 rss, v2 anon); absent in runs recorded without it. */
  memoryRssBytes: z.number().nullable().optional(),
  /** The container's busiest thread (samplers/threads.ts): cores on the CPU, and share of the second runnable (on a
   * core or waiting for one; null where the kernel keeps no schedstat). Absent in runs recorded without them. */
  busiestThreadCores: z.number().nullable().optional(),
  busiestThreadRunnable: z.number().nullable().optional(),
  memoryLimitBytes: z.number().nullable(),
  restarts: z.number(),
  oomKills: z.number(),
  /** > ~2000 means the stats stream is stalled or the container is down; such samples are skipped. */
  ageMs: z.number().optional(),
});

/** Per-second deltas of the cumulative counters; every field optional so runs recorded before they were sampled still read. */
export const postgresRatesSchema = z.looseObject({
  checkpointsTimed: z.number().optional(),
  checkpointsReq: z.number().optional(),
  /** Buffers written by checkpoints / by backends themselves (8 KiB each), per second. */
  buffersCheckpoint: z.number().optional(),
  buffersBackend: z.number().optional(),
  checkpointWriteMs: z.number().optional(),
  checkpointSyncMs: z.number().optional(),
});

export const postgresPointSchema = z.looseObject({
  maxConnections: z.number(),
  connectionsByState: counts.readonly(),
  /** application_name → state → count. */
  connectionsByApp: z.record(z.string(), counts.readonly()).readonly(),
  waitingByType: counts.readonly(),
  ungrantedLocks: z.number(),
  blockedSessions: z.number(),
  idleInTransaction: z.number(),
  oldestIdleInTransactionSeconds: z.number(),
  /** Autovacuum workers running (absent in runs recorded before it was sampled). */
  autovacuumWorkers: z.number().optional(),
  perSecond: postgresRatesSchema.nullable().optional(),
});

export const hostPointSchema = z.looseObject({
  cpuUtilization: z.number().nullable(),
  /** Share of CPU time idle waiting for I/O (0..1); absent where not sampled. */
  iowaitRatio: z.number().nullable().optional(),
});

export const poolGaugeSchema = z.looseObject({ active: z.number(), max: z.number(), pending: z.number() });

/** One line of series.ndjson. Sections other than the named ones (a caller's own) are kept as unknown. */
export const seriesLineSchema = z.looseObject({
  /** ISO copy of tMs for people reading the file; the reader does not keep it. */
  t: z.string().optional(),
  /** Epoch ms at the end of this second. */
  tMs: z.number(),
  elapsedS: z.number(),
  phase: z.string(),
  activeUsers: z.number(),
  endpoints: z.record(z.string(), endpointSecondSchema).readonly(),
  total: endpointSecondSchema,
  /** cpuCores = the generator process's CPU in cores; droppedLate = constant-rate requests not sent on time. */
  generator: z.looseObject({ cpuCores: z.number().nullable(), droppedLate: z.number().optional() }),
  containers: z.record(z.string(), containerPointSchema).readonly().optional(),
  postgres: postgresPointSchema.nullable().optional(),
  /** Optional pool gauge from the app (e.g. Hikari pending); used for the pool predicate when present. */
  pool: poolGaugeSchema.nullable().optional(),
  /** The host the generator runs on (absent in old runs). */
  host: hostPointSchema.nullable().optional(),
  /** Sampling scheduler health: lagMs = how late this second's tick fired (the orchestrator's event loop was blocked). */
  sampler: z.looseObject({ lagMs: z.number().optional() }).nullable().optional(),
  /** Fleet runs (docs/DISTRIBUTED.md): each worker's own CPU and its host's cores this second, by worker index. */
  workers: z
    .record(z.string(), z.looseObject({ cpuCores: z.number(), hostCores: z.number() }))
    .readonly()
    .optional(),
});

/**
 * One line of histograms.ndjson: per endpoint, an HdrHistogram V2 encoding in base64, values in µs. Format 3 writes it
 * uncompressed (load/histogram.ts encodeStoredHistogram); formats 1 and 2 wrote hdr-histogram-js's compressed form.
 * The reader takes either: the encoding's cookie says which.
 */
export const histogramLineSchema = z.looseObject({
  tMs: z.number(),
  elapsedS: z.number(),
  unit: z.literal('us'),
  endpoints: z.record(z.string(), z.string()).readonly(),
});

/** One line of events.ndjson (phase, users, break, stop, container-died, container-oom, sampler errors…). */
export const runEventSchema = z.looseObject({
  t: z.string().optional(),
  tMs: z.number(),
  kind: z.string(),
  service: z.string().optional(),
  oomKilled: z.boolean().optional(),
});

/** The resolved scenario (config/schema.ts `Scenario`) as far as the analysis reads it; run-scenario.ts writes a `Scenario` here, so the compiler checks it fits. */
export const manifestScenarioSchema = z.looseObject({
  shape: z.looseObject({ kind: z.string().optional(), rateRps: z.number().optional() }).optional(),
  thinkTime: z.looseObject({ minMs: z.number().optional(), maxMs: z.number().optional() }).optional(),
  slo: z
    .looseObject({
      p50Ms: z.number().optional(),
      p95Ms: z.number().optional(),
      p99Ms: z.number().optional(),
      errorRatio: z.number().optional(),
      minThroughputRps: z.number().optional(),
    })
    .optional(),
});

/** A phase and the users it holds, as the shape planned it (`{ phase: 'step-3:40', users: 40 }`). */
export const phaseLevelSchema = z.object({ phase: z.string(), users: z.number() });

/** manifest.json; every field optional because old or killed runs may lack some. */
export const runManifestSchema = z.looseObject({
  /** Absent in runs written before it existed: version 1. */
  formatVersion: z.number().optional(),
  runId: z.string().optional(),
  scenario: z.string().optional(),
  shape: z.string().optional(),
  timeScale: z.number().optional(),
  /** Seed of the users' random choices (docs/CONFIG.md, seed); absent in runs recorded before it existed. */
  seed: z.number().optional(),
  plannedDurationMs: z.number().optional(),
  mode: z.string().optional(),
  target: z.string().optional(),
  host: z.string().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().nullable().optional(),
  stoppedBy: z.string().nullable().optional(),
  /** Epoch ms at which the load started (elapsedS 0); written with the first second. */
  startMs: z.number().optional(),
  /** Cores of the load-generator host, when the run recorded it. */
  generatorCores: z.number().optional(),
  /** The SUT's DB pool size the stack was started with (stack mode), as a number. */
  poolMax: z.number().optional(),
  /** The planned level of each phase that holds one (ladder steps, recovery). */
  phaseLevels: z.array(phaseLevelSchema).optional(),
  /** The resolved config of the scenario that ran. */
  scenarioConfig: manifestScenarioSchema.optional(),
  /** Version 1 kept the resolved scenario only inside the whole config. */
  config: z.looseObject({ scenarios: z.record(z.string(), manifestScenarioSchema.optional()).optional() }).optional(),
  stackEnv: z.record(z.string(), z.string()).optional(),
  /** Fleet runs (docs/DISTRIBUTED.md): the engine, the workers, the barrier skew and the workers lost. */
  fleet: z
    .looseObject({
      engine: z.string().optional(),
      count: z.number().optional(),
      members: z.array(z.looseObject({ index: z.number(), name: z.string() })).optional(),
      barrierSkewMs: z.number().optional(),
      lateStartMs: z.number().optional(),
      lost: z.array(z.looseObject({ index: z.number(), name: z.string(), reason: z.string() })).optional(),
    })
    .optional(),
});

export type EndpointSecond = z.infer<typeof endpointSecondSchema>;
export type ContainerPoint = z.infer<typeof containerPointSchema>;
export type PostgresRates = z.infer<typeof postgresRatesSchema>;
export type PostgresPoint = z.infer<typeof postgresPointSchema>;
export type HostPoint = z.infer<typeof hostPointSchema>;
export type SeriesLine = z.infer<typeof seriesLineSchema>;
export type HistogramLine = z.infer<typeof histogramLineSchema>;
export type RunEvent = z.infer<typeof runEventSchema>;
export type ManifestScenario = z.infer<typeof manifestScenarioSchema>;
export type PhaseLevel = z.infer<typeof phaseLevelSchema>;
export type RunManifest = z.infer<typeof runManifestSchema>;
