// Every command example in README.md and docs/*.md is executed, so the docs cannot go stale.
//
// Extraction: fenced ```sh / ```bash / ```shell blocks; a line (after `VAR=value` prefixes, with `\` continuations
// joined and a trailing `# comment`, pipe or redirection cut off) counts when it starts with `loadscope`,
// `npx loadscope` or `npm run …` / `npm test`. Other lines (docker, apt-get, ss, …) are not ours to run.
//
// Rules:
// - `npm test`, `npm run <script>` are NOT executed (they would recurse into this suite, or run for minutes): the
//   script must exist in package.json.
// - `loadscope X` / `npx loadscope X` → `node src/cli/loadscope.mjs X` from the repository root, with the fast,
//   equivalent invocation of the FAST table below when X is long-running or touches shared state:
//   · run/demo: attach to one private stack on free ports (brought up once for this file) with `--target`,
//     a per-scenario `--time-scale`, a free `--metrics-port`, results under a temp dir. (Stack mode itself is
//     covered by src/run/presets.int.test.ts.) The attach example config gets a loopback fake of "my FastAPI".
//   · up/down: a run id of this test (never `down` without one: that would remove other runs' containers),
//     free ports; dashboards: written to a temp dir; paths `results/…` point into the temp dir.
//   · `--help` variants and everything else run as written.
// - Every command must exit with the code EXPECTED_EXIT gives for its subcommand (run/analyze/compare: 0 or 1,
//   i.e. the run reached a verdict; a usage, config or infrastructure error is a failure of the docs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../stack/testing/runtime.ts';
import { CLI, REPO_ROOT, isolatedStack, removeTempDirs, type IsolatedStack } from '../run/testing/stack-fixture.ts';

interface Example {
  file: string;
  line: number;
  text: string;
  env: Record<string, string>;
  /** argv after `loadscope`, or the npm script name */
  argv: string[];
  kind: 'loadscope' | 'npm';
}

const DOC_FILES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Splits a command line like a simple shell: whitespace, single and double quotes; no expansion. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (const c of s) {
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (/\s/.test(c)) {
      if (any || cur) out.push(cur);
      cur = '';
      any = false;
    } else cur += c;
  }
  if (any || cur) out.push(cur);
  return out;
}

