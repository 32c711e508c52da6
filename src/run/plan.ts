// Preflight: flags + config + Compose + environment → one checked RunPlan, or every input problem at once
// (ConfigError: exit 2, nothing started). Every stage after it takes the plan; nothing re-parses the target,
// the DSN or a path. Port conflicts are not input problems (PORT_IN_USE, exit 3) and are checked last.
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { ConfigError, LoadscopeError, type InputIssue } from '../common/errors.ts';
import type { Env } from '../common/interpolate.ts';
import { MAX_SEED } from '../common/random.ts';
import { resolveInputPath } from '../common/paths.ts';
import { DEFAULT_COMPOSE_PATH, DEFAULT_CONFIG_PATH, DEFAULT_SAMPLE_INTERVAL_MS } from '../config/defaults.ts';
import { loadConfigFile } from '../config/load.ts';
import { DEFAULT_REMOTE_WRITE_INTERVAL_MS, type RemoteWriteConfig, type ResolvedConfig, type Scenario } from '../config/schema.ts';
import { remoteWriteProblem, checkTarget, isLoopbackHost, portOf, type AllowedTarget } from '../config/target.ts';
import { checkFeasibility, feasibilityInput, type FeasibilityFinding } from '../analysis/feasibility.ts';
import { planShape } from '../load/shapes/registry.ts';
import type { Timeline } from '../load/shapes/types.ts';
import type { PgConnectionSettings } from '../samplers/pg-client.ts';
import { loadComposeFile } from '../stack/compose/load.ts';
import { checkPostgresDsn } from './dsn.ts';

export interface MetricsEndpoint {
  host: string;
  port: number;
  scrapeIntervalMs: number;
}

/** What the user asked for: flags, config (path or already resolved), environment. */
export interface RunRequest {
  scenario: string;
  configPath?: string;
  /** already-resolved config (tests); wins over configPath */
  config?: ResolvedConfig;
  /** --target: attach to a running system */
  target?: string;
  timeScale?: number;
  /** Environment for ${VAR} in the config and Compose files, and the stack's knobs. Default process.env. */
  env?: Env;
  /** Prometheus endpoint for the run; null turns it off. */
  metrics: MetricsEndpoint | null;
  /** --metrics-port as given: checked even when --no-metrics turns the endpoint off (a bad flag is an error either way) */
  metricsPortFlag?: number;
  /** An SLO the scenario's shape cannot produce is a config error instead of a warning. */
  strict?: boolean;
  /** A stack provider is available (stack mode needs one). */
  hasStackProvider: boolean;
  /** `--remote-write URL`: replaces the config's remoteWrite.url (its interval, or the default, still applies). */
  remoteWriteUrl?: string;
}

/** A loopback port the stack will serve: someone else listening there is an error before anything starts. */
export interface ServedPort {
  host: string;
  port: number;
  what: string;
}

/** Everything a run needs, checked once. */
export interface RunPlan {
  scenarioName: string;
  scenario: Scenario;
  config: ResolvedConfig;
  /** where the config came from, for messages */
  configSource: string;
  timeScale: number;
  timeline: Timeline;
  /** seed of the users' random choices: the scenario's, or a fresh one (recorded in the manifest) */
  seed: number;
  mode: 'attach' | 'stack';
  target: AllowedTarget;
  /** the sampler's database, parsed and allow-listed */
  postgres?: PgConnectionSettings;
  sampleIntervalMs: number;
  /** stack mode: the Compose file and its services */
  composePath?: string;
  services: readonly string[];
  metrics: MetricsEndpoint | null;
  /** push the run's metrics here too: allow-listed like the target */
  remoteWrite?: RemoteWriteConfig;
  /** stack mode: loopback ports the stack serves (target, Postgres), checked once orphans are reaped */
  servedPorts: readonly ServedPort[];
  /** SLOs the shape cannot produce (docs/ANALYSIS.md "Feasibility"): warnings, or errors under strict */
  infeasible: readonly FeasibilityFinding[];
  env: Env;
}

const MAX_PORT = 65535;
const validTimeScale = (x: number): boolean => x > 0 && Number.isFinite(x);

/** The checked plan; ConfigError with every input problem, or PORT_IN_USE when the metrics port is taken. */
export async function preflight(r: RunRequest): Promise<RunPlan> {
  const env = r.env ?? process.env;
  const issues: InputIssue[] = [];
  const sources: string[] = [];
  const timeScale = r.timeScale ?? 1;
  if (!validTimeScale(timeScale)) issues.push({ path: '--time-scale', message: `must be a positive number (got ${r.timeScale})` });
  for (const port of new Set([r.metrics?.port, r.metricsPortFlag])) {
    // not 0: the Prometheus exporter takes 0 for its own default (9464), so "any free port" would quietly be 9464
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= MAX_PORT))
      issues.push({ path: '--metrics-port', message: `must be a port number from 1 to ${MAX_PORT} (got ${port})` });
  }
  const configSource = r.config ? 'config' : resolveInputPath(r.configPath ?? DEFAULT_CONFIG_PATH);
  const cfg = r.config ?? collect(issues, sources, configSource, () => loadConfigFile(configSource, { scenario: r.scenario, targetOverride: r.target, env }));
  const plan = cfg ? planFromConfig(r, cfg, configSource, timeScale, env, issues, sources) : undefined;
  if (issues.length > 0 || !plan) throw new ConfigError(sources.length > 0 ? sources.join(', ') : configSource, issues);
  if (plan.mode === 'stack' && !r.hasStackProvider) {
    throw new LoadscopeError('ENGINE_UNAVAILABLE', 'config has a `stack` but no stack provider is available; pass --target to attach to a running system');
  }
  if (plan.metrics) await assertPortFree(plan.metrics.host, plan.metrics.port, `the metrics endpoint (--metrics-host/--metrics-port)`);
  return plan;
}

