// RemoteWriter against a local HTTP receiver (a fake of a Prometheus remote-write endpoint on loopback): pushes on
// its interval and once at stop, retries what may pass later with back-off, gives up after maxAttempts, reports
// every give-up, never runs two pushes at once and never rejects.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeWriteRequest, type PromSeries } from './remote-write-codec.ts';
import { RemoteWriter, type RemoteWriteFailure } from './remote-write.ts';

interface Received {
  headers: IncomingMessage['headers'];
  series: PromSeries[];
}

interface Receiver {
  url: string;
  received: Received[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** `answer(n)` decides the n-th request's fate (0-based): a status code, or 'hang' to never answer. */
async function receiver(answer: (n: number) => number | 'hang', delayMs = 0): Promise<Receiver> {
  const received: Received[] = [];
  let n = 0;
  const r = { url: '', received };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fate = answer(n++);
      received.push({ headers: req.headers, series: decodeWriteRequest(new Uint8Array(Buffer.concat(chunks))) });
      if (fate === 'hang') return;
      setTimeout(() => {
        res.writeHead(fate).end(fate >= 400 ? `err ${fate}: out of order sample` : '');
      }, delayMs);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  return r;
}

/** A counter that grows by one per collection, like a cumulative OTel sum. */
function counter(): () => Promise<PromSeries[]> {
  let value = 0;
  return async () => [{ labels: { __name__: 'loadscope_requests_total', run_id: 'r1' }, samples: [{ value: ++value, timestampMs: Date.now() }] }];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RemoteWriter', () => {
  it('pushes every interval and once more at stop, with the remote-write headers', async () => {
    const rx = await receiver(() => 204);
    const failures: RemoteWriteFailure[] = [];
    const w = new RemoteWriter({ url: rx.url, intervalMs: 50, collect: counter(), onFailure: (f) => failures.push(f) });
    w.start();
    // wait for three interval pushes (a busy machine runs timers late, never early), then the final one
    const deadline = Date.now() + 5000;
    while (rx.received.length < 3 && Date.now() < deadline) await sleep(10);
    const stats = await w.stop();
    const values = rx.received.map((r) => r.series[0]!.samples[0]!.value);
    expect(values.length).toBeGreaterThanOrEqual(4);
    expect(values).toEqual(values.map((_, i) => i + 1)); // in order, the last one being the final push
    expect(stats).toMatchObject({ pushes: values.length, failures: 0, samplesSent: values.length });
    expect(rx.received[0]!.headers).toMatchObject({
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    });
    expect(failures).toEqual([]);
    // stopped: no push afterwards
    await sleep(120);
    expect(rx.received).toHaveLength(values.length);
  });

  it('retries 5xx and 429 with back-off and succeeds within maxAttempts', async () => {
    const rx = await receiver((n) => [503, 429, 204][n] ?? 204);
    const failures: RemoteWriteFailure[] = [];
    const w = new RemoteWriter({ url: rx.url, intervalMs: 60_000, collect: counter(), onFailure: (f) => failures.push(f), maxAttempts: 3, backoffMs: 20 });
    const t0 = performance.now();
    const stats = await w.stop(); // never started: the final push alone
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20 + 40); // back-off 20 ms, then 40 ms
    expect(rx.received).toHaveLength(3);
    expect(rx.received.map((r) => r.series[0]!.samples[0]!.value)).toEqual([1, 1, 1]); // the same body each time
    expect(stats).toMatchObject({ pushes: 1, failures: 0 });
    expect(failures).toEqual([]);
  });

  it('gives up after maxAttempts and reports it; the next push starts afresh', async () => {
    const rx = await receiver((n) => (n < 3 ? 500 : 204));
    const failures: RemoteWriteFailure[] = [];
    const w = new RemoteWriter({ url: rx.url, intervalMs: 60_000, collect: counter(), onFailure: (f) => failures.push(f), maxAttempts: 3, backoffMs: 5 });
    w.start();
    const w2 = await w.stop();
    expect(w2).toMatchObject({ pushes: 0, failures: 1 });
    expect(failures).toEqual([{ failures: 1, attempts: 3, samples: 1, error: 'HTTP 500: err 500: out of order sample' }]);
    expect(rx.received).toHaveLength(3);
  });

  it('does not retry a 4xx other than 429 (the receiver refused the data itself)', async () => {
    const rx = await receiver(() => 400);
    const failures: RemoteWriteFailure[] = [];
    const stats = await new RemoteWriter({ url: rx.url, intervalMs: 60_000, collect: counter(), onFailure: (f) => failures.push(f), backoffMs: 5 }).stop();
    expect(rx.received).toHaveLength(1);
    expect(failures).toMatchObject([{ attempts: 1, error: expect.stringContaining('HTTP 400') }]);
    expect(stats.failures).toBe(1);
  });

  it('an endpoint nobody listens on: each push fails after its retries, stop still resolves', async () => {
    const rx = await receiver(() => 204);
    const url = rx.url;
    for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r())); // the port is now closed
    const failures: RemoteWriteFailure[] = [];
    const w = new RemoteWriter({ url, intervalMs: 40, collect: counter(), onFailure: (f) => failures.push(f), maxAttempts: 2, backoffMs: 5 });
    w.start();
    await sleep(150);
    const stats = await w.stop();
    expect(stats.pushes).toBe(0);
    expect(stats.failures).toBeGreaterThanOrEqual(2);
    expect(failures.map((f) => f.failures)).toEqual(failures.map((_, i) => i + 1));
    expect(failures.every((f) => f.attempts === 2 && /ECONNREFUSED/.test(f.error))).toBe(true);
  });

  it('a receiver that never answers: the request times out, counts as a failure, and ticks are skipped meanwhile (one request in flight, never two)', async () => {
    const rx = await receiver(() => 'hang');
    const failures: RemoteWriteFailure[] = [];
    const w = new RemoteWriter({ url: rx.url, intervalMs: 30, collect: counter(), onFailure: (f) => failures.push(f), maxAttempts: 1, timeoutMs: 400 });
    w.start();
    await sleep(300); // ≈10 ticks, all while the first push waits for its answer
    expect(rx.received).toHaveLength(1);
    expect(failures).toEqual([]);
    const stats = await w.stop();
    expect(failures[0]).toMatchObject({ attempts: 1, error: 'no answer within 400 ms' });
    expect(stats.skippedTicks).toBeGreaterThan(0);
  });

  it('a failing collect or reporter is contained: stop resolves with the failure counted', async () => {
    const w = new RemoteWriter({
      url: 'http://127.0.0.1:9/api/v1/write',
      intervalMs: 60_000,
      collect: async () => {
        throw new Error('collect broke');
      },
      onFailure: () => {
        throw new Error('reporter broke');
      },
    });
    await expect(w.stop()).resolves.toMatchObject({ failures: 1, pushes: 0 });
  });
});
