// Reads one run directory into the analysis RunRecord plus its manifest. Tolerant of killed runs: a torn
// last line is dropped, a missing summary.json / endedAt or a signal/deadline/error stop marks it incomplete.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors.ts';
import { ERROR_KINDS, type ContainerPoint, type EndpointSecond, type HistogramLine, type HostPoint, type PostgresPoint, type PostgresRates, type RunEvent, type RunRecord, type SeriesPoint } from '../analysis/types.ts';
import { forEachNdjson, readNdjson } from './read-series.ts';

/** manifest.json as run-scenario writes it; every field optional because old or killed runs may lack some. */
export interface RunManifest {
  runId?: string;
  scenario?: string;
  shape?: string;
  timeScale?: number;
  plannedDurationMs?: number;
  mode?: string;
  target?: string;
  host?: string;
  versions?: Record<string, string>;
  startedAt?: string;
  endedAt?: string | null;
  stoppedBy?: string | null;
  /** Cores of the load-generator host, when the run recorded it. */
  generatorCores?: number;
  config?: {
    scenarios?: Record<string, ScenarioConfigLike | undefined>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** The resolved scenario config (config/schema.ts) as far as the analysis needs it. */
export interface ScenarioConfigLike {
  shape?: { kind?: string; rateRps?: number; [k: string]: unknown };
  thinkTime?: { minMs?: number; maxMs?: number };
  slo?: { p95Ms?: number; p99Ms?: number; errorRatio?: number; minThroughputRps?: number; p50Ms?: number };
}

export interface LoadedRun {
  runDir: string;
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

function readJson<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Copies the listed keys that are present. A second is kept in memory for the whole analysis, so only what the
 * analysis and the report read is kept (docs/ANALYSIS.md, "Reading a run back"): the samplers' other fields
 * (network, block I/O, lock modes, timings…) stay in the file.
 */
function pick<T>(v: Record<string, unknown>, keys: readonly (keyof T & string)[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (v[k] !== undefined) out[k] = v[k];
  return out as T;
}

const ENDPOINT_KEYS = ['count', 'errors', 'bytes', 'p50Ms', 'p95Ms', 'p99Ms', 'maxMs', 'cancelled'] as const satisfies readonly (keyof EndpointSecond)[];
const CONTAINER_KEYS = [
  'cpuCores', 'cpuLimitUtilization', 'cpuLimitCores', 'throttledRatio', 'memoryWorkingSetBytes', 'memoryRssBytes', 'memoryLimitBytes', 'restarts', 'oomKills', 'ageMs',
] as const satisfies readonly (keyof ContainerPoint)[];
const POSTGRES_KEYS = [
  'maxConnections', 'connectionsByState', 'connectionsByApp', 'waitingByType', 'ungrantedLocks', 'blockedSessions', 'idleInTransaction', 'oldestIdleInTransactionSeconds', 'autovacuumWorkers',
] as const satisfies readonly (keyof PostgresPoint)[];
const RATE_KEYS = ['checkpointsTimed', 'checkpointsReq', 'buffersCheckpoint', 'buffersBackend', 'checkpointWriteMs', 'checkpointSyncMs'] as const satisfies readonly (keyof PostgresRates)[];
const HOST_KEYS = ['cpuUtilization', 'iowaitRatio'] as const satisfies readonly (keyof HostPoint)[];

/** A failing sampler writes `{ error }` in place of its section; such seconds carry no samples. */
function cleanContainers(v: unknown): Record<string, ContainerPoint> | undefined {
  if (!isObj(v) || typeof v.error === 'string') return undefined;
  const out: Record<string, ContainerPoint> = {};
  for (const [svc, c] of Object.entries(v)) if (isObj(c) && typeof c.memoryWorkingSetBytes === 'number') out[svc] = pick<ContainerPoint>(c, CONTAINER_KEYS);
  return out;
}

function cleanPostgres(v: unknown): PostgresPoint | null {
  if (!isObj(v) || typeof v.error === 'string' || !isObj(v.connectionsByState) || !isObj(v.connectionsByApp)) return null;
  const p = pick<PostgresPoint>(v, POSTGRES_KEYS);
  if (isObj(v.perSecond)) p.perSecond = pick<PostgresRates>(v.perSecond, RATE_KEYS);
  else if (v.perSecond === null) p.perSecond = null;
  return p;
}

/** The usual second has no errors: one shared, frozen all-zero count instead of one object per endpoint per second. */
const ZERO_ERRORS: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])));
const ZERO_KEYS = ERROR_KINDS.join(',');

