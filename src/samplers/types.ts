// Shapes shared by the samplers, the scheduler and telemetry. Plain data only (JSON-serialisable),
// so a snapshot can go straight into series.ndjson.

/** One container, latest sample. Cumulative fields are absolute cgroup counters (they reset if the container is recreated). */
export interface ContainerSample {
  service: string;
  containerId: string;
  /** Engine time of the stats object (ms since epoch). */
  readMs: number;
  /** Age of this sample at snapshot time; > ~2 s means the stats stream is stalled or the container is down. */
  ageMs: number;
  cgroup: 'v1' | 'v2';
  /** Δtotal_usage / Δwall between consecutive samples (docker stats formula when no previous sample). */
  cpuCores: number | null;
  /** cpuCores / CPU limit, null when the container has no CPU limit. */
  cpuLimitUtilization: number | null;
  cpuLimitCores: number | null;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  throttlingPeriods: number;
  throttledPeriods: number;
  throttledSeconds: number;
  /** Δthrottled_periods / Δperiods since the previous sample, null without a previous sample or when no period elapsed. */
  throttledRatio: number | null;
  memoryUsageBytes: number;
  /** usage − inactive_file (v1 total_inactive_file), floored at 0: what docker stats and the OOM killer see. */
  memoryWorkingSetBytes: number;
  /** v1 total_rss, v2 anon. */
  memoryRssBytes: number | null;
  /** The busiest thread (runnable longest, threads.ts): its cores on the CPU; null where its processes are not on this host. */
  busiestThreadCores?: number | null;
  /** Its share of the second on a core or waiting for one; null where the kernel keeps no schedstat. */
  busiestThreadRunnable?: number | null;
  /** From inspect (HostConfig.Memory); null when unlimited (the stats "limit" is then host RAM). */
  memoryLimitBytes: number | null;
  /** limit − working set, null without a limit. */
  memoryAvailableBytes: number | null;
  /** Summed over interfaces; null with network_mode host (the stats object has no "networks"). */
  networkRxBytes: number | null;
  networkTxBytes: number | null;
  /** Summed over devices, read/write ops only. */
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number | null;
  restarts: number;
  oomKills: number;
}

export interface PostgresPerSecond {
  commits: number;
  rollbacks: number;
  deadlocks: number;
  blksHit: number;
  blksRead: number;
  tempBytes: number;
  /** pg_stat_bgwriter (PG ≤ 16; absent where the view lacks the column): checkpoints started, buffers written. */
  checkpointsTimed?: number;
  checkpointsReq?: number;
  /** Buffers (8 KiB) written by checkpoints, by backends themselves, by the background writer. */
  buffersCheckpoint?: number;
  buffersBackend?: number;
  buffersClean?: number;
  /** Time spent writing / syncing checkpoint files, ms (reported as a checkpoint progresses or ends). */
  checkpointWriteMs?: number;
  checkpointSyncMs?: number;
}

export interface PostgresSample {
  /** False when the role cannot see other roles' state/wait_event (needs pg_monitor or pg_read_all_stats). */
  canReadAllStats: boolean;
  maxConnections: number;
  /** Client backends (sampler excluded) by state; "unknown" = state not visible. */
  connectionsByState: Record<string, number>;
  /** application_name → state → count ('' for unnamed). */
  connectionsByApp: Record<string, Record<string, number>>;
  /** Active sessions waiting, by wait_event_type (Lock, LWLock, IO, Timeout, ...). */
  waitingByType: Record<string, number>;
  /** Locks by mode, granted and not. */
  locksByMode: Record<string, { granted: number; waiting: number }>;
  ungrantedLocks: number;
  blockedSessions: number;
  oldestXactAgeSeconds: number;
  idleInTransaction: number;
  oldestIdleInTransactionSeconds: number;
  /** Autovacuum workers running (vacuum/analyze of some table); optional: older runs lack it. */
  autovacuumWorkers?: number;
  /** Cumulative pg_stat_database values for the current database (numbers, not strings). */
  totals: PostgresPerSecond;
  /** Per-second deltas since the previous successful sample; null on the first one or after a stats reset. */
  perSecond: PostgresPerSecond | null;
}

export interface HostSample {
  /** 0..1 of all host CPUs; null until the first background refresh completes. */
  cpuUtilization: number | null;
  cpuCount: number | null;
  /** 0..1 of all host CPU time idle waiting for I/O since the previous refresh (Linux /proc/stat); null elsewhere. Optional: older runs lack it. */
  iowaitRatio?: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  /** Duration of the last systeminformation refresh (runs off the hot path). */
  refreshDurationMs: number | null;
}

export interface GeneratorSample {
  /** CPU of this orchestrator process in cores (user+system) since the previous tick. */
  cpuCores: number | null;
  memoryRssBytes: number;
}

export interface SamplerTiming {
  durationMs: number;
  ok: boolean;
}

export interface SampleSnapshot {
  tMs: number;
  containers: Record<string, ContainerSample>;
  postgres: PostgresSample | null;
  host: HostSample;
  generator: GeneratorSample;
  /** Scheduler health for this tick. */
  sampler: {
    lagMs: number;
    skippedTicks: number;
    timings: Record<string, SamplerTiming>;
  };
}

export type SamplerEventKind =
  | 'sampler_error'
  | 'tick_skipped'
  | 'postgres_unavailable'
  | 'postgres_recovered'
  | 'postgres_privilege_missing'
  | 'container_stats_stream_error'
  | 'container_stats_stream_ended';

export interface SamplerEvent {
  tMs: number;
  kind: SamplerEventKind;
  sampler: string;
  message: string;
  data?: Record<string, unknown>;
}

export type OnSamplerEvent = (event: SamplerEvent) => void;
