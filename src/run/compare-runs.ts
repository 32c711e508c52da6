// `loadscope compare` as a stage: read both run records, analyse each with its own manifest, compare.
import { analyzeRun } from '../analysis/analyze.ts';
import { compareRuns, type Comparison } from '../analysis/compare.ts';
import { readRunRecord } from '../store/run-record.ts';
import { analyzeOptionsFromManifest } from './analyze-run.ts';

export interface RunComparison {
  comparison: Comparison;
  /** "runId (scenario)" of each side, for the table's header */
  labels: { base: string; run: string };
}

export function compareRunDirs(baseDir: string, runDir: string, o: { alpha: number; minEffect: number }): RunComparison {
  const [base, run] = [readRunRecord(baseDir), readRunRecord(runDir)];
  const analyse = (r: typeof base) => analyzeRun(r.record, analyzeOptionsFromManifest(r.manifest, r.incomplete));
  const comparison = compareRuns({ record: base.record, analysis: analyse(base) }, { record: run.record, analysis: analyse(run) }, o);
  const label = (r: typeof base, dir: string): string => `${r.manifest.runId ?? dir} (${r.manifest.scenario ?? '?'})`;
  return { comparison, labels: { base: label(base, baseDir), run: label(run, runDir) } };
}