function extractExamples(file: string, text: string): Example[] {
  const out: Example[] = [];
  const lines = text.split('\n');
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const fence = /^\s*```(\w*)/.exec(raw);
    if (fence) {
      inBlock = !inBlock && ['sh', 'bash', 'shell', 'console'].includes(fence[1] ?? '');
      continue;
    }
    if (!inBlock) continue;
    let cmd = raw.trim().replace(/^\$\s+/, '');
    const start = i;
    while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = `${cmd.slice(0, -1)} ${lines[++i]!.trim()}`;
    cmd = cmd
      .replace(/\s+#.*$/, '')
      .replace(/\s*(\||&&|;|2?>).*$/, '')
      .trim();
    if (!cmd || cmd.startsWith('#')) continue;
    const w = words(cmd);
    const env: Record<string, string> = {};
    while (w[0] && /^[A-Z_][A-Z0-9_]*=/.test(w[0])) {
      const [k, ...v] = w.shift()!.split('=');
      env[k!] = v.join('=');
    }
    if (w[0] === 'npx' && w[1] === 'loadscope') out.push({ file, line: start + 1, text: cmd, env, argv: w.slice(2), kind: 'loadscope' });
    else if (w[0] === 'loadscope') out.push({ file, line: start + 1, text: cmd, env, argv: w.slice(1), kind: 'loadscope' });
    else if (w[0] === 'npm' && w[1] === 'test') out.push({ file, line: start + 1, text: cmd, env, argv: ['test'], kind: 'npm' });
    else if (w[0] === 'npm' && w[1] === 'run') out.push({ file, line: start + 1, text: cmd, env, argv: w.slice(2).filter((a) => a !== '-s'), kind: 'npm' });
  }
  return out;
}

const examples = DOC_FILES.flatMap((f) => extractExamples(f, readFileSync(join(REPO_ROOT, f), 'utf8')));

/** Exit codes each subcommand may end with in its fast form. */
const EXPECTED_EXIT: Record<string, readonly number[]> = {
  help: [0],
  scenarios: [0],
  run: [0, 1], // 0 pass/inconclusive, 1 fail/invalid: the run reached its verdict either way
  demo: [0, 1],
  analyze: [0, 1],
  compare: [0, 1],
  up: [0],
  ps: [0],
  down: [0],
  dashboards: [0],
  k8s: [0], // k8s manifest only prints (the `| kubectl apply` part is cut off, never run)
};

/** --time-scale for run/demo examples, by scenario: a few seconds each. */
const FAST_TIME_SCALE: Record<string, number> = {
  normal: 0.02, //   5 min → 6 s
  peak: 0.01, //    10 min → 6 s
  stress: 0.004, // 30 min → 7.2 s (stop on break may end it sooner)
  soak: 0.0003, //   8 h   → 8.6 s
  spike: 0.01, //   10 min → 6 s
  smoke: 0.1, //     1 min → 6 s (compose/examples/attach-fastapi.yaml)
};

const ATTACH_EXAMPLE = 'compose/examples/attach-fastapi.yaml';
/** run/demo examples executing at once (2 cores: the generator of each is light at these time scales). */
const RUN_CONCURRENCY = 3;

interface Started {
  argv: string[];
  env: Record<string, string>;
  sub: string;
  r: { code: number | null; stdout: string; stderr: string };
}

/** At most n of the given tasks at once. */
function pool(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

interface Ctx {
  tmp: string;
  shared: IsolatedStack;
  sharedRunId: string;
  docsUpRunId: string;
  docsUpEnv: Record<string, string>;
  fake: Server;
  fakePort: number;
}

/** The fast, equivalent invocation of one documented command. */
async function fastForm(ex: Example, c: Ctx): Promise<{ argv: string[]; env: Record<string, string>; sub: string }> {
  const help = ex.argv.includes('--help') || ex.argv.includes('-h');
  const sub = help ? 'help' : (ex.argv[0] ?? 'help');
  const argv = ex.argv.map((a) => (a === 'results' || a.startsWith('results/') ? join(c.tmp, a) : a));
  const env: Record<string, string> = { ...ex.env };
  if (help) return { argv, env, sub };
  switch (sub) {
    case 'run':
    case 'demo': {
      const scenario = sub === 'demo' ? 'normal' : (argv[1] ?? '');
      const scale = FAST_TIME_SCALE[scenario];
      if (scale === undefined) throw new Error(`${ex.file}:${ex.line}: no FAST_TIME_SCALE for scenario "${scenario}"`);
      const cfg = argv[argv.indexOf('-c') + 1] ?? argv[argv.indexOf('--config') + 1];
      const attachExample = (argv.includes('-c') || argv.includes('--config')) && cfg === ATTACH_EXAMPLE;
      const target = attachExample ? `http://127.0.0.1:${c.fakePort}` : `http://127.0.0.1:${c.shared.appPort}`;
      argv.push('--target', target, '--time-scale', String(scale), '--metrics-port', String(await freePort()));
      if (!argv.includes('--out')) argv.push('--out', join(c.tmp, 'results'));
      // the reference config's DSN follows these; the attach example's Postgres is a closed port (sampler warns)
      Object.assign(env, c.shared.env, attachExample ? { MYAPP_PG_PORT: String(await freePort()) } : {});
      return { argv, env, sub };
    }
    case 'up':
      return { argv: [...argv, '--run-id', c.docsUpRunId], env: { ...env, ...c.docsUpEnv }, sub };
    case 'down':
      return { argv: argv.includes('--run-id') ? argv : [...argv, '--run-id', c.docsUpRunId], env, sub };
    case 'dashboards':
      return { argv: [...argv, '--out', join(c.tmp, 'dash'), '--rules', join(c.tmp, 'dash', 'recording.yml')], env, sub };
    default:
      return { argv, env, sub };
  }
}

