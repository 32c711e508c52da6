// Shared support for the Docker-backed run tests (observe, crash) and the sampler bench: an isolated copy of the
// reference Compose file (own project name → own container names, free loopback ports), a config built from the
// reference one, the real stack provider, a Prometheus text parser and small polling helpers.
import type { Analysis } from '../../analysis/analyze.ts';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseConfigObject } from '../../config/load.ts';
import type { ResolvedConfig } from '../../config/schema.ts';
import { readNdjson } from '../../store/read-series.ts';
import type { RunEvent } from '../../store/run-format.ts';
import { LABEL_MANAGED, LABEL_RUN } from '../../stack/labels.ts';
import type { ContainerRuntime } from '../../stack/runtime/port.ts';
import { freePort } from '../../stack/testing/runtime.ts';
import { dockerStackProvider } from '../docker-stack.ts';
import type { StackProvider } from '../run-scenario.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const CLI = join(REPO_ROOT, 'src', 'cli', 'loadscope.mjs');
const REFERENCE_COMPOSE = join(REPO_ROOT, 'compose', 'stack.yml');
const REFERENCE_CONFIG = join(REPO_ROOT, 'compose', 'loadscope.yaml');

export interface IsolatedStack {
  /** Temp directory holding the Compose copy (its name is the Compose project name). */
  dir: string;
  composePath: string;
  appPort: number;
  pgPort: number;
  /** Environment for ${VAR} interpolation: the ports plus the caller's knobs. */
  env: Record<string, string>;
}

/**
 * A copy of compose/stack.yml in its own temp directory: the project name (and so the container names) differ from
 * any other stack on this engine, and the app/Postgres ports are free ones.
 */
export async function isolatedStack(prefix: string, o: { appMemLimit?: string; env?: Record<string, string>; appImage?: string } = {}): Promise<IsolatedStack> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  tempDirs.add(dir);
  const compose = parseYaml(readFileSync(REFERENCE_COMPOSE, 'utf8')) as { services: Record<string, Record<string, unknown>> };
  if (o.appMemLimit !== undefined) {
    const app = compose.services.app;
    if (!app) throw new Error('reference Compose file has no app service');
    app.mem_limit = o.appMemLimit;
  }
  if (o.appImage !== undefined) {
    const app = compose.services.app;
    if (!app) throw new Error('reference Compose file has no app service');
    app.image = o.appImage;
  }
  const composePath = join(dir, 'stack.yml');
  writeFileSync(composePath, stringifyYaml(compose));
  const appPort = await freePort();
  let pgPort = await freePort();
  while (pgPort === appPort) pgPort = await freePort();
  return { dir, composePath, appPort, pgPort, env: { LOADSCOPE_APP_PORT: String(appPort), LOADSCOPE_PG_PORT: String(pgPort), ...o.env } };
}

const tempDirs = new Set<string>();

