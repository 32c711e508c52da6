// Reads one run directory into the analysis RunRecord plus its manifest. Tolerant of killed runs: a torn
// last line is dropped, a missing summary.json / endedAt or a signal/deadline/error stop marks it incomplete. The
// manifest's formatVersion is checked first (store/run-format.ts): version 1 is upgraded here, an unknown one refused.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LoadscopeError, UsageError } from '../common/errors.ts';
import { ERROR_KINDS, type RunRecord } from '../analysis/types.ts';
import { forEachNdjson } from './read-series.ts';
import {
  FORMAT_VERSION,
  histogramLineSchema,
  poolGaugeSchema,
  runEventSchema,
  runManifestSchema,
  SUPPORTED_FORMAT_VERSIONS,
  type ContainerPoint,
  type EndpointSecond,
  type HistogramLine,
  type HostPoint,
  type PhaseLevel,
  type PostgresPoint,
  type PostgresRates,
  type RunEvent,
  type RunManifest,
  type SeriesLine as SeriesPoint,
} from './run-format.ts';

export type { RunManifest } from './run-format.ts';

export interface LoadedRun {
  runDir: string;
  /** In the current format: a version 1 manifest is upgraded (upgradeManifest). */
  manifest: RunManifest;
  record: RunRecord;
  /** summary.json, or null when the run never finished writing it. */
  summary: Record<string, unknown> | null;
  incomplete: boolean;
  incompleteReasons: string[];
}

const KILLED_STOPS = new Set(['signal', 'deadline', 'error']);

