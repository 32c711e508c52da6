// Golden comparisons: the reports of recorded run directories, byte for byte. The goldens were written by the code
// before the read-back rework (streamed NDJSON, compact seconds, compact merged histograms): reading a run back
// cheaply must not change a single figure. `run-v1-steps` is a real run directory written by `loadscope run` (steps
// 2→8 users against the fake archive, ×0.1) before that change; `run-v2-steps` is the same run in run format 2 (its
// manifest as the version 2 writer records it: formatVersion, startMs, scenarioConfig, phaseLevels; histogram payloads
// zlib-compressed), kept when format 3 changed the payloads, with goldens recorded by the version 2 code; the synthetic
// ones come from the report fixtures.
// An intended change of a report re-records them with GOLDEN_UPDATE=1 (and the diff is reviewed in the commit).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticRunFiles, type SyntheticRunOptions } from '../report/testing/synthetic-run.ts';
import { analyzeRunDir } from './analyze-run.ts';

const GOLDEN = fileURLToPath(new URL('./testdata/golden/', import.meta.url));
const RECORDED_RUNS = ['run-v1-steps', 'run-v2-steps'];
const recordedRun = (name: string): string => fileURLToPath(new URL(`../store/testdata/${name}/`, import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'loadscope-golden-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SYNTHETIC: Record<string, SyntheticRunOptions & { killed?: boolean }> = {
  'synthetic-steps': { kind: 'steps' },
  'synthetic-soak': { kind: 'soak' },
  'synthetic-killed': { kind: 'steps', killed: true },
  'synthetic-hostile': { kind: 'steps', hostile: true },
};

function runDirOf(name: string): string {
  const dir = join(root, name);
  if (RECORDED_RUNS.includes(name)) cpSync(recordedRun(name), dir, { recursive: true });
  else {
    mkdirSync(dir);
    for (const [f, text] of Object.entries(syntheticRunFiles(SYNTHETIC[name]))) writeFileSync(join(dir, f), text);
  }
  return dir;
}

describe('reports of recorded runs are unchanged (golden)', () => {
  it.each([...RECORDED_RUNS, ...Object.keys(SYNTHETIC)])('%s', (name) => {
    const dir = runDirOf(name);
    // the generator's cores and the report's stamp are inputs: fixed so the goldens do not depend on this machine
    analyzeRunDir(dir, { generatedAt: new Date('2024-01-01T00:00:00Z'), generatorCores: 8 });
    const files = ['analysis.json', 'report.md', 'junit.xml', ...(RECORDED_RUNS.includes(name) ? ['report.html'] : [])];
    for (const f of files) {
      const got = readFileSync(join(dir, f), 'utf8');
      const golden = join(GOLDEN, `${name}.${f}`);
      if (process.env.GOLDEN_UPDATE === '1') writeFileSync(golden, got);
      expect(got, `${name}/${f}`).toBe(readFileSync(golden, 'utf8'));
    }
  });
});
