// Postgres sampler: one round trip per tick (pg_stat_activity, pg_locks, pg_stat_database, pg_stat_bgwriter), numbers cast in SQL
// (int8/numeric would arrive as strings). Never throws: outages become one unavailable event, then one
// recovered event carrying the gap, and the pool reconnects on its own.
import { createPgQueryClient, SAMPLER_APPLICATION_NAME, type PgConnectionSettings, type PgQueryClient } from './pg-client.ts';
import type { OnSamplerEvent, PostgresPerSecond, PostgresSample } from './types.ts';

export interface PostgresSamplerOptions {
  /** Either ready-made client (tests) or connection settings (a pool is created). */
  client?: PgQueryClient;
  connection?: PgConnectionSettings;
  onEvent?: OnSamplerEvent;
  now?: () => number;
  /** A round slower than this yields null for the tick and finishes in the background (no stacking). */
  budgetMs?: number;
}

/** A round's default budget: 80 % of the 1-s interval, so a slow round yields null for its tick instead of delaying the next. */
const ROUND_BUDGET_MS = 800;

const PRIVILEGE_SQL = `SELECT current_user::text AS role,
  pg_has_role(current_user, 'pg_monitor', 'USAGE') AS monitor,
  pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats`;

// act = client backends except the sampler's own sessions. Waiting = active sessions with a wait event.
const SAMPLE_SQL = `WITH act AS (
  SELECT coalesce(state, 'unknown') AS state, wait_event_type, coalesce(application_name, '') AS app,
         xact_start, state_change, pid
  FROM pg_stat_activity
  -- Without pg_read_all_stats, backend_type of other roles' sessions is NULL too: keep those that have a role and a database.
  WHERE (backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL))
    AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $1
)
SELECT
  (SELECT coalesce(json_agg(g), '[]'::json) FROM (SELECT state, app, count(*)::int AS n FROM act GROUP BY 1, 2) g) AS by_state_app,
  (SELECT coalesce(json_agg(w), '[]'::json) FROM (SELECT wait_event_type AS type, count(*)::int AS n FROM act
     WHERE state = 'active' AND wait_event_type IS NOT NULL GROUP BY 1) w) AS waiting,
  (SELECT coalesce(json_agg(l), '[]'::json) FROM (SELECT mode, count(*) FILTER (WHERE granted)::int AS granted,
     count(*) FILTER (WHERE NOT granted)::int AS waiting FROM pg_locks WHERE pid IS DISTINCT FROM pg_backend_pid() GROUP BY mode) l) AS locks,
  (SELECT count(*)::int FROM act WHERE cardinality(pg_blocking_pids(pid)) > 0) AS blocked,
  coalesce((SELECT max(extract(epoch FROM clock_timestamp() - xact_start)) FROM act), 0)::float8 AS oldest_xact_s,
  (SELECT count(*)::int FROM act WHERE state LIKE 'idle in transaction%') AS idle_in_xact,
  coalesce((SELECT max(extract(epoch FROM clock_timestamp() - state_change)) FROM act
     WHERE state LIKE 'idle in transaction%'), 0)::float8 AS oldest_idle_in_xact_s,
  current_setting('max_connections')::int AS max_connections,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'autovacuum worker') AS autovacuum_workers,
  d.xact_commit::float8 AS commits, d.xact_rollback::float8 AS rollbacks, d.deadlocks::float8 AS deadlocks,
  d.blks_hit::float8 AS blks_hit, d.blks_read::float8 AS blks_read, d.temp_bytes::float8 AS temp_bytes,
  -- as JSON so a server whose view lacks a column (PG 17 moved the checkpoint ones) still answers
  (SELECT to_jsonb(b) FROM pg_stat_bgwriter b) AS bgwriter
FROM pg_stat_database d WHERE d.datname = current_database()`;

