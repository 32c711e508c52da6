// Read-back bench: builds a synthetic 8-hour, 1 Hz run directory (long-run.ts) and times `loadscope analyze` on it in a
// child process (so the peak RSS is the command's own, not the bench's): analyse + report wall time and peak RSS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLongRun } from './long-run.ts';

export interface ReadBackResult {
  seconds: number;
  seriesMB: number;
  histogramsMB: number;
  /** `loadscope analyze` in a fresh process: load, analyse, write the four report files. */
  wallS: number;
  /** The child's user + system CPU time: the figure to read on a shared machine, where wall time includes waiting for a core. */
  cpuS: number;
  /** The child's peak resident set (process.resourceUsage().maxRSS). */
  peakRssMB: number;
  verdict: string;
}

/** Issue #14: an 8-hour, 1 Hz run analysed and reported in ≤ 3 s with ≤ 300 MB peak RSS. */
export const READ_BACK_GOAL = { wallS: 3, peakRssMB: 300 } as const;

const CLI = fileURLToPath(new URL('../../cli/loadscope.mjs', import.meta.url));

/** The child runs the CLI's own entry and reports its clock and peak RSS on stderr as one JSON line. */
const CHILD = `
const t0 = performance.now();
process.argv = [process.argv[0], ${JSON.stringify(CLI)}, 'analyze', process.env.READ_BACK_DIR, '--json'];
await import(${JSON.stringify(new URL('../../cli/loadscope.mjs', import.meta.url).href)});
process.on('exit', () => process.stderr.write('\\nREAD_BACK ' + JSON.stringify({ wallMs: performance.now() - t0, maxRssKb: process.resourceUsage().maxRSS, cpuUs: process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime }) + '\\n'));
`;

export function readBackBench(o: { seconds?: number; log?: (line: string) => void } = {}): ReadBackResult {
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-read-back-'));
  try {
    const runDir = join(dir, 'run');
    const built = writeLongRun(runDir, { seconds: o.seconds ?? 28_800 });
    const mb = (f: string): number => Math.round(statSync(join(runDir, f)).size / 1e5) / 10;
    o.log?.(`run directory: ${built.seconds} s, series.ndjson ${mb('series.ndjson')} MB, histograms.ndjson ${mb('histograms.ndjson')} MB`);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, READ_BACK_DIR: runDir },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const line = r.stderr.split('\n').find((l) => l.startsWith('READ_BACK '));
    if (!line) throw new Error(`loadscope analyze did not finish (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    const m = JSON.parse(line.slice('READ_BACK '.length)) as { wallMs: number; maxRssKb: number; cpuUs: number };
    const verdict = (JSON.parse(r.stdout) as { verdict: string }).verdict;
    return {
      seconds: built.seconds,
      seriesMB: mb('series.ndjson'),
      histogramsMB: mb('histograms.ndjson'),
      wallS: Math.round(m.wallMs / 10) / 100,
      cpuS: Math.round(m.cpuUs / 1e4) / 100,
      peakRssMB: Math.round(m.maxRssKb / 1024),
      verdict,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
