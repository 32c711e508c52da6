// The only module importing pg. A tiny dedicated pool for the sampler; its sessions carry
// application_name 'loadscope-sampler' so the sampler can exclude itself from its own counts.
import pg from 'pg';

export const SAMPLER_APPLICATION_NAME = 'loadscope-sampler';

export interface PgConnectionSettings {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

/** What the Postgres sampler needs from a database: one query at a time, rows as plain objects. */
export interface PgQueryClient {
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  end(): Promise<void>;
}

export interface PgPoolTuning {
  /** Defaults are the sampler's; tests use other values to play an application's sessions. */
  applicationName?: string;
  max?: number;
  statementTimeoutMs?: number;
  /** 0 keeps idle connections forever. */
  idleTimeoutMs?: number;
  onPoolError?: (err: Error) => void;
}

/** A sampler query or connect may take two 1-s sample intervals at most: a stuck server must not stall sampling. */
const SAMPLER_STATEMENT_TIMEOUT_MS = 2000;
const SAMPLER_CONNECT_TIMEOUT_MS = 2000;
/** Idle sampler connections are closed after this, so a finished run leaves none open in pg_stat_activity. */
const SAMPLER_IDLE_TIMEOUT_MS = 10_000;

export function createPgQueryClient(settings: PgConnectionSettings, tuning: PgPoolTuning = {}): PgQueryClient {
  const pool = new pg.Pool({
    ...settings,
    max: tuning.max ?? 2,
    application_name: tuning.applicationName ?? SAMPLER_APPLICATION_NAME,
    statement_timeout: tuning.statementTimeoutMs ?? SAMPLER_STATEMENT_TIMEOUT_MS,
    connectionTimeoutMillis: SAMPLER_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: tuning.idleTimeoutMs ?? SAMPLER_IDLE_TIMEOUT_MS,
    allowExitOnIdle: true,
  });
  const onPoolError = tuning.onPoolError;
  // Idle clients die when Postgres restarts; without a listener the pool's 'error' would crash the process.
  pool.on('error', (err) => onPoolError?.(err));
  let ended = false;
  return {
    async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
      const result = await pool.query(sql, params);
      return result.rows as T[];
    },
    async end(): Promise<void> {
      if (ended) return;
      ended = true;
      await pool.end();
    },
  };
}