interface SampleRow extends Record<string, unknown> {
  by_state_app: { state: string; app: string; n: number }[];
  waiting: { type: string; n: number }[];
  locks: { mode: string; granted: number; waiting: number }[];
  blocked: number;
  oldest_xact_s: number;
  idle_in_xact: number;
  oldest_idle_in_xact_s: number;
  max_connections: number;
  commits: number;
  rollbacks: number;
  deadlocks: number;
  blks_hit: number;
  blks_read: number;
  temp_bytes: number;
  bgwriter: Record<string, unknown> | null;
  autovacuum_workers: number;
}

const TOTAL_KEYS = ['commits', 'rollbacks', 'deadlocks', 'blksHit', 'blksRead', 'tempBytes'] as const;
/** pg_stat_bgwriter column → PostgresPerSecond key (optional: each is kept only when the server has it). */
const BGWRITER_KEYS = {
  checkpoints_timed: 'checkpointsTimed',
  checkpoints_req: 'checkpointsReq',
  buffers_checkpoint: 'buffersCheckpoint',
  buffers_backend: 'buffersBackend',
  buffers_clean: 'buffersClean',
  checkpoint_write_time: 'checkpointWriteMs',
  checkpoint_sync_time: 'checkpointSyncMs',
} as const;

function bgwriterTotals(row: Record<string, unknown> | null): Partial<PostgresPerSecond> {
  const out: Partial<PostgresPerSecond> = {};
  for (const [col, key] of Object.entries(BGWRITER_KEYS)) {
    const v = Number(row?.[col]);
    if (row?.[col] !== undefined && row[col] !== null && Number.isFinite(v)) out[key] = v;
  }
  return out;
}

export class PostgresSampler {
  readonly name = 'postgres';
  private readonly client: PgQueryClient;
  private readonly now: () => number;
  private inflight?: Promise<PostgresSample | null>;
  private canReadAllStats?: boolean;
  private previous?: { tMs: number; totals: PostgresPerSecond };
  private lastOkMs?: number;
  private downSinceMs?: number;

  constructor(private readonly options: PostgresSamplerOptions) {
    this.now = options.now ?? Date.now;
    if (options.client) this.client = options.client;
    else if (options.connection) this.client = createPgQueryClient(options.connection);
    else throw new Error('PostgresSampler needs a client or connection settings');
  }

  /** True while Postgres is unreachable (between the unavailable and recovered events). */
  get unavailable(): boolean {
    return this.downSinceMs !== undefined;
  }

