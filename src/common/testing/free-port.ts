// Test helper: a loopback port for a server a test starts a moment later.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The kernel takes the local port of every outgoing connection and of every `listen(0)` from its ephemeral range
 * only; the unit files open thousands of connections a second. A port chosen below that range cannot be taken between
 * the choice and its use (seen with an ephemeral one: a fleet case's coordinator, bound 1.5 s after the choice, met
 * EADDRINUSE, and its worker read a capacity server's "ok" on the port).
 */
const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** The lowest port chosen: above the well-known and registered services a machine may run (5432, 8080, 9090…). */
const LOWEST_PORT = 20_000;
const TRIES = 200;

/** Ports this process handed out already: two cases asking side by side never get the same one. */
const handedOut = new Set<number>();

/** The ports below the ephemeral range, or none when that range starts too low to leave room (then: listen(0)). */
let belowEphemeral: { from: number; to: number } | null | undefined;
function portsBelowEphemeral(): { from: number; to: number } | null {
  belowEphemeral ??= readPortsBelowEphemeral();
  return belowEphemeral;
}

function readPortsBelowEphemeral(): { from: number; to: number } | null {
  try {
    const low = Number(readFileSync(EPHEMERAL_RANGE_FILE, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low - 1 - LOWEST_PORT >= 1_000 ? { from: LOWEST_PORT, to: low - 1 } : null;
  } catch {
    return null;
  }
}

/** A port that is free on 127.0.0.1 now, below the ephemeral range where the machine allows it. */
export async function freePort(): Promise<number> {
  const range = portsBelowEphemeral();
  if (!range) return ephemeralPort();
  for (let i = 0; i < TRIES; i++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from + 1));
    if (handedOut.has(port) || !(await portIsFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${range.from}–${range.to} after ${TRIES} tries`);
}

function ephemeralPort(): Promise<number> {
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