function exec(argv: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...argv], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('command examples in README.md and docs/*.md', () => {
  const ctx = {} as Ctx;

  beforeAll(async () => {
    ctx.tmp = mkdtempSync(join(tmpdir(), 'loadscope-docs-'));
    ctx.fake = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'fake-token', status: 'ok', items: [] }));
      });
    });
    await new Promise<void>((r) => ctx.fake.listen(0, '127.0.0.1', r));
    ctx.fakePort = (ctx.fake.address() as { port: number }).port;
    const suffix = Math.random().toString(36).slice(2, 8);
    ctx.sharedRunId = `docs-examples-shared-${suffix}`;
    ctx.docsUpRunId = `docs-examples-up-${suffix}`;
    const upPort = await freePort();
    let upPgPort = await freePort();
    while (upPgPort === upPort) upPgPort = await freePort();
    ctx.docsUpEnv = { LOADSCOPE_APP_PORT: String(upPort), LOADSCOPE_PG_PORT: String(upPgPort) };
    ctx.shared = await isolatedStack('loadscope-docs-shared');
    const up = await exec(['up', '-f', ctx.shared.composePath, '--run-id', ctx.sharedRunId], ctx.shared.env, 150_000);
    if (up.code !== 0) throw new Error(`shared stack did not come up (exit ${up.code}):\n${up.stderr}`);
  }, 180_000);

  afterAll(async () => {
    const downs = await Promise.all([ctx.sharedRunId, ctx.docsUpRunId].filter(Boolean).map((id) => exec(['down', '--run-id', id], {}, 60_000)));
    await new Promise<void>((r) => (ctx.fake ? ctx.fake.close(() => r()) : r()));
    if (ctx.tmp) rmSync(ctx.tmp, { recursive: true, force: true });
    removeTempDirs();
    for (const d of downs) expect(d.code).toBe(0);
    const ps = await exec(['ps'], {}, 30_000);
    expect(ps.stdout).not.toContain(ctx.sharedRunId);
    expect(ps.stdout).not.toContain(ctx.docsUpRunId);
  }, 120_000);

  it('finds the examples: every documented command group is there', () => {
    const subs = new Set(examples.filter((e) => e.kind === 'loadscope').map((e) => e.argv[0]));
    for (const s of ['scenarios', 'run', 'analyze', 'compare', 'up', 'ps', 'down', 'dashboards']) expect(subs, s).toContain(s);
    expect(examples.filter((e) => e.file === 'docs/LOAD_TESTING.md' && e.argv[0] === 'run').map((e) => e.argv[1])).toEqual(
      expect.arrayContaining(['normal', 'peak', 'stress', 'soak', 'spike']),
    );
  });

  it('npm commands name scripts that exist in package.json (not executed: they would recurse or run for minutes)', () => {
    const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const npm = examples.filter((e) => e.kind === 'npm');
    expect(npm.length).toBeGreaterThan(0);
    for (const e of npm) expect(scripts[e.argv[0] ?? ''], `${e.file}:${e.line}: ${e.text}`).toBeDefined();
  });

  // identical invocations run once
  const seen = new Set<string>();
  const unique = examples
    .filter((e) => e.kind === 'loadscope')
    .filter((e) => {
      const key = JSON.stringify([e.env, e.argv]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });

  // The run/demo examples are independent of each other: they start in beforeAll, RUN_CONCURRENCY at a time, and each
  // test awaits its own. Everything else runs in document order inside its test (analyze/compare after the runs).
  const started = new Map<Example, Promise<Started>>();
  const isRun = (e: Example): boolean => !e.argv.includes('--help') && (e.argv[0] === 'run' || e.argv[0] === 'demo');
  beforeAll(() => {
    const limit = pool(RUN_CONCURRENCY);
    for (const ex of unique.filter(isRun)) {
      const p = limit(async () => {
        const f = await fastForm(ex, ctx);
        return { ...f, r: await exec(f.argv, f.env, 120_000) };
      });
      p.catch(() => {}); // awaited (and reported) by its test
      started.set(ex, p);
    }
  });

  for (const ex of unique) {
    it(`${ex.file}:${ex.line}: ${ex.text}`, async () => {
      // results/latest must not move under analyze/compare: they run once every run example has finished
      if (ex.argv[0] === 'analyze' || ex.argv[0] === 'compare') await Promise.allSettled(started.values());
      const { argv, sub, r } = await (started.get(ex) ?? fastForm(ex, ctx).then(async (f) => ({ ...f, r: await exec(f.argv, f.env, 120_000) })));
      const expected = EXPECTED_EXIT[sub];
      if (!expected) throw new Error(`no EXPECTED_EXIT entry for "${sub}": add it (and a fast form if it is slow)`);
      expect(expected, `exit ${r.code} for ${argv.join(' ')}\n${r.stderr.slice(-2000)}`).toContain(r.code);
      if (sub === 'run' && argv.includes('--json')) {
        const j = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(Object.keys(j)).toEqual(expect.arrayContaining(['runId', 'runDir', 'reportPath', 'verdict', 'slo', 'capacity', 'leaks', 'summary']));
      }
    }, 150_000);
  }
});
