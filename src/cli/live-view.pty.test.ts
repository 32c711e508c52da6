// The live view as a user sees it: `loadscope run` in a pseudo-terminal (util-linux `script`) redraws one block in
// place (cursor-up + clear-line escapes, changing numbers); with pipes instead of a terminal it prints plain
// periodic lines without any escape code; `--json` keeps stdout pure JSON. Attach mode against a loopback fake
// (no Docker): a few seconds of load per case.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../run/testing/stack-fixture.ts';

// eslint-disable-next-line no-control-regex
const ANY_ESCAPE = /\x1b\[/;
const CURSOR_UP_3 = '\x1b[3A';

let dir: string;
let server: Server;
let port: number;

const CONFIG = `
target: "http://127.0.0.1:\${FAKE_PORT}"
flow:
  tasks:
    - { name: health, method: GET, path: /health }
    - { name: items, weight: 2, method: GET, path: /items }
scenarios:
  live:
    shape: { kind: ramp, users: 8, rampUp: 2s, duration: 7s }
    thinkTime: { min: 20ms, max: 60ms }
`;

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<Out> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const cliArgs = (extra: string[] = []): string[] => [CLI, 'run', 'live', '-c', join(dir, 'live.yaml'), '--out', join(dir, 'results'), '--no-metrics', ...extra];
// the view's env knobs must not leak in from the caller's environment
const ENV = (): Record<string, string> => ({ FAKE_PORT: String(port), LOADSCOPE_PLAIN: '', TERM: 'xterm' });

// The three cases are separate CLI processes against the same fake (own run ids): they run at the same time.
describe.concurrent('live view of `loadscope run`', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loadscope-pty-'));
    writeFileSync(join(dir, 'live.yaml'), CONFIG);
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('redraws one block in place on a terminal, with changing numbers', async () => {
    // script -q (no banner) -f (flush) -e (child's exit code) -c <command>: stdin/stdout/stderr of the CLI are a pty
    const cmd = [process.execPath, ...cliArgs()].map(q).join(' ');
    const r = await run('script', ['-qfec', cmd, '/dev/null'], ENV());
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    const out = r.stdout; // everything the terminal got, stdout and stderr interleaved
    const redraws = out.split(CURSOR_UP_3).length - 1;
    expect(redraws).toBeGreaterThanOrEqual(4);
    expect(out).toContain('\x1b[2K');
    // each frame starts with the header line; the elapsed clock moves and users ramp up
    const elapsed = [...out.matchAll(/phase (\S+) {2}elapsed (\d+:\d{2}) \/ 0:07 {2}remaining (\d+:\d{2})/g)].map((m) => m[2]);
    expect(new Set(elapsed).size).toBeGreaterThanOrEqual(4);
    const users = [...out.matchAll(/ {2}users (\d+) {2}req\/s (\d+) {2}p95 /g)].map((m) => Number(m[1]));
    expect(Math.max(...users)).toBe(8);
    expect(new Set(users).size).toBeGreaterThanOrEqual(2);
    // the per-second progress lines are replaced by the block, and the summary follows it
    expect(out).not.toMatch(/^\s*\d+s \S+\s+users=/m);
    expect(out).toMatch(/verdict: (PASS|INCONCLUSIVE|FAIL|INVALID)/);
  }, 120_000);

  it('prints plain periodic lines without escape codes when the output is not a terminal', async () => {
    const r = await run(process.execPath, cliArgs(), { ...ENV(), LOADSCOPE_PLAIN_EVERY_S: '2' });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).not.toMatch(ANY_ESCAPE);
    expect(r.stdout).not.toMatch(ANY_ESCAPE);
    const lines = r.stderr.split('\n').filter((l) => /^\[\d+s\/7s\] /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(3); // first second, every 2 s, phase change, last second
    expect(lines.length).toBeLessThanOrEqual(7);
    expect(lines.join('\n')).toMatch(/ hold users=8 rps=\d+ p95=[\d.]+ms errors=0 \(0\.00%\)/);
    expect(r.stdout).toMatch(/^run \S+ \(completed/);
    expect(r.stdout).toContain('report: ');
  }, 120_000);

  it('--json: stdout is one JSON object, progress and the summary table go to stderr', async () => {
    const r = await run(process.execPath, cliArgs(['--json']), ENV());
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['runId', 'runDir', 'reportPath', 'verdict', 'slo', 'capacity', 'leaks', 'summary']));
    expect(j.reportPath).toMatch(/report\.html$/);
    expect(r.stderr).toMatch(/\[\d+s\/7s\] /);
    expect(r.stderr).toContain('verdict: ');
  }, 120_000);
});
