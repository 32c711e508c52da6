// The reference stack through src/stack on the real engine: every endpoint, the ledger hash chain,
// start failures that name the service, and nothing left behind.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackStartError } from '../common/errors.ts';
import { loadComposeFile } from './compose/load.ts';
import type { ContainerRuntime } from './runtime/port.ts';
import { startStack, type StartedStack } from './stack.ts';
import { LABEL_MANAGED, LABEL_RUN } from './labels.ts';
import { freePort, leftovers, realRuntime, uniqueRunId } from './testing/runtime.ts';

const composePath = join(import.meta.dirname, '..', '..', 'compose', 'stack.yml');

describe('reference stack (real Docker)', () => {
  let runtime: ContainerRuntime;
  let stack: StartedStack;
  let base: string;
  let runDir: string;
  const runId = uniqueRunId('it-stack');

  beforeAll(async () => {
    runtime = await realRuntime();
    const appPort = await freePort();
    const pgPort = await freePort();
    base = `http://127.0.0.1:${appPort}`;
    runDir = mkdtempSync(join(tmpdir(), 'loadscope-it-'));
    const project = loadComposeFile(composePath, { LOADSCOPE_APP_PORT: String(appPort), LOADSCOPE_PG_PORT: String(pgPort) });
    stack = await startStack({ runtime, project, runId, runDir, healthTimeoutMs: 120_000 });
  });

  afterAll(async () => {
    await stack?.down();
    expect(await leftovers(runtime, runId)).toEqual([]);
  });

  const call = async (method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('starts postgres before the app, labelled, with limits from the Compose file', async () => {
    expect(stack.services.map((s) => s.name)).toEqual(['postgres', 'app']);
    const app = stack.services.find((s) => s.name === 'app');
    expect(app?.memoryLimitBytes).toBe(512 * 1024 * 1024);
    expect(app?.cpuLimitCores).toBe(1);
    const rows = await runtime.list({ 'loadscope.run': runId });
    expect(rows.map((r) => r.labels['loadscope.service']).sort()).toEqual(['app', 'postgres']);
    for (const r of rows) expect(r.labels['loadscope.managed']).toBe('true');
  });

  it('serves health, enroll, lock-proof and ledger with a valid hash chain', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    const device = { device_id: `dev-${runId}`, device_token: 't', device_name: 'Test Device', os_version: '17.1' };
    const enroll = await call('POST', '/device/enroll', { body: device });
    expect(enroll.status).toBe(200);
    const token = String(enroll.body.enrollment_token);
    expect(token.length).toBeGreaterThan(10);
    const again = await call('POST', '/device/enroll', { body: device });
    expect(again.body.enrollment_token).not.toBe(token);

    for (let i = 0; i < 5; i++) {
      const proof = await call('POST', '/lock-proof', { token, body: { capture_id: `cap-${i}`, proof_data: 'base64encodeddata', metadata: { i } } });
      expect(proof.status).toBe(200);
    }
    const ledger = await call('GET', '/ledger/entries?limit=1000', { token });
    expect(ledger.status).toBe(200);
    const entries = ledger.body.entries as Array<{ prev_hash: string; entry_hash: string; payload: string; capture_id: string }>;
    expect(entries).toHaveLength(5);
    expect(entries.map((e) => e.capture_id)).toEqual(['cap-4', 'cap-3', 'cap-2', 'cap-1', 'cap-0']);
    for (const [i, e] of entries.entries()) {
      expect(
        createHash('sha256')
          .update(e.prev_hash + e.payload)
          .digest('hex'),
      ).toBe(e.entry_hash);
      const older = entries[i + 1];
      expect(e.prev_hash).toBe(older ? older.entry_hash : '0'.repeat(64));
    }
    expect((await call('GET', '/ledger/entries?limit=2', { token })).body.count).toBe(2);
  });

  it('answers 401 without or with an unknown token, and 422 on malformed bodies', async () => {
    expect((await call('GET', '/ledger/entries')).status).toBe(401);
    expect((await call('GET', '/ledger/entries', { token: 'nope' })).status).toBe(401);
    expect((await call('POST', '/lock-proof', { body: { capture_id: 'c', proof_data: 'x', metadata: {} } })).status).toBe(401);
    expect((await call('POST', '/device/enroll', { body: { device_id: 'x' } })).status).toBe(422);
    expect((await call('POST', '/device/enroll', { raw: '{not json' })).status).toBe(422);
    const { body } = await call('POST', '/device/enroll', { body: { device_id: 'd422', device_token: 't', device_name: 'n', os_version: '1' } });
    const token = String(body.enrollment_token);
    expect((await call('POST', '/lock-proof', { token, body: { capture_id: 'c', proof_data: 'x', metadata: 'not-an-object' } })).status).toBe(422);
  });

  it('streams container logs into the run directory', () => {
    const log = readFileSync(join(runDir, 'logs', 'postgres.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
  });
});

describe('start failures (real Docker)', () => {
  const write = (yaml: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'loadscope-bad-'));
    writeFileSync(join(dir, 'stack.yml'), yaml);
    return join(dir, 'stack.yml');
  };

  it('a service that exits names itself, shows its last log lines, and leaves nothing behind', async () => {
    const runtime = await realRuntime();
    const runId = uniqueRunId('it-exit');
    const file = write(`services:
  db:
    image: loadscope/postgres:15
    network_mode: host
    entrypoint: ["sh", "-c", "sleep 600"]
  broken:
    image: loadscope/archiveorigin:dev
    network_mode: host
    entrypoint: ["python3", "-c", "print('starting broken service'); print('fatal: cannot open config'); raise SystemExit(1)"]
    depends_on: [db]
    healthcheck: { test: ["CMD", "true"], interval: 1s, retries: 3 }
`);
    const err = await startStack({ runtime, project: loadComposeFile(file, {}), runId, healthTimeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackStartError);
    const e = err as StackStartError;
    expect(e.service).toBe('broken');
    expect(e.message).toContain('code 1');
    expect(e.logTail.join('\n')).toContain('fatal: cannot open config');
    expect(await leftovers(runtime, runId)).toEqual([]);
  });

  it('a failing healthcheck ends in StackStartError for that service, and leaves nothing behind', async () => {
    const runtime = await realRuntime();
    const runId = uniqueRunId('it-unhealthy');
    const file = write(`services:
  sick:
    image: loadscope/archiveorigin:dev
    network_mode: host
    entrypoint: ["python3", "-c", "import time; print('up but sick', flush=True); time.sleep(600)"]
    healthcheck: { test: ["CMD", "false"], interval: 1s, timeout: 1s, retries: 2 }
`);
    const err = await startStack({ runtime, project: loadComposeFile(file, {}), runId, healthTimeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackStartError);
    expect((err as StackStartError).service).toBe('sick');
    expect((err as StackStartError).logTail.join('\n')).toContain('up but sick');
    expect(await leftovers(runtime, runId)).toEqual([]);
  });

  it('a missing image is reported before anything is created', async () => {
    const runtime = await realRuntime();
    const runId = uniqueRunId('it-noimage');
    const file = write(`services:
  ghost:
    image: loadscope/does-not-exist:never
    network_mode: host
`);
    const err = await startStack({ runtime, project: loadComposeFile(file, {}), runId, healthTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackStartError);
    expect((err as StackStartError).service).toBe('ghost');
    expect(await leftovers(runtime, runId)).toEqual([]);
  });
  // `loadscope down` beside a neighbour run whose reaper removes the same orphans: the client that gets 409 ("removal
  // already in progress") must not report the container removed while it is still there (a fresh-clone CI saw down
  // exit 0 with the postgres container still listed)
  it('two clients removing one running container at once: each returns only when it is gone', async () => {
    const clients = [await realRuntime(), await realRuntime()];
    for (let trial = 0; trial < 3; trial++) {
      const runId = uniqueRunId('it-remove-race');
      const id = await clients[0]!.create({
        name: `loadscope-${runId}`,
        image: 'loadscope/postgres:15',
        entrypoint: ['sleep', '60'],
        env: {},
        labels: { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId },
        networkMode: 'host',
        binds: [],
      });
      try {
        await clients[0]!.start(id);
        const stillThere = await Promise.all(clients.map(async (c) => (await c.remove(id), (await c.inspect(id))?.state ?? null)));
        expect(stillThere).toEqual([null, null]);
        expect(await leftovers(clients[0]!, runId)).toEqual([]);
      } finally {
        await clients[0]!.remove(id);
      }
    }
  });
});
