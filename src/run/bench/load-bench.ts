// Engine throughput vs raw autocannon and wrk against one trivial loopback server (own process), and
// the engine's memory over a compressed soak.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rawAutocannonRps } from '../../load/autocannon-driver.ts';
import { runLoad } from '../../load/engine.ts';
import { planShape } from '../../load/shapes/registry.ts';
import { RunWriter } from '../../store/run-writer.ts';
import { allowTarget } from '../../config/target.ts';

const SERVER_JS = `const http = require('node:http');
const s = http.createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }); r.end('ok'); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.send(s.address().port));`;

export async function startServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const file = join(dir, 'server.cjs');
  writeFileSync(file, SERVER_JS);
  const child = fork(file, [], { stdio: 'ignore' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (p) => resolve(Number(p)));
    child.once('exit', (c) => reject(new Error(`bench server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

export async function wrkRps(url: string, connections: number, durationS: number): Promise<number | undefined> {
  return (await wrkRun(url, connections, durationS))?.rps;
}

/** wrk req/s and wrk's own CPU µs per request (its user + system time, from the shell's `times`). */
export async function wrkRun(url: string, connections: number, durationS: number): Promise<{ rps: number; cpuUsPerReq?: number } | undefined> {
  try {
    const script = `wrk -t1 -c${connections} -d${durationS}s ${url}/; times`;
    const { stdout } = await promisify(execFile)('sh', ['-c', script], { timeout: (durationS + 15) * 1000 });
    const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
    if (!m) return undefined;
    const rps = Number(m[1]);
    // `times` prints the shell's own user/system line, then its children's (wrk): "0m1.234s 0m0.567s"
    const t = [...stdout.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].at(-1);
    const cpuS = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : undefined;
    return { rps, cpuUsPerReq: cpuS === undefined ? undefined : (cpuS * 1e6) / Math.max(1, rps * durationS) };
  } catch {
    return undefined;
  }
}

/** Raw autocannon req/s and this process's CPU µs per request (all threads; robust on a busy machine). */
async function autocannonRun(url: string, connections: number, durationS: number): Promise<{ rps: number; cpuUsPerReq: number }> {
  const c0 = process.cpuUsage();
  const rps = await rawAutocannonRps(allowTarget(url, [], 'bench'), connections, durationS);
  const c = process.cpuUsage(c0);
  return { rps, cpuUsPerReq: (c.user + c.system) / Math.max(1, rps * durationS) };
}

export async function engineRun(url: string, connections: number, durationS: number): Promise<{ rps: number; cpuUsPerReq: number; perSecond: number[] }> {
  const counts: number[] = [];
  let cpuS = 0;
  let cpuReqs = 0;
  await runLoad({
    flow: { onStart: [], tasks: [{ name: 'root', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] },
    target: allowTarget(url, [], 'bench'),
    timeline: planShape({ kind: 'ramp', users: connections, rampUpMs: 0, durationMs: durationS * 1000 }),
    thinkMinMs: 0,
    thinkMaxMs: 0,
    requestTimeoutMs: 10_000,
    onSecond: (s) => {
      if (s.final) return;
      const n = s.endpoints.get('root')?.count ?? 0;
      // CPU per request from the second second on: the first carries worker warm-up
      if (counts.length > 0) [cpuS, cpuReqs] = [cpuS + s.cpuCores, cpuReqs + n];
      counts.push(n);
    },
  });
  // throughput over the same seconds as the CPU: the first carries the users' start (building one client per
  // connection) and the worker's JIT warm-up, measured at 20-70 % below the steady seconds; wrk has neither.
  const steady = counts.length > 1 ? counts.slice(1) : counts;
  return { rps: steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length), cpuUsPerReq: (cpuS * 1e6) / Math.max(1, cpuReqs), perSecond: counts };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

export interface LoadBenchResult {
  connections: number;
  durationS: number;
  /** medians over the rounds */
  autocannonRps: number;
  wrkRps?: number;
  engineRps: number;
  rounds: { autocannonRps: number; wrkRps?: number; engineRps: number }[];
  soakMemory: { atS: number; rssMB: number; heapMB: number }[];
}

export async function loadBench(
  opts: { connections?: number; durationS?: number; soakS?: number; rounds?: number; log?: (l: string) => void } = {},
): Promise<LoadBenchResult> {
  // on a shared machine one run of each tool is mostly noise: BENCH_ROUNDS > 1 interleaves them and takes medians
  const nRounds = Math.max(1, opts.rounds ?? Number(process.env.BENCH_ROUNDS ?? 1));
  const connections = opts.connections ?? 50;
  const durationS = opts.durationS ?? 10;
  const soakS = opts.soakS ?? 30;
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-bench-'));
  const { url, child } = await startServer(dir);
  try {
    log(`bench server ${url}; ${connections} connections × ${durationS} s each${nRounds > 1 ? `, ${nRounds} interleaved rounds` : ''}`);
    const rounds: LoadBenchResult['rounds'] = [];
    for (let i = 0; i < nRounds; i++) {
      const tag = nRounds > 1 ? `[${i + 1}] ` : '';
      const ac = await autocannonRun(url, connections, durationS);
      log(`${tag}autocannon: ${ac.rps.toFixed(0)} req/s (${ac.cpuUsPerReq.toFixed(1)} µs CPU/req)`);
      const wrk = await wrkRps(url, connections, durationS);
      log(`${tag}wrk:        ${wrk?.toFixed(0) ?? 'n/a'} req/s`);
      const engine = await engineRun(url, connections, durationS);
      log(`${tag}engine:     ${engine.rps.toFixed(0)} req/s (${engine.cpuUsPerReq.toFixed(1)} µs CPU/req)`);
      rounds.push({ autocannonRps: ac.rps, wrkRps: wrk, engineRps: engine.rps });
    }
    const autocannonRps = median(rounds.map((r) => r.autocannonRps));
    const wrks = rounds.flatMap((r) => (r.wrkRps === undefined ? [] : [r.wrkRps]));
    const wrk = wrks.length ? median(wrks) : undefined;
    const engine = median(rounds.map((r) => r.engineRps));
    if (nRounds > 1) log(`medians: autocannon ${autocannonRps.toFixed(0)}, wrk ${wrk?.toFixed(0) ?? 'n/a'}, engine ${engine.toFixed(0)} req/s`);

    // compressed soak: the 8 h, 200-user soak shape squeezed into soakS, think 1–3 s, writing a real run dir
    const timeScale = soakS / (8 * 3600);
    const writer = new RunWriter(join(dir, 'results'), 'soak-bench', 'soak');
    const soakMemory: LoadBenchResult['soakMemory'] = [];
    await runLoad({
      flow: { onStart: [], tasks: [{ name: 'root', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] },
      target: allowTarget(url, [], 'bench'),
      timeline: planShape({ kind: 'ramp', users: 200, rampUpMs: 600_000, durationMs: 8 * 3_600_000 }, timeScale),
      thinkMinMs: 1000,
      thinkMaxMs: 3000,
      requestTimeoutMs: 10_000,
      onSecond: (s) => {
        writer.writeSecond(s);
        const m = process.memoryUsage();
        if (Math.round(s.elapsedS) % 5 === 0 || s.final)
          soakMemory.push({ atS: s.elapsedS, rssMB: +(m.rss / 2 ** 20).toFixed(1), heapMB: +(m.heapUsed / 2 ** 20).toFixed(1) });
      },
    });
    writer.finish();
    return { connections, durationS, autocannonRps, wrkRps: wrk, engineRps: engine, rounds, soakMemory };
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
