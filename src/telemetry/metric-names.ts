// Every metric loadscope exports, in one place: otel.ts creates instruments from these definitions, the docs
// table and the dashboard generator derive Prometheus names from them. No OTel import here (pure data).

export type InstrumentKind = 'counter' | 'histogram' | 'observableCounter' | 'observableUpDownCounter' | 'observableGauge';

export interface MetricDef {
  name: string;
  kind: InstrumentKind;
  unit: string;
  valueType: 'int' | 'double';
  description: string;
  /** Datapoint attribute keys, common ones included. */
  attributes: readonly string[];
  /** Explicit bucket boundaries (histograms only), in the metric's unit. */
  buckets?: readonly number[];
}

/** On every series. */
export const RUN_ATTRS = ['run_id', 'scenario'] as const;
/**
 * Only on synchronous instruments (requests, errors, latency), where a per-phase cumulative series is meaningful.
 * Observed gauges don't carry it: the SDK keeps exporting an attribute set's last value after it stops being
 * observed (opentelemetry-js#4096), so a phase label would leave flat stale copies of every gauge. Join with
 * loadscope_phase == 1 instead.
 */
export const PHASE_ATTR = 'phase';

/** Latency buckets in seconds: 1 ms … 30 s, roughly 1-2.5-5 steps. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30] as const;

const C = [...RUN_ATTRS, 'service'] as const;
const R = RUN_ATTRS;
const P = [...RUN_ATTRS, PHASE_ATTR] as const;

function def(
  name: string,
  kind: InstrumentKind,
  unit: string,
  attributes: readonly string[],
  description: string,
  valueType: 'int' | 'double' = 'double',
  buckets?: readonly number[],
): MetricDef {
  return buckets ? { name, kind, unit, valueType, description, attributes, buckets } : { name, kind, unit, valueType, description, attributes };
}

export const METRICS = {
  // Load engine
  usersActive: def('loadscope.users.active', 'observableGauge', '{user}', R, 'Virtual users currently running.', 'int'),
  phase: def(
    'loadscope.phase',
    'observableGauge',
    '1',
    [...R, 'phase', 'phase_index'],
    '1 for the current phase, 0 for phases already left (join on this to slice other series by phase).',
    'int',
  ),
  requests: def(
    'loadscope.requests',
    'counter',
    '{request}',
    [...P, 'endpoint', 'status_class'],
    'Completed requests by endpoint and status class (2xx…5xx).',
    'int',
  ),
  errors: def('loadscope.errors', 'counter', '{error}', [...P, 'kind'], 'Request errors by kind (timeout, connection, mismatch, …).', 'int'),
  requestDuration: def(
    'http.client.request.duration',
    'histogram',
    's',
    [...P, 'endpoint'],
    'Request latency as seen by the load generator.',
    'double',
    LATENCY_BUCKETS_S,
  ),
  // Containers (semconv names where they exist)
  containerCpuUsage: def('container.cpu.usage', 'observableGauge', '{cpu}', C, 'CPU in cores: Δcpu time / Δwall time between consecutive stats samples.'),
  containerCpuTime: def('container.cpu.time', 'observableCounter', 's', [...C, 'cpu.mode'], 'Cumulative CPU time by mode (user, system).'),
  containerCpuLimitUtilization: def(
    'loadscope.container.cpu.limit_utilization',
    'observableGauge',
    '1',
    C,
    'CPU cores used / CPU limit (only for containers with a CPU limit).',
  ),
  containerCpuThrottledTime: def('loadscope.container.cpu.throttled_time', 'observableCounter', 's', C, 'Cumulative time the CFS throttled the container.'),
  containerCpuThrottledPeriods: def(
    'loadscope.container.cpu.throttled_periods',
    'observableCounter',
    '{period}',
    C,
    'Cumulative CFS periods in which the container was throttled.',
    'int',
  ),
  containerCpuPeriods: def('loadscope.container.cpu.periods', 'observableCounter', '{period}', C, 'Cumulative CFS enforcement periods elapsed.', 'int'),
  containerMemoryUsage: def('container.memory.usage', 'observableUpDownCounter', 'By', C, 'Memory usage including page cache (cgroup memory usage).', 'int'),
  containerMemoryWorkingSet: def(
    'container.memory.working_set',
    'observableUpDownCounter',
    'By',
    C,
    'Usage minus inactive file cache: what docker stats shows and the OOM killer acts on.',
    'int',
  ),
  containerMemoryRss: def('container.memory.rss', 'observableUpDownCounter', 'By', C, 'Anonymous memory (v1 total_rss, v2 anon).', 'int'),
  containerMemoryAvailable: def(
    'container.memory.available',
    'observableUpDownCounter',
    'By',
    C,
    'Limit minus working set (only for containers with a memory limit).',
    'int',
  ),
  containerMemoryLimit: def('loadscope.container.memory.limit', 'observableUpDownCounter', 'By', C, 'Memory limit (only for containers with one).', 'int'),
  containerNetworkIo: def(
    'container.network.io',
    'observableCounter',
    'By',
    [...C, 'network.io.direction'],
    'Cumulative network bytes (all interfaces); absent with network_mode host.',
    'int',
  ),
  containerDiskIo: def('container.disk.io', 'observableCounter', 'By', [...C, 'disk.io.direction'], 'Cumulative block I/O bytes (all devices).', 'int'),
  containerRestarts: def('loadscope.container.restarts', 'observableCounter', '{restart}', C, 'Container restarts during the run.', 'int'),
  containerOomKills: def('loadscope.container.oom_kills', 'observableCounter', '{kill}', C, 'OOM kills during the run.', 'int'),
  // Postgres
  pgBackends: def('postgresql.backends', 'observableUpDownCounter', '{connection}', R, 'Client backends (sampler excluded).', 'int'),
  pgConnectionMax: def('postgresql.connection.max', 'observableGauge', '{connection}', R, 'max_connections.', 'int'),
  pgCommits: def('postgresql.commits', 'observableCounter', '{commit}', R, 'Cumulative commits in the sampled database.', 'int'),
  pgRollbacks: def('postgresql.rollbacks', 'observableCounter', '{rollback}', R, 'Cumulative rollbacks in the sampled database.', 'int'),
  pgDeadlocks: def('postgresql.deadlocks', 'observableCounter', '{deadlock}', R, 'Cumulative deadlocks in the sampled database.', 'int'),
  pgBlksHit: def('postgresql.blks_hit', 'observableCounter', '{block}', R, 'Cumulative buffer cache hits.', 'int'),
  pgBlksRead: def('postgresql.blks_read', 'observableCounter', '{block}', R, 'Cumulative blocks read from disk (or OS cache).', 'int'),
  pgTempIo: def('postgresql.temp.io', 'observableCounter', 'By', R, 'Cumulative bytes written to temporary files.', 'int'),
  pgLocks: def('postgresql.database.locks', 'observableGauge', '{lock}', [...R, 'mode', 'granted'], 'Locks by mode, granted or waiting.', 'int'),
  pgConnections: def(
    'loadscope.postgresql.connections',
    'observableGauge',
    '{connection}',
    [...R, 'state', 'application_name'],
    'Client backends by state and application_name ("unknown" state = not visible to the sampler role).',
    'int',
  ),
  pgWaiting: def(
    'loadscope.postgresql.waiting',
    'observableGauge',
    '{session}',
    [...R, 'wait_event_type'],
    'Active sessions waiting, by wait_event_type.',
    'int',
  ),
  pgBlocked: def('loadscope.postgresql.blocked', 'observableGauge', '{session}', R, 'Sessions blocked by another session (pg_blocking_pids).', 'int'),
  pgUngrantedLocks: def('loadscope.postgresql.locks.waiting', 'observableGauge', '{lock}', R, 'Lock requests not granted.', 'int'),
  pgOldestXactAge: def('loadscope.postgresql.oldest_xact_age', 'observableGauge', 's', R, 'Age of the oldest open transaction.'),
  pgIdleInTransaction: def('loadscope.postgresql.idle_in_transaction', 'observableGauge', '{session}', R, 'Sessions idle in transaction.', 'int'),
  pgIdleInTransactionAge: def(
    'loadscope.postgresql.idle_in_transaction.oldest_age',
    'observableGauge',
    's',
    R,
    'Longest time a session has been idle in transaction.',
  ),
  pgUp: def('loadscope.postgresql.up', 'observableGauge', '1', R, '1 when the last Postgres sample succeeded, 0 during an outage.', 'int'),
  // Host and generator
  hostCpuUsage: def('loadscope.host.cpu.usage', 'observableGauge', '1', R, 'Host CPU utilisation, 0..1 of all CPUs.'),
  hostMemoryUsage: def('loadscope.host.memory.usage', 'observableUpDownCounter', 'By', R, 'Host memory in use (excluding reclaimable cache).', 'int'),
  generatorCpuUsage: def(
    'loadscope.generator.cpu.usage',
    'observableGauge',
    '{cpu}',
    R,
    'CPU of the loadscope process in cores; near 1 means the generator itself is the bottleneck.',
  ),
  generatorMemoryRss: def('loadscope.generator.memory.rss', 'observableUpDownCounter', 'By', R, 'RSS of the loadscope process.', 'int'),
  // Verdicts: the post-mortem's own functions over the run so far, final once the run ends (docs/ANALYSIS.md,
  // Live verdicts). A verdict series, once exported, reads NaN when the judge has no value any more (the SDK
  // would otherwise keep exporting its stale last value), hence double gauges (the SDK drops NaN on int ones).
  sloStatus: def('loadscope.slo.status', 'observableGauge', '1', [...R, 'slo'], 'SLO verdict per SLO (named as in analysis.json): 1 pass, 0 fail, -1 no data.'),
  leakSlope: def(
    'loadscope.leak.slope',
    'observableGauge',
    'By/h',
    [...R, 'service'],
    'Working-set growth per service in bytes/hour as fitted by the leak detector (analysis.json leaks[].slopeBytesPerHour); absent until a first fit, NaN without one.',
  ),
  leakStatus: def(
    'loadscope.leak.status',
    'observableGauge',
    '1',
    [...R, 'service'],
    'Leak verdict per service, anonymous-memory cross-check included: 1 PASS, 0.5 WARN (e.g. page-cache growth), 0 FAIL, -1 INCONCLUSIVE.',
  ),
  breakingPoint: def(
    'loadscope.breaking_point.users',
    'observableGauge',
    '{user}',
    R,
    'Users at the breaking point found by the capacity analysis (absent until found, NaN if it is withdrawn).',
  ),
  verdictsPartial: def(
    'loadscope.verdicts.partial',
    'observableGauge',
    '1',
    R,
    '1 while the verdict metrics judge the run so far; 0 once they are the post-mortem (= analysis.json).',
    'int',
  ),
  // Sampler health
  samplerDuration: def('loadscope.sampler.duration', 'observableGauge', 's', [...R, 'sampler'], 'Duration of each sampler in the last tick.'),
  samplerLag: def('loadscope.sampler.lag', 'observableGauge', 's', R, 'How late the last tick started versus its due time.'),
  samplerSkippedTicks: def(
    'loadscope.sampler.skipped_ticks',
    'observableCounter',
    '{tick}',
    R,
    'Ticks skipped because the previous one was still running.',
    'int',
  ),
  // Remote write (only while pushing to a remote-write endpoint)
  remoteWriteFailures: def(
    'loadscope.remote_write.failures',
    'observableCounter',
    '{push}',
    R,
    'Remote-write pushes given up after their retries (the load goes on; each is in events.ndjson).',
    'int',
  ),
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;

/** Values of loadscope_slo_status by analysis status. */
export const SLO_STATUS_VALUE = { pass: 1, fail: 0, 'no-data': -1 } as const;
/** Values of loadscope_leak_status by leak verdict tier. */
export const LEAK_STATUS_VALUE = { PASS: 1, WARN: 0.5, FAIL: 0, INCONCLUSIVE: -1 } as const;
export const ALL_METRICS: readonly MetricDef[] = Object.values(METRICS);

