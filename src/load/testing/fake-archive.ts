// Test double of the ArchiveOrigin API on 127.0.0.1: enroll hands out tokens, other endpoints demand them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeArchive {
  url: string;
  counts: Record<string, number>;
  /** token → requests made with it (enroll excluded) */
  byToken: Map<string, number>;
  enrolls: number;
  unauthorized: number;
  connections: number;
  close(): Promise<void>;
}

export async function startFakeArchive(opts: { serviceMs?: number } = {}): Promise<FakeArchive> {
  let nextToken = 1;
  const tokens = new Set<string>();
  const fake: Omit<FakeArchive, 'url' | 'close'> = { counts: {}, byToken: new Map(), enrolls: 0, unauthorized: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      fake.counts[path] = (fake.counts[path] ?? 0) + 1;
      const reply = (status: number, json: unknown): void => {
        const text = JSON.stringify(json);
        const send = (): void => {
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
        };
        if (opts.serviceMs) setTimeout(send, opts.serviceMs);
        else send();
      };
      if (path === '/health') return reply(200, { status: 'ok' });
      if (path === '/device/enroll' && req.method === 'POST') {
        const parsed = JSON.parse(body || '{}') as { device_id?: string };
        if (!parsed.device_id?.startsWith('device-')) return reply(422, { detail: 'device_id' });
        fake.enrolls++;
        const token = `tok-${nextToken++}`;
        tokens.add(token);
        return reply(200, { enrollment_token: token, device_id: parsed.device_id });
      }
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!auth || !tokens.has(auth)) {
        fake.unauthorized++;
        return reply(401, { detail: 'unauthorized' });
      }
      fake.byToken.set(auth, (fake.byToken.get(auth) ?? 0) + 1);
      if (path === '/lock-proof' && req.method === 'POST') return reply(201, { ok: true });
      if (path === '/ledger/entries') return reply(200, { entries: [] });
      reply(404, { detail: 'not found' });
    });
  });
  server.on('connection', () => fake.connections++);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