function compactEndpoint(e: Record<string, unknown>): EndpointSecond {
  const out = pick<EndpointSecond>(e, ENDPOINT_KEYS);
  const errors = isObj(e.errors) ? e.errors : undefined;
  if (errors && Object.keys(errors).join(',') === ZERO_KEYS && ERROR_KINDS.every((k) => errors[k] === 0)) out.errors = ZERO_ERRORS;
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
  for (const [k, w] of Object.entries(v)) if (isObj(w) && typeof w.cpuCores === 'number' && typeof w.hostCores === 'number') out[k] = { cpuCores: w.cpuCores, hostCores: w.hostCores };
  return Object.keys(out).length ? out : undefined;
}

function toPoint(line: Record<string, unknown>): SeriesPoint | null {
  if (typeof line.elapsedS !== 'number' || !isObj(line.total) || !isObj(line.endpoints)) return null;
  const gen = isObj(line.generator) ? line.generator : {};
  const p: SeriesPoint = {
    tMs: line.tMs as number,
    elapsedS: line.elapsedS,
    phase: typeof line.phase === 'string' ? intern(line.phase) : (line.phase as string),
    activeUsers: line.activeUsers as number,
    endpoints: endpointsOf(line.endpoints),
    total: compactEndpoint(line.total),
    generator: { cpuCores: typeof gen.cpuCores === 'number' ? gen.cpuCores : null, droppedLate: typeof gen.droppedLate === 'number' ? gen.droppedLate : 0 },
    postgres: cleanPostgres(line.postgres),
  };
  const containers = cleanContainers(line.containers);
  if (containers) p.containers = containers;
  if (isObj(line.pool)) p.pool = line.pool as SeriesPoint['pool'];
  else if (line.pool === null) p.pool = null;
  if (isObj(line.host)) p.host = pick<HostPoint>(line.host, HOST_KEYS);
  else if (line.host === null) p.host = null;
  const workers = fleetWorkers(line.workers);
  if (workers) p.workers = workers;
  if (isObj(line.sampler)) p.sampler = typeof line.sampler.lagMs === 'number' ? { lagMs: line.sampler.lagMs } : {};
  else if (line.sampler === null) p.sampler = null;
  return p;
}

/** manifest.fleet.lost of a fleet run; none for any other run. */
function lostWorkers(m: RunManifest): { name: string; reason: string }[] {
  const fleet = isObj(m.fleet) ? m.fleet : {};
  const lost = Array.isArray(fleet.lost) ? (fleet.lost as unknown[]) : [];
  return lost.filter(isObj).map((l) => ({ name: String(l.name ?? l.index), reason: String(l.reason ?? 'unknown') }));
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
  const manifest = readJson<RunManifest>(join(runDir, 'manifest.json'));
  if (!manifest && !existsSync(seriesFile)) throw new UsageError(`${runDir}: not a loadscope run directory (no manifest.json or series.ndjson)`);

  const reasons: string[] = [];
  // streamed: only the compact second is kept, never the file's text or its parsed lines
  const series: SeriesPoint[] = [];
  forEachNdjson<Record<string, unknown>>(seriesFile, (l) => {
    const p = isObj(l) ? toPoint(l) : null;
    if (p) series.push(p);
  });
  const histograms: HistogramLine[] = [];
  forEachNdjson<HistogramLine>(join(runDir, 'histograms.ndjson'), (l) => {
    if (isObj(l) && isObj(l.endpoints)) histograms.push(l);
  });
  const events = readNdjson<RunEvent>(join(runDir, 'events.ndjson'));
  if (endsTorn(seriesFile) || endsTorn(join(runDir, 'histograms.ndjson'))) reasons.push('the last second was cut off mid-write (torn line)');
  const summary = readJson<Record<string, unknown>>(join(runDir, 'summary.json'));
  if (!summary) reasons.push('summary.json is missing');
  const m = manifest ?? {};
  if (!m.endedAt) reasons.push('the manifest has no end time');
  if (m.stoppedBy && KILLED_STOPS.has(m.stoppedBy)) reasons.push(`stopped by ${m.stoppedBy}`);
  // a fleet run that lost a worker (docs/DISTRIBUTED.md): what ran is recorded, but not the planned load
  for (const l of lostWorkers(m)) reasons.push(`partial run: load worker ${l.name} lost (${l.reason})`);
  if (!series.length) reasons.push('no seconds were recorded');
  return { runDir, manifest: m, record: { series, histograms, events }, summary, incomplete: reasons.length > 0, incompleteReasons: reasons };
}