/** OTel-JS exporter sanitising (PrometheusSerializer): invalid chars → '_', runs of '_' collapsed. */
export function sanitizePromName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

export function isMonotonicCounter(def: Pick<MetricDef, 'kind'>): boolean {
  return def.kind === 'counter' || def.kind === 'observableCounter';
}

/** Prometheus family name under the OTel-JS exporter: no unit suffix; `_total` for monotonic counters. */
export function promName(def: Pick<MetricDef, 'name' | 'kind'>): string {
  const base = sanitizePromName(def.name);
  return isMonotonicCounter(def) && !base.endsWith('_total') ? `${base}_total` : base;
}

/** The series names actually exposed (histograms expand to _bucket/_sum/_count). */
export function promSeriesNames(def: Pick<MetricDef, 'name' | 'kind'>): string[] {
  const base = promName(def);
  return def.kind === 'histogram' ? [`${base}_bucket`, `${base}_sum`, `${base}_count`] : [base];
}

export function promType(def: Pick<MetricDef, 'kind'>): 'counter' | 'gauge' | 'histogram' {
  if (def.kind === 'histogram') return 'histogram';
  return isMonotonicCounter(def) ? 'counter' : 'gauge';
}

export function promLabel(attributeKey: string): string {
  return sanitizePromName(attributeKey);
}