/** Removes the temp directories (Compose copies, run directories) made by isolatedStack in this process. */
export function removeTempDirs(): void {
  // LOADSCOPE_KEEP_TEST_RUNS=1 keeps them (stack files and run directories) to diagnose a run after the test
  const keep = process.env.LOADSCOPE_KEEP_TEST_RUNS === '1';
  for (const dir of tempDirs) {
    if (keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

export interface TestConfigOptions {
  /** Scenarios in config-file syntax (durations as strings). */
  scenarios: Record<string, unknown>;
  /** Extra flow tasks appended to the reference flow. */
  extraTasks?: Record<string, unknown>[];
}

/** The reference config (same flow and sampling) pointed at an isolated stack; raw is what a -c file would hold. */
export function testConfig(stack: IsolatedStack, o: TestConfigOptions): { raw: Record<string, unknown>; config: ResolvedConfig } {
  const ref = parseYaml(readFileSync(REFERENCE_CONFIG, 'utf8')) as Record<string, unknown> & { flow: { tasks: unknown[] } };
  const raw: Record<string, unknown> = {
    ...ref,
    target: `http://127.0.0.1:${stack.appPort}`,
    stack: { compose: stack.composePath },
    sample: {
      containers: ['app', 'postgres'],
      postgres: `postgres://loadscope_monitor:loadscope_monitor@127.0.0.1:${stack.pgPort}/archiveorigin`,
      intervalMs: 1000,
    },
    flow: { ...ref.flow, tasks: [...ref.flow.tasks, ...(o.extraTasks ?? [])] },
    scenarios: o.scenarios,
  };
  return { raw, config: parseConfigObject(raw, 'test config') };
}

/** Writes the config for `loadscope run -c` (JSON is YAML). */
export function writeConfigFile(stack: IsolatedStack, raw: Record<string, unknown>): string {
  const path = join(stack.dir, 'loadscope.yaml');
  writeFileSync(path, JSON.stringify(raw, null, 2));
  return path;
}

/** The real Docker stack provider, with the isolated stack's environment. */
export function testStackProvider(stack: IsolatedStack): StackProvider {
  return dockerStackProvider({
    env: { ...process.env, ...stack.env },
    dockerHost: process.env.DOCKER_HOST,
    dockerdLogPath: process.env.LOADSCOPE_DOCKERD_LOG ?? '/var/log/loadscope/dockerd.log',
    isRoot: process.getuid?.() === 0,
  });
}

/** Names of the loadscope-managed containers of one run (all runs without runId). */
export async function managedContainers(runtime: ContainerRuntime, runId?: string): Promise<string[]> {
  const rows = await runtime.list({ [LABEL_MANAGED]: 'true', ...(runId !== undefined ? { [LABEL_RUN]: runId } : {}) });
  return rows.map((r) => r.name);
}

/** The analysis of a named run of the file; a run without one fails the test that asks. */
export function analysisOfRun<K>(results: ReadonlyMap<K, { analysis?: Analysis }>, name: K): Analysis {
  const a = results.get(name)?.analysis;
  if (!a) throw new Error(`${String(name)}: no analysis`);
  return a;
}

/** After a file's runs: temp dirs removed, and none of the runs left a container behind. */
export async function cleanUpRuns(runtime: ContainerRuntime | undefined, runs: Iterable<{ runId: string }>): Promise<void> {
  removeTempDirs();
  if (!runtime) return;
  for (const r of runs) {
    const left = await managedContainers(runtime, r.runId);
    if (left.length > 0) throw new Error(`run ${r.runId} left containers behind: ${left.join(', ')}`);
  }
}

export type { RunEvent } from '../../store/run-format.ts';

export const readEvents = (runDir: string): RunEvent[] => readNdjson<RunEvent>(join(runDir, 'events.ndjson'));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until fn returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export interface DockerState {
  status: string;
  oomKilled: boolean;
  exitCode: number;
  /** State.FinishedAt in epoch ms (NaN while running). */
  finishedAtMs: number;
}

/** State.* of a container through the docker CLI (the runtime port does not carry FinishedAt); undefined once gone. */
export async function dockerState(id: string): Promise<DockerState | undefined> {
  try {
    const { stdout } = await promisify(execFile)('docker', ['inspect', '--format', '{{json .State}}', id], { timeout: 10_000 });
    const s = JSON.parse(stdout) as { Status: string; OOMKilled: boolean; ExitCode: number; FinishedAt: string };
    return {
      status: s.Status,
      oomKilled: s.OOMKilled,
      exitCode: s.ExitCode,
      finishedAtMs: s.FinishedAt.startsWith('0001-') ? Number.NaN : Date.parse(s.FinishedAt),
    };
  } catch {
    return undefined;
  }
}

// --- Prometheus text exposition -------------------------------------------------------------------------------

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL_PAIR)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(url: string): Promise<PromSample[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return parsePrometheusText(await res.text());
}
