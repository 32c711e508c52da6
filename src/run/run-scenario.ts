// config → (stack up) → wait for the target → run the shape → stop → summary. The only module that wires load + store.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, LoadscopeError } from '../common/errors.ts';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.ts';
import { DEFAULT_REMOTE_WRITE_INTERVAL_MS, type RemoteWriteConfig, type ResolvedConfig } from '../config/schema.ts';
import { assertRemoteWriteAllowed, assertTargetAllowed } from '../config/target.ts';
import { AUTOCANNON_VERSION } from '../load/autocannon-driver.ts';
import { runLoad, type SecondSample, type StopReason } from '../load/engine.ts';
import { describeShape, planShape } from '../load/shapes/registry.ts';
import { RunWriter, type RunSummary } from '../store/run-writer.ts';
import { defaultBreakRule } from './break-rule.ts';
import { waitForTarget } from './wait-target.ts';
import type { ContainerTarget } from '../samplers/containers.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { parsePostgresDsn } from './dsn.ts';
import { RunObserver } from './observer.ts';
import { analyzeRunDir } from './analyze-run.ts';
import { loadComposeFile } from '../stack/compose/load.ts';
import type { Analysis } from '../analysis/analyze.ts';
import { checkFeasibility, feasibilityInput } from '../analysis/feasibility.ts';
import type { SampleSnapshot } from '../samplers/types.ts';

/** Environment knobs of the reference stack recorded in manifest.stackEnv (stack mode). */
const STACK_KNOBS = ['POOL_MIN', 'POOL_MAX', 'STATEMENT_TIMEOUT_MS', 'LEAK_BYTES_PER_REQUEST', 'SLOW_QUERY_MS', 'CPU_BURN_MS', 'SLOW_QUERY_BURST_AT_S', 'SLOW_QUERY_BURST_FOR_S', 'SLOW_QUERY_BURST_MS', 'SLOW_AFTER_LOAD_S', 'SLOW_AFTER_LOAD_DELAY_MS', 'SLOW_AFTER_LOAD_RPS'] as const;

export const DEFAULT_METRICS: MetricsEndpoint = { host: '127.0.0.1', port: 9464, scrapeIntervalMs: 1000 };

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
  /** the samplers' newest snapshot (containers, Postgres), about once per sample.intervalMs */
  onSample?: (s: SampleSnapshot) => void;
  keepRawLatencies?: boolean;
  onRawLatencies?: (endpoint: string, latenciesUs: number[]) => void;
  healthTimeoutMs?: number;
  /** Environment for ${VAR} in the config file (the CLI passes its own). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prometheus endpoint for the run; null turns it off. Default 127.0.0.1:9464. */
  metrics?: MetricsEndpoint | null;
  /** An SLO the scenario's shape cannot produce is a config error (exit 2, nothing started) instead of a warning. */
  strict?: boolean;
  /** `--remote-write URL`: replaces the config's remoteWrite.url (its interval, or the default, still applies). */
  remoteWriteUrl?: string;
}

