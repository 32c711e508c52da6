// Runs the Postgres sampler against a REAL PostgreSQL (private server from the Debian binaries; see testing/pg-server.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgQueryClient, type PgQueryClient } from './pg-client.ts';
import { PostgresSampler } from './postgres.ts';
import { startTestPostgres, type TestPostgres } from './testing/pg-server.ts';
import type { SamplerEvent } from './types.ts';

let pgServer: TestPostgres;
const sessions: PgQueryClient[] = [];
const pending: Promise<unknown>[] = [];

function appSession(): PgQueryClient {
  // One connection per fake app session, application_name like the real app's pool.
  const s = createPgQueryClient(pgServer.app, { applicationName: 'archiveorigin', max: 1, statementTimeoutMs: 0, idleTimeoutMs: 0 });
  sessions.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  pgServer = await startTestPostgres({ setupSql: 'CREATE TABLE t (id int); GRANT ALL ON t TO archiveorigin;' });
  const [a1, a2, i1, i2, tx, waiter] = [appSession(), appSession(), appSession(), appSession(), appSession(), appSession()];
  pending.push(
    a1.query('SELECT pg_sleep(30)').catch(() => undefined),
    a2.query('SELECT pg_sleep(30)').catch(() => undefined),
  );
  await i1.query('SELECT 1');
  await i2.query('SELECT 1');
  await tx.query('BEGIN');
  await tx.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
  pending.push(waiter.query('SELECT count(*) FROM t').catch(() => undefined));
  await sleep(300); // let the sleeps and the lock wait begin
}, 60_000);

afterAll(async () => {
  if (!pgServer) return;
  const admin = createPgQueryClient(pgServer.superuser, { applicationName: 'test-admin' });
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'archiveorigin'").catch(() => undefined);
  await admin.end();
  await Promise.allSettled(pending);
  await Promise.allSettled(sessions.map((s) => s.end()));
  await pgServer.stop();
}, 60_000);

