// Inputs of the renderers: everything comes in as data (no fs, no clock), so reports are reproducible.
import type { AnalysisContract } from '../analysis/contract.ts';
import type { RunRecord } from '../analysis/types.ts';

/** Run metadata shown in the report (from manifest.json); absent fields are rendered as "—". */
export interface RunMeta {
  runId: string;
  scenario: string;
  /** Human description of the load shape, e.g. "ramp to 100 users over 1m, run 5m". */
  shape: string | null;
  timeScale: number | null;
  startedAt: string | null;
  endedAt: string | null;
  stoppedBy: string | null;
  target: string | null;
  host: string | null;
  mode: string | null;
  versions: Readonly<Record<string, string>>;
  /** Why the run counts as incomplete (killed, torn last line, no summary). */
  incompleteReasons: readonly string[];
}

export interface ReportInput {
  analysis: AnalysisContract;
  record: RunRecord;
  meta: RunMeta;
  /** application_name of the SUT's DB pool, for the pool chart. Default REFERENCE_APP_NAME (config/defaults.ts). */
  appName?: string;
  /** ISO time the report was generated (the caller's clock). */
  generatedAt?: string;
}

/** The charting library, inlined into report.html so it works offline. */
export interface ChartAssets {
  js: string;
  css: string;
}
