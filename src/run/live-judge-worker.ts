// The live judge's thread (live-verdicts.ts): one message = one post-mortem over the run directory as written so far.
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { analyzeRunDir } from './analyze-run.ts';
import { verdictValues, type JudgeReply } from './live-verdicts.ts';

parentPort?.on('message', (m: { runDir: string }) => {
  const t0 = performance.now();
  let reply: JudgeReply;
  try {
    // the same entry point as `loadscope analyze`, without writing: one judge (docs/ANALYSIS.md, Live verdicts)
    const { analysis } = analyzeRunDir(m.runDir, { write: false });
    reply = { verdicts: verdictValues(analysis, true), durationMs: performance.now() - t0 };
  } catch (err) {
    reply = { error: (err as Error).message, durationMs: performance.now() - t0 };
  }
  parentPort?.postMessage(reply);
});
