// Run directory → analysis.json, report.html, report.md, junit.xml (written into the run directory).
// Called by `loadscope analyze` and at the end of `loadscope run`; the analysis options come from the manifest.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { analyzeRun, type Analysis, type AnalyzeOptions, type ShapeKind } from '../analysis/analyze.ts';
import { feasibilityInput } from '../analysis/feasibility.ts';
import type { SloSpec } from '../analysis/slo.ts';
import { LoadscopeError } from '../common/errors.ts';
import { renderHtml } from '../report/html.ts';
import { renderJunit } from '../report/junit.ts';
import { renderMarkdown } from '../report/markdown.ts';
import type { ChartAssets, ReportInput, RunMeta } from '../report/types.ts';
import { readRunRecord, type LoadedRun, type RunManifest } from '../store/run-record.ts';

export interface AnalyzeRunDirOptions {
  /** Cores of the load-generator host. Default: manifest.generatorCores, else os.cpus().length. */
  generatorCores?: number;
  /** application_name of the SUT's DB pool. Default REFERENCE_APP_NAME (config/defaults.ts). */
  appName?: string;
  poolMax?: number;
  /** Write the four files (default true); false only analyses. */
  write?: boolean;
  /** The report's "generated at" stamp; default now. */
  generatedAt?: Date;
  /** Override the extra analysis options (leak/recovery/usl tuning). */
  analyze?: Pick<AnalyzeOptions, 'leak' | 'recovery' | 'usl'>;
}

export interface AnalyzeRunDirResult {
  analysis: Analysis;
  run: LoadedRun;
  /** Absolute paths of what was written (empty when write: false). */
  files: { analysisJson?: string; html?: string; markdown?: string; junit?: string };
}

const SHAPES: readonly ShapeKind[] = ['ramp', 'steps', 'spike', 'constant-rate'];
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The analysis options for a run, from its manifest in the current format (store/run-record.ts upgradeManifest). */
export function analyzeOptionsFromManifest(manifest: RunManifest, incomplete: boolean, o: AnalyzeRunDirOptions = {}): AnalyzeOptions {
  const name = manifest.scenario ?? 'unknown';
  const sc = manifest.scenarioConfig;
  const kind = sc?.shape?.kind;
  const shape: ShapeKind = SHAPES.includes(kind as ShapeKind) ? (kind as ShapeKind) : 'ramp';
  const minMs = num(sc?.thinkTime?.minMs) ?? 0;
  const maxMs = num(sc?.thinkTime?.maxMs) ?? minMs;
  let slo: SloSpec | undefined;
  if (sc?.slo) {
    const s = sc.slo;
    // drop unset limits: an undefined key must not become a "no-data" row
    slo = Object.fromEntries(
      Object.entries({ p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms, errorRatio: s.errorRatio, minThroughputRps: s.minThroughputRps }).filter(
        ([, v]) => num(v) !== undefined,
      ),
    ) as SloSpec;
  }
  const rate = num(sc?.shape?.rateRps);
  // the app's pool size: given, else the one the stack was started with (stack mode)
  const poolMax = o.poolMax ?? manifest.poolMax;
  const levels = manifest.phaseLevels;
  return {
    scenario: {
      name,
      shape,
      thinkTimeMeanMs: (minMs + maxMs) / 2,
      thinkTimeMinMs: minMs,
      thinkTimeMaxMs: maxMs,
      ...(slo ? { slo } : {}),
      ...(shape === 'constant-rate' && rate !== undefined ? { offeredRpsByPhase: { 'constant-rate': rate } } : {}),
      ...(sc ? { feasibility: feasibilityInput(sc) } : {}),
      ...(levels?.length ? { phaseLevels: Object.fromEntries(levels.map((l) => [l.phase, l.users])) } : {}),
    },
    generatorCores: o.generatorCores ?? num(manifest.generatorCores) ?? cpus().length,
    incomplete,
    ...(o.appName ? { appName: o.appName } : {}),
    ...(poolMax !== undefined ? { poolMax } : {}),
    ...o.analyze,
  };
}

export function runMeta(run: LoadedRun): RunMeta {
  const m = run.manifest;
  const base = run.runDir.replace(/\/+$/, '').split('/').pop() ?? run.runDir;
  return {
    runId: m.runId ?? base,
    scenario: m.scenario ?? 'unknown',
    shape: m.shape ?? null,
    timeScale: num(m.timeScale) ?? null,
    startedAt: m.startedAt ?? null,
    endedAt: m.endedAt ?? null,
    stoppedBy: m.stoppedBy ?? null,
    target: m.target ?? null,
    host: m.host ?? null,
    mode: m.mode ?? null,
    versions: m.versions ?? {},
    incompleteReasons: run.incompleteReasons,
  };
}

let assetsCache: ChartAssets | undefined;

/** uPlot's JS and CSS, read from node_modules and inlined into every report (offline by construction). */
export function loadChartAssets(): ChartAssets {
  if (assetsCache) return assetsCache;
  try {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
    const version = (JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
    // the banner comment carries the project URL; the report must contain no URL at all, so keep the credit only
    const js = readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8').replace(/^\/\*![^*]*\*\//, `/*! uPlot v${version} (MIT, (c) Leon Sorokin) */`);
    assetsCache = { js, css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8') };
    return assetsCache;
  } catch (err) {
    throw new LoadscopeError('INTERNAL', `cannot load the uPlot charting library (npm install): ${(err as Error).message}`, { cause: err });
  }
}

/** Written via a temp file + rename so a reader never sees half a report. */
function writeAtomic(file: string, text: string): string {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return file;
}

/** Analyses one run directory and (by default) writes analysis.json, report.html, report.md and junit.xml into it. */
export function analyzeRunDir(runDir: string, opts: AnalyzeRunDirOptions = {}): AnalyzeRunDirResult {
  const run = readRunRecord(runDir);
  const analysis = analyzeRun(run.record, analyzeOptionsFromManifest(run.manifest, run.incomplete, opts));
  const files: AnalyzeRunDirResult['files'] = {};
  if (opts.write === false) return { analysis, run, files };
  const input: ReportInput = {
    analysis,
    record: run.record,
    meta: runMeta(run),
    ...(opts.appName ? { appName: opts.appName } : {}),
    generatedAt: (opts.generatedAt ?? new Date()).toISOString(),
  };
  try {
    files.analysisJson = writeAtomic(join(runDir, 'analysis.json'), `${JSON.stringify(analysis, null, 2)}\n`);
    files.html = writeAtomic(join(runDir, 'report.html'), renderHtml(input, loadChartAssets()));
    files.markdown = writeAtomic(join(runDir, 'report.md'), renderMarkdown(input));
    files.junit = writeAtomic(join(runDir, 'junit.xml'), renderJunit(input));
  } catch (err) {
    if (err instanceof LoadscopeError) throw err;
    throw new LoadscopeError('RUN_DIR_UNWRITABLE', `cannot write the report into ${runDir}: ${(err as Error).message}`, { cause: err });
  }
  return { analysis, run, files };
}
