// postgres://user:password@host:port/database → the sampler's connection settings, checked against the same
// allowlist as the load target (config/target.ts hostProblem): the sampler connects nowhere the load may not go.
import { ConfigError, type InputIssue } from '../common/errors.ts';
import { hostProblem } from '../config/target.ts';
import type { PgConnectionSettings } from '../samplers/pg-client.ts';

/** Postgres' own default port. */
const PG_DEFAULT_PORT = 5432;

/** The connection settings, or every problem of the DSN (syntax, and the allowlist when `allowTargets` is given). */
export function checkPostgresDsn(dsn: string, where: string, allowTargets?: readonly string[]): { settings: PgConnectionSettings } | { issues: InputIssue[] } {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return { issues: [{ path: where, message: 'not a URL (expected postgres://user:password@host:port/database)' }] };
  }
  const issues: InputIssue[] = [];
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') issues.push({ path: where, message: `scheme must be postgres:// (got ${url.protocol})` });
  if (!url.hostname) issues.push({ path: where, message: 'host missing' });
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) issues.push({ path: where, message: 'database name missing' });
  if (!url.username) issues.push({ path: where, message: 'user missing' });
  const port = url.port ? Number(url.port) : PG_DEFAULT_PORT;
  const refused = url.hostname && allowTargets ? hostProblem(url.hostname, port, allowTargets) : undefined;
  if (refused) issues.push({ path: where, message: `refused: ${refused}` });
  if (issues.length > 0) return { issues };
  return {
    settings: {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      user: decodeURIComponent(url.username),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      database,
    },
  };
}

/** The connection settings; a ConfigError listing every problem otherwise (no allowlist: for callers that own the host, e.g. benches). */
export function parsePostgresDsn(dsn: string, where = 'sample.postgres'): PgConnectionSettings {
  const r = checkPostgresDsn(dsn, where);
  if ('issues' in r) throw new ConfigError(where, r.issues);
  return r.settings;
}
