// Renders every dashboard (and the recording rules they read) to the files committed under dashboards/ and
// collectors/rules/. Deterministic output: the drift test compares these strings with the committed files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { liveRunDashboard } from './live-run.ts';
import { postgresDashboard } from './postgres-pool.ts';
import { renderRecordingRules } from './recording-rules.ts';
import { soakDashboard } from './soak.ts';

import { DEFAULT_DASHBOARDS_DIR, RECORDING_RULES_PATH } from './paths.ts';

export { DEFAULT_DASHBOARDS_DIR, RECORDING_RULES_PATH, REPO_ROOT } from './paths.ts';

/** File name → builder. */
export const DASHBOARDS: Record<string, () => Dashboard> = {
  'live-run.json': liveRunDashboard,
  'soak.json': soakDashboard,
  'postgres-pool.json': postgresDashboard,
};

export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Every generated file: absolute path → content. */
export function generatedFiles(outDir = DEFAULT_DASHBOARDS_DIR, rulesPath = RECORDING_RULES_PATH): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, build] of Object.entries(DASHBOARDS)) files.set(join(resolve(outDir), name), renderDashboard(build()));
  files.set(resolve(rulesPath), renderRecordingRules());
  return files;
}

export function writeGenerated(outDir = DEFAULT_DASHBOARDS_DIR, rulesPath = RECORDING_RULES_PATH): string[] {
  const files = generatedFiles(outDir, rulesPath);
  for (const [path, content] of files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return [...files.keys()];
}
