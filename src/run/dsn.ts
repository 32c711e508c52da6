// postgres://user:password@host:port/database → the sampler's connection settings.
import { ConfigError } from '../common/errors.ts';
import type { PgConnectionSettings } from '../samplers/pg-client.ts';

export function parsePostgresDsn(dsn: string, where = 'sample.postgres'): PgConnectionSettings {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new ConfigError(where, [{ path: where, message: 'not a URL (expected postgres://user:password@host:port/database)' }]);
  }
  const issues: { path: string; message: string }[] = [];
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') issues.push({ path: where, message: `scheme must be postgres:// (got ${url.protocol})` });
  if (!url.hostname) issues.push({ path: where, message: 'host missing' });
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) issues.push({ path: where, message: 'database name missing' });
  if (!url.username) issues.push({ path: where, message: 'user missing' });
  if (issues.length > 0) throw new ConfigError(where, issues);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    database,
  };
}