/** True when the file does not end with a newline: the writer died mid-line. */
function endsTorn(file: string): boolean {
  try {
    const size = statSync(file).size;
    if (size === 0) return false;
    const fd = openSync(file, 'r');
    try {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, size - 1);
      return b[0] !== 0x0a;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Each compact section copies the fields the analysis and the report read, when present. A second is kept in memory
 * for the whole analysis, so only those are kept (docs/ANALYSIS.md, "Reading a run back"): the samplers' other fields
 * (network, block I/O, lock modes, timings…) stay in the file. Written out field by field, not as a loop over key
 * names: a keyed copy of 28,800 lines' ~80 fields is a slow generic lookup each, a named one a fixed offset.
 */
type Section<T> = { -readonly [K in keyof T]?: unknown };

function endpointFields(e: Record<string, unknown>): EndpointSecond {
  const o: Section<EndpointSecond> = {};
  if (e.count !== undefined) o.count = e.count;
  if (e.errors !== undefined) o.errors = e.errors;
  if (e.bytes !== undefined) o.bytes = e.bytes;
  if (e.p50Ms !== undefined) o.p50Ms = e.p50Ms;
  if (e.p95Ms !== undefined) o.p95Ms = e.p95Ms;
  if (e.p99Ms !== undefined) o.p99Ms = e.p99Ms;
  if (e.maxMs !== undefined) o.maxMs = e.maxMs;
  if (e.cancelled !== undefined) o.cancelled = e.cancelled;
  return o as EndpointSecond;
}

function containerFields(c: Record<string, unknown>): ContainerPoint {
  const o: Section<ContainerPoint> = {};
  if (c.cpuCores !== undefined) o.cpuCores = c.cpuCores;
  if (c.cpuLimitUtilization !== undefined) o.cpuLimitUtilization = c.cpuLimitUtilization;
  if (c.cpuLimitCores !== undefined) o.cpuLimitCores = c.cpuLimitCores;
  if (c.throttledRatio !== undefined) o.throttledRatio = c.throttledRatio;
  if (c.busiestThreadCores !== undefined) o.busiestThreadCores = c.busiestThreadCores;
  if (c.busiestThreadRunnable !== undefined) o.busiestThreadRunnable = c.busiestThreadRunnable;
  if (c.memoryWorkingSetBytes !== undefined) o.memoryWorkingSetBytes = c.memoryWorkingSetBytes;
  if (c.memoryRssBytes !== undefined) o.memoryRssBytes = c.memoryRssBytes;
  if (c.memoryLimitBytes !== undefined) o.memoryLimitBytes = c.memoryLimitBytes;
  if (c.restarts !== undefined) o.restarts = c.restarts;
  if (c.oomKills !== undefined) o.oomKills = c.oomKills;
  if (c.ageMs !== undefined) o.ageMs = c.ageMs;
  return o as ContainerPoint;
}

function postgresFields(v: Record<string, unknown>): PostgresPoint {
  const o: Section<PostgresPoint> = {};
  if (v.maxConnections !== undefined) o.maxConnections = v.maxConnections;
  if (v.connectionsByState !== undefined) o.connectionsByState = v.connectionsByState;
  if (v.connectionsByApp !== undefined) o.connectionsByApp = v.connectionsByApp;
  if (v.waitingByType !== undefined) o.waitingByType = v.waitingByType;
  if (v.ungrantedLocks !== undefined) o.ungrantedLocks = v.ungrantedLocks;
  if (v.blockedSessions !== undefined) o.blockedSessions = v.blockedSessions;
  if (v.idleInTransaction !== undefined) o.idleInTransaction = v.idleInTransaction;
  if (v.oldestIdleInTransactionSeconds !== undefined) o.oldestIdleInTransactionSeconds = v.oldestIdleInTransactionSeconds;
  if (v.autovacuumWorkers !== undefined) o.autovacuumWorkers = v.autovacuumWorkers;
  return o as PostgresPoint;
}

function rateFields(r: Record<string, unknown>): PostgresRates {
  const o: Section<PostgresRates> = {};
  if (r.checkpointsTimed !== undefined) o.checkpointsTimed = r.checkpointsTimed;
  if (r.checkpointsReq !== undefined) o.checkpointsReq = r.checkpointsReq;
  if (r.buffersCheckpoint !== undefined) o.buffersCheckpoint = r.buffersCheckpoint;
  if (r.buffersBackend !== undefined) o.buffersBackend = r.buffersBackend;
  if (r.checkpointWriteMs !== undefined) o.checkpointWriteMs = r.checkpointWriteMs;
  if (r.checkpointSyncMs !== undefined) o.checkpointSyncMs = r.checkpointSyncMs;
  return o as PostgresRates;
}

function hostFields(h: Record<string, unknown>): HostPoint {
  const o: Section<HostPoint> = {};
  if (h.cpuUtilization !== undefined) o.cpuUtilization = h.cpuUtilization;
  if (h.iowaitRatio !== undefined) o.iowaitRatio = h.iowaitRatio;
  return o as HostPoint;
}

/** A failing sampler writes `{ error }` in place of its section; such seconds carry no samples. */
function cleanContainers(v: unknown): Record<string, ContainerPoint> | undefined {
  if (!isObj(v) || typeof v.error === 'string') return undefined;
  const out: Record<string, ContainerPoint> = {};
  for (const [svc, c] of Object.entries(v)) if (isObj(c) && typeof c.memoryWorkingSetBytes === 'number') out[svc] = containerFields(c);
  return out;
}

function cleanPostgres(v: unknown): PostgresPoint | null {
  if (!isObj(v) || typeof v.error === 'string' || !isObj(v.connectionsByState) || !isObj(v.connectionsByApp)) return null;
  const p = postgresFields(v);
  if (isObj(v.perSecond)) p.perSecond = rateFields(v.perSecond);
  else if (v.perSecond === null) p.perSecond = null;
  return p;
}

/** The usual second has no errors: one shared, frozen all-zero count instead of one object per endpoint per second. */
const ZERO_ERRORS: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])));

/** The error kinds, in their order, each 0: the usual second's count (checked without building a key list per endpoint). */
function isZeroErrors(errors: Record<string, unknown>): boolean {
  let n = 0;
  for (const k in errors) if (k !== ERROR_KINDS[n++] || errors[k] !== 0) return false;
  return n === ERROR_KINDS.length;
}

function compactEndpoint(e: Record<string, unknown>): EndpointSecond {
  const out = endpointFields(e);
  const errors = isObj(e.errors) ? e.errors : undefined;
  if (errors && isZeroErrors(errors)) out.errors = ZERO_ERRORS;
  return out;
}

const endpointsOf = (v: Record<string, unknown>): Record<string, EndpointSecond> => {
  const out: Record<string, EndpointSecond> = {};
  for (const [name, e] of Object.entries(v)) if (isObj(e)) out[name] = compactEndpoint(e);
  return out;
};

