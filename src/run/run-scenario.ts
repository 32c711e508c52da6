// config → (stack up) → wait for the target → run the shape → stop → summary. The only module that wires load + store.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, LoadscopeError } from '../common/errors.ts';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { assertTargetAllowed } from '../config/target.ts';
import { AUTOCANNON_VERSION } from '../load/autocannon-driver.ts';
import { runLoad, type SecondSample, type StopReason } from '../load/engine.ts';
import { describeShape, planShape } from '../load/shapes/registry.ts';
import { RunWriter, type RunSummary } from '../store/run-writer.ts';
import { checkSlo, defaultBreakRule, type SloCheck } from './slo.ts';
import { waitForTarget } from './wait-target.ts';
import type { ContainerTarget } from '../samplers/containers.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { parsePostgresDsn } from './dsn.ts';
import { RunObserver } from './observer.ts';
import { analyzeRunDir } from './analyze-run.ts';
import type { Analysis } from '../analysis/analyze.ts';

export const DEFAULT_METRICS: MetricsEndpoint = { host: '127.0.0.1', port: 9464, scrapeIntervalMs: 1000 };

export interface StackHooks {
  /** Stack lifecycle and container events, recorded in events.ndjson as they happen. */
  onEvent(kind: string, detail: Record<string, unknown>, atMs?: number): void;
  onContainerTrouble?(e: { kind: string; service: string; exitCode?: number; oomKilled?: boolean }): void;
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

export interface MetricsEndpoint {
  host: string;
  port: number;
  scrapeIntervalMs: number;
}

export interface RunScenarioOptions {
  scenario: string;
  configPath?: string;
  /** already-resolved config (tests); wins over configPath */
  config?: ResolvedConfig;
  target?: string;
  timeScale?: number;
  outDir?: string;
  keepStack?: boolean;
  stack?: StackProvider;
  workers?: number;
  signal?: AbortSignal;
  /** progress lines (stderr in the CLI) */
  log?: (line: string) => void;
  /** called once the run dir exists: samplers add their series sections here */
  onWriter?: (writer: RunWriter) => void;
  onSecond?: (s: SecondSample) => void;
  keepRawLatencies?: boolean;
  onRawLatencies?: (endpoint: string, latenciesUs: number[]) => void;
  healthTimeoutMs?: number;
  /** Environment for ${VAR} in the config file (the CLI passes its own). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prometheus endpoint for the run; null turns it off. Default 127.0.0.1:9464. */
  metrics?: MetricsEndpoint | null;
}

export interface RunScenarioResult {
  runId: string;
  runDir: string;
  summary: RunSummary;
  slo: SloCheck[];
  stoppedBy: StopReason;
  plannedDurationMs: number;
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

export async function runScenario(o: RunScenarioOptions): Promise<RunScenarioResult> {
  const timeScale = o.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new ConfigError('--time-scale', [{ path: '--time-scale', message: `must be a positive number (got ${o.timeScale})` }]);
  const cfg =
    o.config ?? loadConfigFile(o.configPath ?? DEFAULT_CONFIG_PATH, { scenario: o.scenario, targetOverride: o.target, ...(o.env ? { env: o.env } : {}) });
  const scenario = cfg.scenarios[o.scenario];
  if (!scenario) throw new ConfigError(o.configPath ?? 'config', [{ path: '--scenario', message: `unknown scenario "${o.scenario}"` }]);
  const target = o.target ?? cfg.target;
  // before anything connects or starts
  const targetUrl = assertTargetAllowed(target, cfg.allowTargets, o.target !== undefined ? '--target' : 'target');
  // the sampler's database connection obeys the same allowlist as the load
  if (cfg.sample?.postgres) {
    const pg = parsePostgresDsn(cfg.sample.postgres);
    assertTargetAllowed(`http://${pg.host.includes(':') ? `[${pg.host}]` : pg.host}:${pg.port}/`, cfg.allowTargets, 'sample.postgres');
  }
  const attach = o.target !== undefined || !cfg.stack;
  if (!attach && !o.stack) throw new LoadscopeError('ENGINE_UNAVAILABLE', 'config has a `stack` but no stack provider is available; pass --target to attach to a running system');

  const log = o.log ?? (() => {});
  const timeline = planShape(scenario.shape, timeScale);
  const runId = newRunId(o.scenario);
  const writer = new RunWriter(o.outDir ?? 'results', runId, o.scenario);
  const startedAt = new Date();
  const manifest = {
    runId,
    scenario: o.scenario,
    shape: describeShape(scenario.shape),
    timeScale,
    plannedDurationMs: timeline.durationMs,
    mode: attach ? 'attach' : 'stack',
    target: targetUrl.origin,
    host: hostname(),
    versions: { node: process.version, loadscope: loadscopeVersion(), autocannon: AUTOCANNON_VERSION },
    startedAt: startedAt.toISOString(),
    endedAt: null as string | null,
    stoppedBy: null as string | null,
    config: cfg,
  };
  writer.writeManifest(manifest);
  o.onWriter?.(writer);
  log(`run ${runId}: ${o.scenario} — ${describeShape(scenario.shape)}${timeScale !== 1 ? ` ×${timeScale}` : ''} → ${targetUrl.origin}`);

  let stack: UpStack | undefined;
  let observer: RunObserver | undefined;
  let outcome: RunScenarioResult;
  try {
    if (!attach && o.stack) {
      writer.event('stack-up-start');
      stack = await o.stack.up(runId, writer.runDir, resolveComposePath(cfg.stack?.compose ?? 'compose/stack.yml', o.configPath), {
        onEvent: (kind, detail, atMs) => {
          writer.event(kind, detail, atMs);
          if (kind === 'stack-container-died' || kind === 'stack-container-oom') log(`${kind}: ${JSON.stringify(detail)}`);
        },
        onContainerTrouble: (e) => observer?.noteStackTrouble(e),
      });
      writer.event('stack-up', { containers: stack.containers });
    }
    observer = await RunObserver.start({
      runId,
      scenario: o.scenario,
      writer,
      ...(await samplingTargets(cfg.sample?.containers ?? [], stack, attach ? o.stack : undefined, (m) => writer.event('sampler-warning', { message: m }))),
      postgresDsn: cfg.sample?.postgres,
      intervalMs: cfg.sample?.intervalMs ?? 1000,
      metrics: o.metrics === undefined ? DEFAULT_METRICS : o.metrics,
      log,
      scenarioConfig: scenario,
      summary: () => writer.summary(),
    });
    const waitedMs = await waitForTarget(targetUrl, { useHealth: cfg.flow.tasks.some((t) => t.path === '/health' && t.method === 'GET'), timeoutMs: o.healthTimeoutMs, signal: o.signal });
    writer.event('target-ready', { waitedMs });

    let lastActiveUsers = 0;
    const result = await runLoad({
      flow: cfg.flow,
      target: targetUrl.origin,
      allowTargets: cfg.allowTargets,
      timeline,
      // think time is user behaviour, not schedule: scaling it would multiply the request rate by 1/timeScale
      thinkMinMs: scenario.thinkTime.minMs,
      thinkMaxMs: scenario.thinkTime.maxMs,
      requestTimeoutMs: cfg.requestTimeoutMs,
      workers: o.workers ?? cfg.workers,
      signal: o.signal,
      keepRawLatencies: o.keepRawLatencies,
      onRawLatencies: o.onRawLatencies,
      breakRule: scenario.stopOnBreak ? defaultBreakRule(scenario) : undefined,
      onEvent: (e) => {
        writer.event(e.kind, e.detail, e.atMs);
        if (e.kind === 'break') observer?.noteBreak(lastActiveUsers);
        if (e.kind === 'phase' || e.kind === 'break' || e.kind === 'stop') log(`${e.kind}: ${JSON.stringify(e.detail)}`);
      },
      onSecond: (s) => {
        lastActiveUsers = s.activeUsers;
        const line = writer.writeSecond(s);
        observer?.onSecond(s);
        o.onSecond?.(s);
        const t = line.total;
        const errors = Object.values(t.errors).reduce((a, b) => a + b, 0);
        log(`${s.elapsedS.toFixed(0).padStart(5)}s ${s.phase.padEnd(14)} users=${String(s.activeUsers).padStart(5)} rps=${String(t.count).padStart(6)} err=${errors} p95=${t.p95Ms}ms cpu=${s.cpuCores}`);
      },
    });
    const summary = writer.finish();
    const slo = checkSlo(scenario, summary);
    writer.writeManifest({ ...manifest, endedAt: new Date().toISOString(), stoppedBy: result.stoppedBy, slo });
    outcome = { runId, runDir: writer.runDir, summary, slo, stoppedBy: result.stoppedBy, plannedDurationMs: timeline.durationMs };
  } catch (err) {
    writer.event('run-error', { message: (err as Error).message });
    writer.finish();
    writer.writeManifest({ ...manifest, endedAt: new Date().toISOString(), stoppedBy: 'error' });
    throw err;
  } finally {
    await observer?.stop();
    if (stack && !o.keepStack) await stack.down();
  }
  // After teardown: the analysis is CPU only and must not keep the stack up.
  try {
    const { analysis, files } = analyzeRunDir(outcome.runDir);
    return { ...outcome, analysis, ...(files.html ? { reportPath: files.html } : {}) };
  } catch (err) {
    writer.event('analysis-error', { message: (err as Error).message });
    log(`analysis failed: ${(err as Error).message}`);
    return outcome;
  }
}

/** The Compose path from the config: as given from the working directory, else beside the config, else in loadscope's own folder. */
function resolveComposePath(path: string, configPath: string | undefined): string {
  const candidates = [resolve(path), ...(configPath ? [resolve(dirname(configPath), path)] : []), fileURLToPath(new URL(`../../${path}`, import.meta.url))];
  return candidates.find((c) => existsSync(c)) ?? resolve(path);
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
