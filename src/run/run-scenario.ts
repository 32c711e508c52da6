// preflight (the RunPlan) → open the run record → (stack up) → samplers → wait for the target → the load →
// stop → teardown → analysis. The only module that wires load + store; every stage takes the plan.
import { randomBytes } from 'node:crypto';
import { cpus, hostname } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors.ts';
import { DEFAULT_METRICS } from '../config/defaults.ts';
import { AUTOCANNON_VERSION } from '../load/autocannon-driver.ts';
import { describeShape } from '../load/shapes/registry.ts';
import { RunWriter } from '../store/run-writer.ts';
import { waitForTarget } from './wait-target.ts';
import type { ContainerTarget } from '../samplers/containers.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { RunObserver } from './observer.ts';
import { analyzeRunDir } from './analyze-run.ts';
import type { Analysis } from '../analysis/analyze.ts';
import type { SampleSnapshot } from '../samplers/types.ts';
import { assertPortFree, preflight, type MetricsEndpoint, type RunPlan, type RunRequest } from './plan.ts';
import { driveLoad, isWriteError, unwritable, type LoadHooks, type LoadOutcome, type OpenRun } from './drive-load.ts';

export type { MetricsEndpoint } from './plan.ts';

/** Environment knobs of the reference stack recorded in manifest.stackEnv (stack mode). */
const STACK_KNOBS = [
  'POOL_MIN',
  'POOL_MAX',
  'STATEMENT_TIMEOUT_MS',
  'LEAK_BYTES_PER_REQUEST',
  'SLOW_QUERY_MS',
  'CPU_BURN_MS',
  'SLOW_QUERY_BURST_AT_S',
  'SLOW_QUERY_BURST_FOR_S',
  'SLOW_QUERY_BURST_MS',
  'SLOW_AFTER_LOAD_S',
  'SLOW_AFTER_LOAD_DELAY_MS',
  'SLOW_AFTER_LOAD_RPS',
  'SLOW_AFTER_LOAD_ARM_S',
] as const;

/** The stack's knobs as given (manifest.stackEnv) and its DB pool size as a number (manifest.poolMax), when set. */
function stackKnobs(env: RunPlan['env']): { stackEnv: Record<string, string>; poolMax?: number } {
  const stackEnv = Object.fromEntries(STACK_KNOBS.flatMap((k) => (env[k] !== undefined ? [[k, env[k]!]] : [])));
  const poolMax = /^\d+$/.test(stackEnv.POOL_MAX?.trim() ?? '') ? Number(stackEnv.POOL_MAX) : 0;
  return { stackEnv, ...(poolMax > 0 ? { poolMax } : {}) };
}

export interface StackHooks {
  /** Stack lifecycle and container events, recorded in events.ndjson as they happen. */
  onEvent(kind: string, detail: Record<string, unknown>, atMs?: number): void;
  onContainerTrouble?(e: { kind: string; service: string; exitCode?: number; oomKilled?: boolean }): void;
  /** Called once orphans of crashed runs are reaped, before any container starts: e.g. the ports must be free. */
  beforeStart?(): Promise<void>;
}

export interface UpStack {
  runtime: ContainerRuntime;
  containers: ContainerTarget[];
  down(): Promise<void>;
}

/** The Docker stack (run/docker-stack.ts) in stack mode; attach mode (`--target`, or no `stack` key) uses none. */
export interface StackProvider {
  up(runId: string, runDir: string, composePath: string, hooks: StackHooks): Promise<UpStack>;
  /** The engine, for sampling containers by name in attach mode. */
  connect?(): Promise<ContainerRuntime>;
}

/** How a planned run is carried out: where it is written, the stack, and the caller's hooks. */
export interface RunStages extends LoadHooks {
  outDir?: string;
  keepStack?: boolean;
  stack?: StackProvider;
  /** progress lines (stderr in the CLI) */
  log?: (line: string) => void;
  /** called once the run dir exists: samplers add their series sections here */
  onWriter?: (writer: RunWriter) => void;
  /** the samplers' newest snapshot (containers, Postgres), about once per sample.intervalMs */
  onSample?: (s: SampleSnapshot) => void;
  /** how long the target may take to answer before the load starts */
  healthTimeoutMs?: number;
  /** the run id when it is given (workers started by someone else know it); default newRunId() */
  runId?: string;
}

export interface RunScenarioOptions extends Omit<RunRequest, 'metrics' | 'hasStackProvider'>, RunStages {
  /** Prometheus endpoint for the run; null turns it off. Default config/defaults.ts DEFAULT_METRICS. */
  metrics?: MetricsEndpoint | null;
}

