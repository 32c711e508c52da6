// The coordinator's HTTP side (#15, docs/DISTRIBUTED.md): serves each worker its assignment and takes its seconds.
// Loopback unless told otherwise; every request carries the per-run token (compared in constant time), every body
// is checked against its one schema (protocol.ts). What to answer is the caller's (fleet-load.ts).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoadscopeError } from '../../common/errors.ts';
import { WorkerSecondSchema, type Assignment, type SecondReply, type Start, type WorkerSecond } from './protocol.ts';

export interface CoordinatorHandlers {
  /** Worker `index` asks for its assignment; undefined: the run no longer takes it (410). */
  assignment(index: number): Promise<Assignment | undefined>;
  /** Worker `index` is ready; resolves with the start barrier once all are (undefined: 410). */
  start(index: number): Promise<Start | undefined>;
  second(index: number, s: WorkerSecond): SecondReply;
}

export interface CoordinatorOptions {
  token: string;
  count: number;
  handlers: CoordinatorHandlers;
  /** default 127.0.0.1: workers elsewhere need an address they can reach, given on purpose */
  host?: string;
  port?: number;
}

export interface Coordinator {
  /** the base URL the workers are given */
  readonly url: string;
  close(): Promise<void>;
}

/** A second's body: ~1 kB per endpoint; a generous bound so a bad client cannot make us buffer without end. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const ROUTE = /^\/v1\/workers\/(\d+)\/(assignment|start|seconds)$/;

export const newRunToken = (): string => randomBytes(32).toString('base64url');

/** Constant time whatever the lengths: both sides hashed first. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(token)) && given.length > 0;
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(o: CoordinatorOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (!tokenMatches(req.headers.authorization, o.token)) return reply(res, 401, { error: 'bad or missing token' });
  const m = ROUTE.exec(new URL(req.url ?? '/', 'http://x').pathname);
  const index = m ? Number(m[1]) : -1;
  if (!m || index >= o.count) return reply(res, 404, { error: 'no such worker or route' });
  if (m[2] === 'assignment' || m[2] === 'start') {
    if (req.method !== 'GET') return reply(res, 405, { error: 'GET only' });
    const a = m[2] === 'assignment' ? await o.handlers.assignment(index) : await o.handlers.start(index);
    return a ? reply(res, 200, a) : reply(res, 410, { error: 'this run no longer takes workers' });
  }
  if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
  const text = await readBody(req);
  if (text === undefined) return reply(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return reply(res, 400, { error: 'body is not JSON' });
  }
  const parsed = WorkerSecondSchema.safeParse(json);
  if (!parsed.success) return reply(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  reply(res, 200, o.handlers.second(index, parsed.data));
}

export async function startCoordinator(o: CoordinatorOptions): Promise<Coordinator> {
  const server = http.createServer((req, res) => {
    handle(o, req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new LoadscopeError('PORT_IN_USE', `coordinator: ${host}:${o.port} is already in use`, { cause: err }) : err),
    );
    server.listen(o.port ?? 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
