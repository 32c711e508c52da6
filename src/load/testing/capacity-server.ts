// A server with known capacity: `slots` requests served at once, each taking `serviceMs`; the rest queue.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startCapacityServer(slots: number, serviceMs: number): Promise<{ url: string; served: () => number; close(): Promise<void> }> {
  let busy = 0;
  let served = 0;
  const queue: (() => void)[] = [];
  const run = (res: http.ServerResponse): void => {
    busy++;
    setTimeout(() => {
      busy--;
      served++;
      res.writeHead(200, { 'content-length': 2 }).end('ok');
      queue.shift()?.();
    }, serviceMs);
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => (busy < slots ? run(res) : queue.push(() => run(res))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: () => served,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