export interface RunScenarioResult extends LoadOutcome {
  /** The post-mortem; absent only when the analysis itself failed (the reason is in events.ndjson). */
  analysis?: Analysis;
  reportPath?: string;
}

function loadscopeVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function newRunId(scenario: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${stamp}-${scenario}-${randomBytes(2).toString('hex')}`;
}

/** The request part of the options, for preflight. */
export function runRequest(o: RunScenarioOptions): RunRequest {
  return { ...o, metrics: o.metrics === undefined ? { ...DEFAULT_METRICS } : o.metrics, hasStackProvider: o.stack !== undefined };
}

/** Preflight, then the planned run. */
export async function runScenario(o: RunScenarioOptions): Promise<RunScenarioResult> {
  return runPlanned(await preflight(runRequest(o)), o);
}

export async function runPlanned(plan: RunPlan, o: RunStages): Promise<RunScenarioResult> {
  const run = openRun(plan, o);
  let stack: UpStack | undefined;
  let observer: RunObserver | undefined;
  let outcome: LoadOutcome;
  try {
    stack = await bringUpStack(plan, run, o, () => observer);
    observer = await startObserver(plan, run, stack, o);
    // After the observer: a caller's own sections win over the samplers' of the same name.
    o.onWriter?.(run.writer);
    const waitedMs = await waitForTarget(plan.target, {
      useHealth: plan.config.flow.tasks.some((t) => t.path === '/health' && t.method === 'GET'),
      timeoutMs: o.healthTimeoutMs,
      signal: o.signal,
    });
    run.writer.event('target-ready', { waitedMs });
    outcome = await driveLoad(plan, run, observer, o);
  } catch (err) {
    recordFailure(run, err);
    throw isWriteError(err) ? unwritable(run.writer.runDir, err) : err;
  } finally {
    await tearDown(run, observer, stack, o.keepStack);
  }
  return analyse(run, outcome, observer);
}

/** The run id, its directory and first manifest; the start line and preflight warnings. */
function openRun(plan: RunPlan, o: RunStages): OpenRun {
  const log = o.log ?? (() => {});
  const runId = o.runId ?? newRunId(plan.scenarioName);
  // a given run id must name a new directory: a run directory is never appended to (exit 2, nothing started yet)
  if (o.runId !== undefined && existsSync(join(o.outDir ?? 'results', runId)))
    throw new UsageError(`--run-id ${runId}: ${join(o.outDir ?? 'results', runId)} exists already; give a new run id or another --out`);
  const writer = new RunWriter(o.outDir ?? 'results', runId, plan.scenarioName);
  const shape = describeShape(plan.scenario.shape);
  const manifest = {
    runId,
    scenario: plan.scenarioName,
    shape,
    timeScale: plan.timeScale,
    seed: plan.seed,
    plannedDurationMs: plan.timeline.durationMs,
    mode: plan.mode,
    target: plan.target.origin,
    host: hostname(),
    // the analysis judges generator CPU and outside work against it (a fleet writes its workers' sum over this)
    generatorCores: cpus().length,
    versions: { node: process.version, loadscope: loadscopeVersion(), autocannon: AUTOCANNON_VERSION },
    startedAt: new Date().toISOString(),
    endedAt: null as string | null,
    stoppedBy: null as string | null,
    config: plan.config,
    // what the analysis reads, as data (store/run-format.ts): the scenario that ran, its ladder's levels, the pool size
    scenarioConfig: plan.scenario,
    ...(plan.timeline.levels ? { phaseLevels: plan.timeline.levels } : {}),
    ...(plan.infeasible.length > 0 ? { feasibility: plan.infeasible } : {}),
    // the SUT's fault/pool knobs as given to the stack's Compose interpolation
    ...(plan.mode === 'attach' ? {} : stackKnobs(plan.env)),
  };
  writer.writeManifest(manifest);
  log(`run ${runId}: ${plan.scenarioName} — ${shape}${plan.timeScale !== 1 ? ` ×${plan.timeScale}` : ''} → ${plan.target.origin} (seed ${plan.seed})`);
  for (const f of plan.infeasible) {
    log(`warning: ${f.message}; to make it feasible: ${f.fix}`);
    writer.event('preflight-infeasible', { objective: f.objective, boundRps: f.boundRps, limit: f.limit, message: f.message, fix: f.fix });
  }
  return { runId, writer, manifest, log, recorded: false };
}

/** Stack mode: the Compose stack up (its loopback ports checked free once orphans are reaped); attach mode: none. */
async function bringUpStack(plan: RunPlan, run: OpenRun, o: RunStages, observer: () => RunObserver | undefined): Promise<UpStack | undefined> {
  if (plan.mode !== 'stack' || !o.stack || !plan.composePath) return undefined;
  const { writer, log } = run;
  writer.event('stack-up-start');
  const stack = await o.stack.up(run.runId, writer.runDir, plan.composePath, {
    beforeStart: async () => {
      for (const p of plan.servedPorts) await assertPortFree(p.host, p.port, p.what);
    },
    onEvent: (kind, detail, atMs) => {
      // also called during teardown, after finish(): a failing write (disk full) must not break the teardown
      try {
        writer.event(kind, detail, atMs);
      } catch {
        /* the run record already reports the write failure */
      }
      if (kind === 'stack-container-died' || kind === 'stack-container-oom') log(`${kind}: ${JSON.stringify(detail)}`);
    },
    onContainerTrouble: (e) => observer()?.noteStackTrouble(e),
  });
  writer.event('stack-up', { containers: stack.containers });
  return stack;
}

function startObserver(plan: RunPlan, run: OpenRun, stack: UpStack | undefined, o: RunStages): Promise<RunObserver> {
  return samplingTargets(plan.config.sample?.containers ?? [], stack, plan.mode === 'attach' ? o.stack : undefined, (m) =>
    run.writer.event('sampler-warning', { message: m }),
  ).then((targets) =>
    RunObserver.start({
      runId: run.runId,
      scenario: plan.scenarioName,
      writer: run.writer,
      ...targets,
      postgres: plan.postgres,
      intervalMs: plan.sampleIntervalMs,
      metrics: plan.metrics,
      ...(plan.remoteWrite ? { remoteWrite: plan.remoteWrite } : {}),
      log: run.log,
      onSample: o.onSample,
    }),
  );
}

/** Best effort: on a full disk these fail too, and must not hide the original error. */
function recordFailure(run: OpenRun, err: unknown): void {
  const { writer, manifest } = run;
  for (const record of [
    () => writer.event('run-error', { message: (err as Error).message }),
    () => writer.finish(),
    () => writer.writeManifest({ ...manifest, endedAt: new Date().toISOString(), stoppedBy: 'error' }),
  ]) {
    try {
      record();
    } catch {
      /* already failing */
    }
  }
}

async function tearDown(run: OpenRun, observer: RunObserver | undefined, stack: UpStack | undefined, keepStack: boolean | undefined): Promise<void> {
  // /metrics stays up through teardown and the analysis: its last values are the post-mortem's (observer.close)
  await observer?.stopSampling();
  if (!run.recorded) await observer?.close();
  // events.ndjson stays open through teardown (stack-teardown-started/-done); a failed run closes it here
  try {
    if (stack && !keepStack) await stack.down();
  } finally {
    if (!run.recorded) closeQuietly(run.writer);
  }
}

/** After teardown: the analysis is CPU only and must not keep the stack up. */
async function analyse(run: OpenRun, outcome: LoadOutcome, observer: RunObserver | undefined): Promise<RunScenarioResult> {
  try {
    const { analysis, files } = analyzeRunDir(outcome.runDir);
    await observer?.close(analysis);
    return { ...outcome, analysis, ...(files.html ? { reportPath: files.html } : {}) };
  } catch (err) {
    try {
      run.writer.event('analysis-error', { message: (err as Error).message });
    } catch {
      /* e.g. the disk is full: the log line below still says why */
    }
    run.log(`analysis failed: ${(err as Error).message}`);
    return outcome;
  } finally {
    await observer?.close(); // no-op once closed with the analysis
    closeQuietly(run.writer);
  }
}

function closeQuietly(writer: RunWriter): void {
  try {
    writer.close();
  } catch {
    /* best effort: the run's outcome or error is what matters */
  }
}

/** Stack mode samples the Compose services; attach mode finds `sample.containers` by container name. */
async function samplingTargets(
  names: readonly string[],
  stack: UpStack | undefined,
  provider: StackProvider | undefined,
  warn: (message: string) => void,
): Promise<{ runtime?: ContainerRuntime; containers: ContainerTarget[] }> {
  if (stack) return { runtime: stack.runtime, containers: stack.containers.filter((c) => names.length === 0 || names.includes(c.service)) };
  if (names.length === 0 || !provider?.connect) return { containers: [] };
  try {
    const runtime = await provider.connect();
    const containers: ContainerTarget[] = [];
    for (const name of names) {
      const info = await runtime.inspect(name);
      if (info) containers.push({ service: name, containerId: info.id });
      else warn(`container ${name} (sample.containers) not found: not sampled`);
    }
    return { runtime, containers };
  } catch (err) {
    warn(`no Docker engine for container sampling: ${(err as Error).message}`);
    return { containers: [] };
  }
}