export interface RunScenarioResult {
  runId: string;
  runDir: string;
  summary: RunSummary;
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
  // and so does the remote-write endpoint
  const remoteWrite: RemoteWriteConfig | undefined = o.remoteWriteUrl !== undefined ? { url: o.remoteWriteUrl, intervalMs: cfg.remoteWrite?.intervalMs ?? DEFAULT_REMOTE_WRITE_INTERVAL_MS } : cfg.remoteWrite;
  if (remoteWrite) assertRemoteWriteAllowed(remoteWrite.url, cfg.allowTargets, o.remoteWriteUrl !== undefined ? '--remote-write' : 'remoteWrite.url');
  const attach = o.target !== undefined || !cfg.stack;
  if (!attach && !o.stack) throw new LoadscopeError('ENGINE_UNAVAILABLE', 'config has a `stack` but no stack provider is available; pass --target to attach to a running system');
  // Stack mode: the Compose file is input too — parse it (and check sample.containers against it) before anything starts.
  const composePath = attach ? undefined : resolveComposePath(cfg.stack?.compose ?? 'compose/stack.yml', o.configPath);
  if (composePath) {
    const project = loadComposeFile(composePath, o.env ?? process.env);
    const services = new Set(project.services.map((s) => s.name));
    const unknown = (cfg.sample?.containers ?? []).flatMap((name, i) =>
      services.has(name) ? [] : [{ path: `sample.containers.${i}`, message: `"${name}" is not a service of ${composePath} (have: ${[...services].join(', ')})` }],
    );
    if (unknown.length > 0) throw new ConfigError(o.configPath ?? 'config', unknown);
  }
  // Preflight feasibility (docs/ANALYSIS.md "Feasibility"): say before the first request what the shape cannot produce.
  const infeasible = checkFeasibility(feasibilityInput(scenario));
  if (infeasible.length > 0 && o.strict) {
    throw new ConfigError(o.configPath ?? 'config', infeasible.map((f) => ({ path: `scenarios.${o.scenario}.slo`, message: `${f.message}; to make it feasible: ${f.fix} (--strict)` })));
  }
  const metrics = o.metrics === undefined ? DEFAULT_METRICS : o.metrics;
  if (metrics) await assertPortFree(metrics.host, metrics.port, `the metrics endpoint (--metrics-host/--metrics-port)`);

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
    ...(infeasible.length > 0 ? { feasibility: infeasible } : {}),
    // the SUT's fault/pool knobs as given to the stack's Compose interpolation (the analysis reads POOL_MAX)
    ...(attach ? {} : { stackEnv: Object.fromEntries(STACK_KNOBS.flatMap((k) => ((o.env ?? process.env)[k] !== undefined ? [[k, (o.env ?? process.env)[k]!]] : []))) }),
  };
  writer.writeManifest(manifest);
  log(`run ${runId}: ${o.scenario} — ${describeShape(scenario.shape)}${timeScale !== 1 ? ` ×${timeScale}` : ''} → ${targetUrl.origin}`);
  for (const f of infeasible) {
    log(`warning: ${f.message}; to make it feasible: ${f.fix}`);
    writer.event('preflight-infeasible', { objective: f.objective, boundRps: f.boundRps, limit: f.limit, message: f.message, fix: f.fix });
  }

  let stack: UpStack | undefined;
  let observer: RunObserver | undefined;
  let outcome: RunScenarioResult;
  let recorded = false;
  try {
    if (!attach && o.stack) {
      writer.event('stack-up-start');
      stack = await o.stack.up(runId, writer.runDir, composePath ?? resolveComposePath('compose/stack.yml', o.configPath), {
        // the stack serves the target (and the sampled Postgres) on these loopback ports: someone else there is an error
        beforeStart: async () => {
          await assertPortFree(targetUrl.hostname, portOf(targetUrl), `target ${targetUrl.origin} (served by the stack)`, { loopbackOnly: true });
          if (cfg.sample?.postgres) {
            const pg = parsePostgresDsn(cfg.sample.postgres);
            await assertPortFree(pg.host, pg.port, 'sample.postgres (served by the stack)', { loopbackOnly: true });
          }
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
      metrics,
      remoteWrite,
      log,
      onSample: o.onSample,
    });
    // After the observer: a caller's own sections win over the samplers' of the same name.
    o.onWriter?.(writer);
    const waitedMs = await waitForTarget(targetUrl, { useHealth: cfg.flow.tasks.some((t) => t.path === '/health' && t.method === 'GET'), timeoutMs: o.healthTimeoutMs, signal: o.signal });
    writer.event('target-ready', { waitedMs });

    // A failed write (disk full, folder gone) must stop the load, not escape into the engine and leave workers running.
    const writeFailed = new AbortController();
    let writeError: unknown;
    const guarded = (fn: () => void): void => {
      if (writeError !== undefined) return;
      try {
        fn();
      } catch (err) {
        writeError = err;
        writeFailed.abort(err);
      }
    };
    const loadSignal = o.signal ? AbortSignal.any([o.signal, writeFailed.signal]) : writeFailed.signal;
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
      signal: loadSignal,
      keepRawLatencies: o.keepRawLatencies,
      onRawLatencies: o.onRawLatencies,
      breakRule: scenario.stopOnBreak ? defaultBreakRule(scenario) : undefined,
      onEvent: (e) => guarded(() => {
        writer.event(e.kind, e.detail, e.atMs);
        if (e.kind === 'phase' || e.kind === 'break' || e.kind === 'stop') log(`${e.kind}: ${JSON.stringify(e.detail)}`);
      }),
      onSecond: (s) => guarded(() => {
        const line = writer.writeSecond(s);
        observer?.onSecond(s);
        o.onSecond?.(s);
        const t = line.total;
        const errors = Object.values(t.errors).reduce((a, b) => a + b, 0);
        log(`${s.elapsedS.toFixed(0).padStart(5)}s ${s.phase.padEnd(14)} users=${String(s.activeUsers).padStart(5)} rps=${String(t.count).padStart(6)} err=${errors} p95=${t.p95Ms}ms cpu=${s.cpuCores}`);
      }),
    });
    if (writeError !== undefined) throw isWriteError(writeError) ? unwritable(writer.runDir, writeError) : writeError;
    const summary = writer.finish();
    writer.writeManifest({ ...manifest, endedAt: new Date().toISOString(), stoppedBy: result.stoppedBy });
    outcome = { runId, runDir: writer.runDir, summary, stoppedBy: result.stoppedBy, plannedDurationMs: timeline.durationMs };
    recorded = true;
  } catch (err) {
    // best effort: on a full disk these fail too, and must not hide the original error
    for (const record of [() => writer.event('run-error', { message: (err as Error).message }), () => writer.finish(), () => writer.writeManifest({ ...manifest, endedAt: new Date().toISOString(), stoppedBy: 'error' })]) {
      try {
        record();
      } catch {
        /* already failing */
      }
    }
    throw isWriteError(err) ? unwritable(writer.runDir, err) : err;
  } finally {
    // /metrics stays up through teardown and the analysis: its last values are the post-mortem's (observer.close)
    await observer?.stopSampling();
    if (!recorded) await observer?.close();
    // events.ndjson stays open through teardown (stack-teardown-started/-done); the failed path closes it here
    try {
      if (stack && !o.keepStack) await stack.down();
    } finally {
      if (!recorded) closeQuietly(writer);
    }
  }
  // After teardown: the analysis is CPU only and must not keep the stack up.
  try {
    const { analysis, files } = analyzeRunDir(outcome.runDir);
    await observer?.close(analysis);
    return { ...outcome, analysis, ...(files.html ? { reportPath: files.html } : {}) };
  } catch (err) {
    try {
      writer.event('analysis-error', { message: (err as Error).message });
    } catch {
      /* e.g. the disk is full: the log line below still says why */
    }
    log(`analysis failed: ${(err as Error).message}`);
    return outcome;
  } finally {
    await observer?.close(); // no-op once closed with the analysis
    closeQuietly(writer);
  }
}

