// Test helper: a loopback port for a server a test starts a moment later.
import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on 127.0.0.1:port now (a test's check that a server it stopped let go of its port). */
export async function portIsFree(port: number): Promise<boolean> {
  const s = createServer();
  try {
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}