describe('PostgresSampler against a real Postgres 15', () => {
  it('sees the app pool by state, application_name and wait type, with the monitor role', async () => {
    const events: SamplerEvent[] = [];
    const sampler = new PostgresSampler({ connection: pgServer.monitor, onEvent: (e) => events.push(e), budgetMs: 3000 });
    try {
      const s = await sampler.sample();
      expect(s).not.toBeNull();
      expect(s!.canReadAllStats).toBe(true);
      expect(events.filter((e) => e.kind === 'postgres_privilege_missing')).toEqual([]);
      expect(s!.connectionsByApp.archiveorigin).toEqual({ active: 3, idle: 2, 'idle in transaction': 1 });
      expect(s!.connectionsByApp['loadscope-sampler']).toBeUndefined(); // own sessions excluded
      expect(s!.waitingByType).toMatchObject({ Timeout: 2, Lock: 1 });
      expect(s!.blockedSessions).toBe(1);
      expect(s!.ungrantedLocks).toBeGreaterThanOrEqual(1);
      expect(s!.locksByMode.AccessExclusiveLock?.granted).toBeGreaterThanOrEqual(1);
      expect(s!.idleInTransaction).toBe(1);
      expect(s!.oldestIdleInTransactionSeconds).toBeGreaterThan(0);
      expect(s!.oldestXactAgeSeconds).toBeGreaterThan(0);
      expect(s!.maxConnections).toBe(50);
      expect(s!.autovacuumWorkers).toEqual(expect.any(Number));
    } finally {
      await sampler.stop();
    }
  });

  it("reports once that a role without pg_monitor cannot see other roles' state", async () => {
    const events: SamplerEvent[] = [];
    const sampler = new PostgresSampler({ connection: pgServer.unprivileged, onEvent: (e) => events.push(e), budgetMs: 3000 });
    try {
      const s1 = await sampler.sample();
      const s2 = await sampler.sample();
      const missing = events.filter((e) => e.kind === 'postgres_privilege_missing');
      expect(missing).toHaveLength(1);
      expect(missing[0]!.message).toContain('GRANT pg_monitor TO loadscope_nomonitor');
      expect(s1!.canReadAllStats).toBe(false);
      expect(s2!.connectionsByApp.archiveorigin).toEqual({ unknown: 6 });
    } finally {
      await sampler.stop();
    }
  });

  it('computes pg_stat_database deltas per second as numbers', async () => {
    const sampler = new PostgresSampler({ connection: pgServer.monitor, budgetMs: 3000 });
    const writer = appSession();
    try {
      const first = await sampler.sample();
      expect(first!.perSecond).toBeNull();
      for (let i = 0; i < 20; i++) await writer.query('SELECT 1');
      await sleep(1100); // backends flush their stats at most once a second
      const second = await sampler.sample();
      for (const v of [...Object.values(second!.totals), ...Object.values(second!.perSecond!)]) expect(typeof v).toBe('number');
      expect(second!.perSecond!.commits).toBeGreaterThan(0);
      expect(second!.totals.commits).toBeGreaterThan(first!.totals.commits);
    } finally {
      await sampler.stop();
    }
  });

  it('counts a forced checkpoint and the buffers it wrote (pg_stat_bgwriter deltas)', async () => {
    const sampler = new PostgresSampler({ connection: pgServer.monitor, budgetMs: 3000 });
    const admin = createPgQueryClient(pgServer.superuser, { applicationName: 'test-admin' });
    try {
      await admin.query('CREATE TABLE IF NOT EXISTS ckpt AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 20000) g');
      await admin.query('CHECKPOINT'); // start from a clean slate, then dirty ~20000 rows' pages again
      await admin.query('UPDATE ckpt SET pad = reverse(pad)');
      const before = await sampler.sample();
      expect(before!.totals.buffersCheckpoint).toEqual(expect.any(Number));
      await admin.query('CHECKPOINT');
      await sleep(1100);
      const after = await sampler.sample();
      expect(after!.perSecond!.checkpointsReq).toBeGreaterThan(0);
      // the table is ~6 MB: hundreds of 8-KiB buffers were dirty
      expect(after!.totals.buffersCheckpoint! - before!.totals.buffersCheckpoint!).toBeGreaterThan(300);
    } finally {
      await admin.end();
      await sampler.stop();
    }
  });

  it('survives a Postgres restart: one unavailable event, then recovery with the gap', async () => {
    const events: SamplerEvent[] = [];
    const sampler = new PostgresSampler({ connection: pgServer.monitor, onEvent: (e) => events.push(e), budgetMs: 3000 });
    try {
      expect(await sampler.sample()).not.toBeNull();
      // down for 1.5 s: a plain pg_ctl restart can finish between two 150-ms samples, and the pool then reconnects
      // without the sampler ever seeing the outage (correctly: nothing was missed at 1 Hz)
      const restarting = pgServer.restart(1500);
      let sawNull = false;
      let done = false;
      void restarting.finally(() => (done = true));
      // Sample like the scheduler would while Postgres goes down and comes back.
      for (let i = 0; i < 60 && !events.some((e) => e.kind === 'postgres_recovered'); i++) {
        const s = await sampler.sample();
        if (s === null) sawNull = true;
        await sleep(done ? 100 : 150);
      }
      await restarting;
      expect(sawNull).toBe(true);
      const kinds = events.map((e) => e.kind);
      expect(kinds.filter((k) => k === 'postgres_unavailable')).toHaveLength(1);
      const recovered = events.find((e) => e.kind === 'postgres_recovered');
      expect(recovered).toBeDefined();
      expect(recovered!.data!.gapSeconds as number).toBeGreaterThan(0);
      expect(await sampler.sample()).not.toBeNull();
    } finally {
      await sampler.stop();
    }
  });
});