/** Phase names repeat every second: one string per name instead of one per line. */
const interned = new Map<string, string>();
const intern = (s: string): string => interned.get(s) ?? (interned.set(s, s), s);

/** The `workers` section of a fleet run's line: entries without numeric figures are dropped. */
function fleetWorkers(v: unknown): SeriesPoint['workers'] {
  if (!isObj(v)) return undefined;
  const out: Record<string, { cpuCores: number; hostCores: number }> = {};
  for (const [k, w] of Object.entries(v))
    if (isObj(w) && typeof w.cpuCores === 'number' && typeof w.hostCores === 'number') out[k] = { cpuCores: w.cpuCores, hostCores: w.hostCores };
  return Object.keys(out).length ? out : undefined;
}

/** Built once: a zod schema is costly to construct, and a run with a pool gauge checks one on every line. */
const POOL_SCHEMA = poolGaugeSchema.nullable();

/**
 * The compact second of one series line, or null when its required fields are missing. Checked field by field, not
 * by seriesLineSchema: a deep zod parse of every line costs ~0.8 s CPU on an 8-hour run (docs/ANALYSIS.md, "Reading a
 * run back"); what is kept is still typed by the schema.
 */
function toPoint(line: Record<string, unknown>): SeriesPoint | null {
  const { tMs, elapsedS, phase, activeUsers } = line;
  if (typeof tMs !== 'number' || typeof elapsedS !== 'number' || typeof phase !== 'string' || typeof activeUsers !== 'number') return null;
  if (!isObj(line.total) || !isObj(line.endpoints)) return null;
  const gen = isObj(line.generator) ? line.generator : {};
  const p: SeriesPoint = {
    tMs,
    elapsedS,
    phase: intern(phase),
    activeUsers,
    endpoints: endpointsOf(line.endpoints),
    total: compactEndpoint(line.total),
    generator: { cpuCores: typeof gen.cpuCores === 'number' ? gen.cpuCores : null, droppedLate: typeof gen.droppedLate === 'number' ? gen.droppedLate : 0 },
    postgres: cleanPostgres(line.postgres),
  };
  const containers = cleanContainers(line.containers);
  if (containers) p.containers = containers;
  const pool = line.pool === undefined ? undefined : POOL_SCHEMA.safeParse(line.pool);
  if (pool?.success) p.pool = pool.data;
  if (isObj(line.host)) p.host = hostFields(line.host);
  else if (line.host === null) p.host = null;
  const workers = fleetWorkers(line.workers);
  if (workers) p.workers = workers;
  if (isObj(line.sampler)) p.sampler = typeof line.sampler.lagMs === 'number' ? { lagMs: line.sampler.lagMs } : {};
  else if (line.sampler === null) p.sampler = null;
  return p;
}

/** A run directory of a format version this build does not read (a newer loadscope wrote it): exit 2, nothing analysed. */
export class RunFormatError extends LoadscopeError {
  constructor(
    readonly runDir: string,
    readonly foundVersion: unknown,
  ) {
    super(
      'RUN_FORMAT_UNSUPPORTED',
      `${runDir}: run format version ${JSON.stringify(foundVersion)} is not supported; this loadscope reads versions ${SUPPORTED_FORMAT_VERSIONS.join(', ')} (current ${FORMAT_VERSION})`,
    );
  }
}