function closeQuietly(writer: RunWriter): void {
  try {
    writer.close();
  } catch {
    /* best effort: the run's outcome or error is what matters */
  }
}

const WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'ENOENT', 'EBADF']);
const isWriteError = (err: unknown): boolean => !(err instanceof LoadscopeError) && WRITE_ERRNOS.has(String((err as NodeJS.ErrnoException)?.code));
function unwritable(runDir: string, err: unknown): LoadscopeError {
  if (err instanceof LoadscopeError) return err;
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? ' (disk full: free space or choose another --out)' : '';
  return new LoadscopeError('RUN_DIR_UNWRITABLE', `cannot write the run record in ${runDir}: ${e.message}${hint}; the load was stopped and the stack torn down`, { cause: err });
}

const portOf = (u: URL): number => (u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);
const isLoopbackAddress = (h: string): boolean => /^127\./.test(h) || h === 'localhost' || h === '::1' || h === '[::1]';

/** Fails with PORT_IN_USE when something already listens on host:port (port 0 = any free one, always fine). */
export async function assertPortFree(host: string, port: number, what: string, o: { loopbackOnly?: boolean } = {}): Promise<void> {
  if (port === 0 || (o.loopbackOnly && !isLoopbackAddress(host))) return;
  const bindHost = host.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use by another process: stop it or choose another port' : `cannot be bound: ${err.message}`;
      reject(new LoadscopeError('PORT_IN_USE', `${what}: port ${port} on ${bindHost} ${why}`, { cause: err }));
    });
    srv.listen({ host: bindHost, port, exclusive: true }, () => srv.close(() => resolve()));
  });
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