/** Runs a parse step; its ConfigError's problems join the list (with its source) instead of ending the check. */
function collect<T>(issues: InputIssue[], sources: string[], source: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
    if (!sources.includes(err.source)) sources.push(err.source);
    return undefined;
  }
}

function planFromConfig(
  r: RunRequest,
  cfg: ResolvedConfig,
  configSource: string,
  timeScale: number,
  env: Env,
  issues: InputIssue[],
  sources: string[],
): RunPlan | undefined {
  const before = issues.length;
  const scenario = cfg.scenarios[r.scenario];
  if (!scenario) issues.push({ path: '--scenario', message: `unknown scenario "${r.scenario}"` });
  const checked = checkTarget(r.target ?? cfg.target, cfg.allowTargets);
  if ('problem' in checked)
    issues.push({ path: r.target !== undefined ? '--target' : 'target', message: `target ${r.target ?? cfg.target} refused: ${checked.problem}` });
  const dsn = cfg.sample?.postgres !== undefined ? checkPostgresDsn(cfg.sample.postgres, 'sample.postgres', cfg.allowTargets) : undefined;
  if (dsn && 'issues' in dsn) issues.push(...dsn.issues);
  const remoteWrite = remoteWriteOf(r, cfg);
  const rwProblem = remoteWrite && remoteWriteProblem(remoteWrite.url, cfg.allowTargets);
  if (rwProblem)
    issues.push({ path: r.remoteWriteUrl !== undefined ? '--remote-write' : 'remoteWrite.url', message: `${remoteWrite.url} refused: ${rwProblem}` });
  const mode = r.target !== undefined || !cfg.stack ? 'attach' : 'stack';
  // stack mode: the Compose file is input too — parse it (and check sample.containers against it) before anything starts
  const composePath = mode === 'stack' ? resolveInputPath(cfg.stack?.compose ?? DEFAULT_COMPOSE_PATH, r.config ? r.configPath : configSource) : undefined;
  const services = composePath ? (collect(issues, sources, composePath, () => loadComposeFile(composePath, env))?.services.map((s) => s.name) ?? []) : [];
  if (composePath && services.length > 0) {
    (cfg.sample?.containers ?? []).forEach((name, i) => {
      if (!services.includes(name))
        issues.push({ path: `sample.containers.${i}`, message: `"${name}" is not a service of ${composePath} (have: ${services.join(', ')})` });
    });
  }
  const infeasible = scenario ? checkFeasibility(feasibilityInput(scenario)) : [];
  if (r.strict)
    for (const f of infeasible) issues.push({ path: `scenarios.${r.scenario}.slo`, message: `${f.message}; to make it feasible: ${f.fix} (--strict)` });
  if (issues.length > before) {
    if (!sources.includes(configSource)) sources.unshift(configSource);
    return undefined;
  }
  if (!scenario || 'problem' in checked || (dsn && 'issues' in dsn) || !validTimeScale(timeScale)) return undefined;
  const postgres = dsn?.settings;
  return {
    scenarioName: r.scenario,
    scenario,
    config: cfg,
    configSource,
    timeScale,
    timeline: planShape(scenario.shape, timeScale),
    // the one place a run's seed is chosen when the scenario sets none (docs/CONFIG.md, seed)
    seed: scenario.seed ?? randomInt(MAX_SEED + 1),
    mode,
    target: checked.target,
    ...(postgres ? { postgres } : {}),
    sampleIntervalMs: cfg.sample?.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS,
    ...(composePath ? { composePath } : {}),
    services,
    metrics: r.metrics,
    ...(remoteWrite ? { remoteWrite } : {}),
    servedPorts: mode === 'stack' ? servedPorts(checked.target, postgres) : [],
    infeasible,
    env,
  };
}

/** The flag's URL with the config's (or the default) interval, else the config's remoteWrite. */
function remoteWriteOf(r: RunRequest, cfg: ResolvedConfig): RemoteWriteConfig | undefined {
  if (r.remoteWriteUrl === undefined) return cfg.remoteWrite;
  return { url: r.remoteWriteUrl, intervalMs: cfg.remoteWrite?.intervalMs ?? DEFAULT_REMOTE_WRITE_INTERVAL_MS };
}

/** The stack serves the target (and the sampled Postgres) on these ports when they are loopback ones. */
function servedPorts(target: AllowedTarget, pg: PgConnectionSettings | undefined): ServedPort[] {
  const ports: ServedPort[] = [{ host: target.hostname, port: portOf(target), what: `target ${target.origin} (served by the stack)` }];
  if (pg) ports.push({ host: pg.host, port: pg.port, what: 'sample.postgres (served by the stack)' });
  return ports.filter((p) => isLoopbackHost(p.host));
}

/** Fails with PORT_IN_USE when something already listens on host:port (port 0 = any free one, always fine). */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  if (port === 0) return;
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