  async sample(): Promise<PostgresSample | null> {
    if (this.inflight) return null; // previous round still running: skip rather than queue queries
    const round = this.round();
    this.inflight = round;
    void round.finally(() => {
      if (this.inflight === round) this.inflight = undefined;
    });
    const budgetMs = this.options.budgetMs ?? ROUND_BUDGET_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), budgetMs);
      timer.unref?.();
    });
    try {
      return await Promise.race([round, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await this.inflight?.catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }

  private async round(): Promise<PostgresSample | null> {
    try {
      if (this.canReadAllStats === undefined) await this.checkPrivileges();
      const rows = await this.client.query<SampleRow>(SAMPLE_SQL, [SAMPLER_APPLICATION_NAME]);
      const row = rows[0];
      if (!row) throw new Error('pg_stat_database has no row for the current database');
      const tMs = this.now();
      this.markUp(tMs);
      return this.build(row, tMs);
    } catch (err) {
      this.markDown(err as Error);
      return null;
    }
  }

  private async checkPrivileges(): Promise<void> {
    const [row] = await this.client.query<{ role: string; monitor: boolean; read_all_stats: boolean }>(PRIVILEGE_SQL);
    this.canReadAllStats = Boolean(row?.monitor || row?.read_all_stats);
    if (!this.canReadAllStats) {
      const role = row?.role ?? '?';
      this.emit(
        'postgres_privilege_missing',
        `role ${role} has neither pg_monitor nor pg_read_all_stats: state, wait_event_type and xact_start of other roles' sessions read as NULL (counted as state "unknown", no oldest-transaction age). Fix: GRANT pg_monitor TO ${role};`,
        { role, missing: ['pg_monitor', 'pg_read_all_stats'] },
      );
    }
  }

  private build(row: SampleRow, tMs: number): PostgresSample {
    const byState: Record<string, number> = {};
    const byApp: Record<string, Record<string, number>> = {};
    for (const g of row.by_state_app) {
      byState[g.state] = (byState[g.state] ?? 0) + g.n;
      const app = (byApp[g.app] ??= {});
      app[g.state] = (app[g.state] ?? 0) + g.n;
    }
    const waitingByType: Record<string, number> = {};
    for (const w of row.waiting) waitingByType[w.type] = w.n;
    const locksByMode: PostgresSample['locksByMode'] = {};
    let ungrantedLocks = 0;
    for (const l of row.locks) {
      locksByMode[l.mode] = { granted: l.granted, waiting: l.waiting };
      ungrantedLocks += l.waiting;
    }
    const totals: PostgresPerSecond = {
      commits: row.commits,
      rollbacks: row.rollbacks,
      deadlocks: row.deadlocks,
      blksHit: row.blks_hit,
      blksRead: row.blks_read,
      tempBytes: row.temp_bytes,
      ...bgwriterTotals(row.bgwriter),
    };
    const perSecond = this.deltas(totals, tMs);
    this.previous = { tMs, totals };
    return {
      canReadAllStats: this.canReadAllStats ?? false,
      maxConnections: row.max_connections,
      connectionsByState: byState,
      connectionsByApp: byApp,
      waitingByType,
      locksByMode,
      ungrantedLocks,
      blockedSessions: row.blocked,
      oldestXactAgeSeconds: row.oldest_xact_s,
      idleInTransaction: row.idle_in_xact,
      oldestIdleInTransactionSeconds: row.oldest_idle_in_xact_s,
      autovacuumWorkers: row.autovacuum_workers,
      totals,
      perSecond,
    };
  }

  private deltas(totals: PostgresPerSecond, tMs: number): PostgresPerSecond | null {
    const prev = this.previous;
    if (!prev || tMs <= prev.tMs) return null;
    const dtS = (tMs - prev.tMs) / 1000;
    const out = {} as PostgresPerSecond;
    for (const k of TOTAL_KEYS) {
      const d = totals[k] - prev.totals[k];
      if (d < 0) return null; // stats reset (crash restart, pg_stat_reset): no meaningful rate this tick
      out[k] = d / dtS;
    }
    for (const k of Object.values(BGWRITER_KEYS)) {
      const now = totals[k];
      const before = prev.totals[k];
      if (now === undefined || before === undefined) continue;
      if (now < before) return null; // pg_stat_reset_shared('bgwriter')
      out[k] = (now - before) / dtS;
    }
    return out;
  }

  private markUp(tMs: number): void {
    if (this.downSinceMs !== undefined) {
      const gapFromMs = this.lastOkMs ?? this.downSinceMs;
      const gapSeconds = (tMs - gapFromMs) / 1000;
      this.emit('postgres_recovered', `Postgres reachable again after ${gapSeconds.toFixed(1)} s without data`, { gapSeconds, downSinceMs: this.downSinceMs });
      this.downSinceMs = undefined;
    }
    this.lastOkMs = tMs;
  }

  private markDown(err: Error): void {
    if (this.downSinceMs !== undefined) return; // one event per outage
    this.downSinceMs = this.now();
    this.emit('postgres_unavailable', `Postgres sampling failed: ${err.message}`, { lastOkMs: this.lastOkMs ?? null });
  }

  private emit(kind: 'postgres_unavailable' | 'postgres_recovered' | 'postgres_privilege_missing', message: string, data: Record<string, unknown>): void {
    this.options.onEvent?.({ tMs: this.now(), kind, sampler: this.name, message, data });
  }
}
