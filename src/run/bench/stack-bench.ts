// Stack up-to-healthy and teardown times with images present (goal ≤ 10 s / ≤ 5 s).
import { DEFAULT_HEALTH_TIMEOUT_MS } from '../../config/defaults.ts';
import { join } from 'node:path';
import { loadComposeFile } from '../../stack/compose/load.ts';
import { ensureEngine } from '../../stack/engine/engine.ts';
import { startStack } from '../../stack/stack.ts';

export interface StackBenchResult {
  upMs: number[];
  downMs: number[];
}

export async function stackBench(opts: { rounds: number; composePath?: string; log: (line: string) => void }): Promise<StackBenchResult> {
  const { runtime } = await ensureEngine({ dockerHost: process.env.DOCKER_HOST, logPath: '/var/log/loadscope/dockerd.log', isRoot: process.getuid?.() === 0 });
  const project = loadComposeFile(opts.composePath ?? join(import.meta.dirname, '..', '..', '..', 'compose', 'stack.yml'), process.env);
  const result: StackBenchResult = { upMs: [], downMs: [] };
  for (let i = 0; i < opts.rounds; i++) {
    const t0 = performance.now();
    const stack = await startStack({ runtime, project, runId: `bench-stack-${Date.now()}`, healthTimeoutMs: DEFAULT_HEALTH_TIMEOUT_MS });
    const t1 = performance.now();
    await stack.down();
    const t2 = performance.now();
    result.upMs.push(t1 - t0);
    result.downMs.push(t2 - t1);
    opts.log(`round ${i + 1}: up-to-healthy ${((t1 - t0) / 1000).toFixed(2)} s, teardown ${((t2 - t1) / 1000).toFixed(2)} s`);
  }
  return result;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
