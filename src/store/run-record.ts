// Reads one run directory into the analysis RunRecord plus its manifest. Tolerant of killed runs: a torn
// last line is dropped, a missing summary.json / endedAt or a signal/deadline/error stop marks it incomplete.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors.ts';
import type { ContainerPoint, HistogramLine, PostgresPoint, RunEvent, RunRecord, SeriesPoint } from '../analysis/types.ts';
import { readNdjson } from './read-series.ts';

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

/** A failing sampler writes `{ error }` in place of its section; such seconds carry no samples. */
function cleanContainers(v: unknown): Record<string, ContainerPoint> | undefined {
  if (!isObj(v) || typeof v.error === 'string') return undefined;
  const out: Record<string, ContainerPoint> = {};
  for (const [svc, c] of Object.entries(v)) if (isObj(c) && typeof c.memoryWorkingSetBytes === 'number') out[svc] = c as unknown as ContainerPoint;
  return out;
}

const cleanPostgres = (v: unknown): PostgresPoint | null =>
  isObj(v) && typeof v.error !== 'string' && isObj(v.connectionsByState) && isObj(v.connectionsByApp) ? (v as unknown as PostgresPoint) : null;

function toPoint(line: Record<string, unknown>): SeriesPoint | null {
  if (typeof line.elapsedS !== 'number' || !isObj(line.total) || !isObj(line.endpoints)) return null;
  const p = { ...line } as unknown as SeriesPoint & Record<string, unknown>;
  const gen = isObj(line.generator) ? line.generator : {};
  p.generator = { cpuCores: typeof gen.cpuCores === 'number' ? gen.cpuCores : null, droppedLate: typeof gen.droppedLate === 'number' ? gen.droppedLate : 0 };
  const containers = cleanContainers(line.containers);
  if (containers) p.containers = containers;
  else delete p.containers;
  p.postgres = cleanPostgres(line.postgres);
  return p;
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
  const series = readNdjson<Record<string, unknown>>(seriesFile).map(toPoint).filter((p): p is SeriesPoint => p !== null);
  const histograms = readNdjson<HistogramLine>(join(runDir, 'histograms.ndjson')).filter((l) => isObj(l) && isObj(l.endpoints));
  const events = readNdjson<RunEvent>(join(runDir, 'events.ndjson'));
  if (endsTorn(seriesFile) || endsTorn(join(runDir, 'histograms.ndjson'))) reasons.push('the last second was cut off mid-write (torn line)');
  const summary = readJson<Record<string, unknown>>(join(runDir, 'summary.json'));
  if (!summary) reasons.push('summary.json is missing');
  const m = manifest ?? {};
  if (!m.endedAt) reasons.push('the manifest has no end time');
  if (m.stoppedBy && KILLED_STOPS.has(m.stoppedBy)) reasons.push(`stopped by ${m.stoppedBy}`);
  if (!series.length) reasons.push('no seconds were recorded');
  return { runDir, manifest: m, record: { series, histograms, events }, summary, incomplete: reasons.length > 0, incompleteReasons: reasons };
}