/** manifest.json checked against its schema; a version this build does not know is refused before anything else is read. */
function readManifest(runDir: string): RunManifest | null {
  const raw = readJson(join(runDir, 'manifest.json'));
  if (raw === null) return null;
  const version = isObj(raw) ? (raw.formatVersion ?? 1) : undefined;
  if (typeof version !== 'number' || !SUPPORTED_FORMAT_VERSIONS.includes(version)) throw new RunFormatError(runDir, version);
  const parsed = runManifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new UsageError(
      `${runDir}/manifest.json does not match run format ${version}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** Version 1 encoded a step's users in its phase name (`step-3:40`); read once here, never in the analysis. */
const LEGACY_STEP_PHASE = /^step-\d+:(\d+)$/;
const legacyLevels = (phases: Iterable<string>): PhaseLevel[] =>
  [...phases].flatMap((phase) => {
    const m = LEGACY_STEP_PHASE.exec(phase);
    return m ? [{ phase, users: Number(m[1]) }] : [];
  });

/**
 * Brings a manifest to the current format: version 1 kept the scenario inside the whole config, the pool size as
 * a string in stackEnv and the step levels in the phase names. `phases` are the run's phase names (for version 1).
 */
export function upgradeManifest(m: RunManifest, phases: Iterable<string> = []): RunManifest {
  if ((m.formatVersion ?? 1) >= 2) return m;
  const poolMax = m.stackEnv?.POOL_MAX?.trim();
  const scenarioConfig = m.scenario !== undefined ? m.config?.scenarios?.[m.scenario] : undefined;
  const levels = legacyLevels(phases);
  return {
    ...m,
    ...(scenarioConfig ? { scenarioConfig } : {}),
    ...(poolMax !== undefined && /^\d+$/.test(poolMax) && Number(poolMax) > 0 ? { poolMax: Number(poolMax) } : {}),
    ...(levels.length ? { phaseLevels: levels } : {}),
  };
}

/**
 * Epoch ms of elapsedS 0. Version 2 records it (manifest.startMs); a version 1 run, or one killed between its first
 * second and the manifest's rewrite, places it one elapsed span before the first second, as the writer stamps it.
 */
function startMsOf(m: RunManifest, series: readonly SeriesPoint[], events: readonly RunEvent[]): number {
  if (m.startMs !== undefined) return m.startMs;
  const first = series[0];
  return first ? first.tMs - first.elapsedS * 1000 : (events[0]?.tMs ?? 0);
}

/** manifest.fleet.lost of a fleet run; none for any other run. */
function lostWorkers(m: RunManifest): { name: string; reason: string }[] {
  return (m.fleet?.lost ?? []).map((l) => ({ name: l.name, reason: l.reason }));
}

/** Loads `runDir`. A path that is not a run directory is a usage error (exit 2). */
export function readRunRecord(runDir: string): LoadedRun {
  let isDir = false;
  try {
    isDir = statSync(runDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`${runDir}: not a directory`);
  const seriesFile = join(runDir, 'series.ndjson');
  const manifest = readManifest(runDir);
  if (!manifest && !existsSync(seriesFile)) throw new UsageError(`${runDir}: not a loadscope run directory (no manifest.json or series.ndjson)`);

  const reasons: string[] = [];
  // streamed: only the compact second is kept, never the file's text or its parsed lines
  const series: SeriesPoint[] = [];
  const phases = new Set<string>();
  forEachNdjson<Record<string, unknown>>(seriesFile, (l) => {
    const p = isObj(l) ? toPoint(l) : null;
    if (!p) return;
    series.push(p);
    phases.add(p.phase);
  });
  const histograms: HistogramLine[] = [];
  // histogram and event lines are few or small: each is checked against its schema, a line that does not match is skipped
  forEachNdjson<unknown>(join(runDir, 'histograms.ndjson'), (l) => {
    const h = histogramLineSchema.safeParse(l);
    if (h.success) histograms.push(h.data);
  });
  const events: RunEvent[] = [];
  forEachNdjson<unknown>(join(runDir, 'events.ndjson'), (l) => {
    const e = runEventSchema.safeParse(l);
    if (e.success) events.push(e.data);
  });
  if (endsTorn(seriesFile) || endsTorn(join(runDir, 'histograms.ndjson'))) reasons.push('the last second was cut off mid-write (torn line)');
  const summaryJson = readJson(join(runDir, 'summary.json'));
  const summary = isObj(summaryJson) ? summaryJson : null;
  if (!summary) reasons.push('summary.json is missing');
  const m = upgradeManifest(manifest ?? {}, phases);
  if (!m.endedAt) reasons.push('the manifest has no end time');
  if (m.stoppedBy && KILLED_STOPS.has(m.stoppedBy)) reasons.push(`stopped by ${m.stoppedBy}`);
  // a fleet run that lost a worker (docs/DISTRIBUTED.md): what ran is recorded, but not the planned load
  for (const l of lostWorkers(m)) reasons.push(`partial run: load worker ${l.name} lost (${l.reason})`);
  if (!series.length) reasons.push('no seconds were recorded');
  return {
    runDir,
    manifest: m,
    record: { startMs: startMsOf(m, series, events), series, histograms, events },
    summary,
    incomplete: reasons.length > 0,
    incompleteReasons: reasons,
  };
}
