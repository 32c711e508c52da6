// Test fixture: a private PostgreSQL 15 from the Debian binaries, in a temp dir, on 127.0.0.1 only.
// Fails loudly when the binaries are missing (never skips). The lead may swap this for the Docker stack.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../common/testing/free-port.ts';
import type { PgConnectionSettings } from '../pg-client.ts';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** Superuser `postgres`, database `archiveorigin`. */
  superuser: PgConnectionSettings;
  /** Role with pg_monitor, like the stack's. */
  monitor: PgConnectionSettings;
  /** Login role WITHOUT pg_monitor (to check the missing-privilege report). */
  unprivileged: PgConnectionSettings;
  /** Role the fake application connects as. */
  app: PgConnectionSettings;
  /** Stops the server, keeps it down for `downMs` (0: a plain pg_ctl restart), then starts it again. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartTestPostgresOptions {
  port?: number;
  /** Extra SQL run as superuser after setup. */
  setupSql?: string;
}

export async function startTestPostgres(options: StartTestPostgresOptions = {}): Promise<TestPostgres> {
  if (!existsSync(join(PG_BIN, 'initdb'))) {
    throw new Error(`PostgreSQL 15 binaries not found in ${PG_BIN}. Install them (apt-get install -y postgresql-15) or point the test at the Docker stack.`);
  }
  // a free port below the ephemeral range (free-port.ts): the fixed 55498 it had was in that range, and an outgoing
  // connection of a neighbour file holding it as its local port made pg_ctl fail to start once in CI
  const port = options.port ?? (await freePort());
  const asRoot = process.getuid?.() === 0;
  // initdb/postgres refuse to run as root: drop to the postgres user when needed.
  const pgRun = (bin: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]) : run(join(PG_BIN, bin), args));
  const dir = await mkdtemp(join(tmpdir(), 'loadscope-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const pgOpts = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=50`;
  const ctl = (action: string) => pgRun('pg_ctl', ['-D', data, '-o', pgOpts, '-l', join(dir, 'log'), '-w', '-t', '30', '-m', 'fast', action]);
  try {
    await ctl('start');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`test Postgres failed to start on 127.0.0.1:${port}: ${(err as Error).message}`);
  }
  const psql = (sql: string, db = 'postgres') =>
    run(join(PG_BIN, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
  const stopServer = async () => {
    await ctl('stop').catch(() => pgRun('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await psql(`CREATE ROLE archiveorigin LOGIN PASSWORD 'archiveorigin';
      CREATE ROLE loadscope_monitor LOGIN PASSWORD 'loadscope_monitor';
      GRANT pg_monitor TO loadscope_monitor;
      CREATE ROLE loadscope_nomonitor LOGIN PASSWORD 'loadscope_nomonitor';`);
    await psql('CREATE DATABASE archiveorigin OWNER archiveorigin'); // not allowed inside the multi-statement transaction
    if (options.setupSql) await psql(options.setupSql, 'archiveorigin');
  } catch (err) {
    await stopServer();
    throw err;
  }
  const conn = (user: string): PgConnectionSettings => ({ host: '127.0.0.1', port, user, password: user, database: 'archiveorigin' });
  let stopped = false;
  return {
    superuser: conn('postgres'),
    monitor: conn('loadscope_monitor'),
    unprivileged: conn('loadscope_nomonitor'),
    app: conn('archiveorigin'),
    restart: async (downMs = 0) => {
      if (downMs <= 0) return void (await ctl('restart'));
      await ctl('stop');
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await ctl('start');
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopServer();
    },
  };
}
