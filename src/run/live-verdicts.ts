// Verdicts while the run is going (docs/ANALYSIS.md, Live verdicts): the post-mortem itself — analyzeRunDir over the
// run directory as written so far — in a worker thread, so the load's event loop never waits on a judgement.
import { Worker } from 'node:worker_threads';
import type { Analysis } from '../analysis/analyze.ts';
import type { VerdictValues } from '../telemetry/otel.ts';

/** The verdict metrics of one analysis: the SLO statuses, leaks and breaking point exactly as in analysis.json. */
export function verdictValues(a: Analysis, partial: boolean): VerdictValues {
  return {
    partial,
    slo: a.slo.map((s) => ({ name: s.name, status: s.status })),
    leaks: a.leaks.map((l) => ({ service: l.service, slopeBytesPerHour: l.slopeBytesPerHour, verdict: l.verdict })),
    breakingPointUsers: a.capacity.breakingPoint?.users ?? null,
  };
}

/** A live judgement from the worker: its verdicts, or why there are none yet (e.g. no second recorded). */
export type JudgeReply = { verdicts: VerdictValues; durationMs: number } | { error: string; durationMs: number };

/**
 * Cost bound. Each judgement re-reads and re-analyses the whole run so far (its per-second lines and histograms), so
 * its cost grows with the run: measured 4 s for a 1-hour run and 38 s (peak RSS 330 MiB) for an 8-hour one (3
 * endpoints, ~65 req/s, 2 containers, on a shared 2-core machine). Recomputing every second would never keep up;
 * instead the next judgement starts LIVE_DUTY_FACTOR × the last one's duration later (at least LIVE_MIN_INTERVAL_MS):
 * the live judge takes at most 1 / (1 + LIVE_DUTY_FACTOR) of one core whatever the run length (counted in the
 * generator's CPU), and an 8-hour soak's verdicts still refresh every ~6 min — faster than a leak verdict can change.
 */
export const LIVE_MIN_INTERVAL_MS = 5000;
export const LIVE_DUTY_FACTOR = 9;

const WORKER_ENTRY = new URL('./live-judge-entry.mjs', import.meta.url);

/** Runs the post-mortem over `runDir` every so often in a worker and hands each result to `onVerdicts`. */
export class LiveJudge {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Judgements completed, and the last one's duration (for tests and the bench). */
  judged = 0;
  lastDurationMs = 0;

  private worker: Worker | undefined;

  private constructor(
    private readonly runDir: string,
    private readonly onVerdicts: (v: VerdictValues) => void,
    private readonly minIntervalMs: number,
  ) {}

  static start(runDir: string, onVerdicts: (v: VerdictValues) => void, o: { minIntervalMs?: number } = {}): LiveJudge {
    const judge = new LiveJudge(runDir, onVerdicts, o.minIntervalMs ?? LIVE_MIN_INTERVAL_MS);
    judge.schedule(judge.minIntervalMs);
    return judge;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.judgeNow(), delayMs);
    this.timer.unref();
  }

  private judgeNow(): void {
    // started at the first judgement, not with the run: a run shorter than that never pays for the thread
    if (!this.worker) {
      this.worker = new Worker(WORKER_ENTRY);
      this.worker.on('message', (r: JudgeReply) => this.onReply(r));
      // a dead judge only stops the live verdicts: the run and its post-mortem go on
      this.worker.on('error', () => this.halt());
      this.worker.unref();
    }
    this.worker.postMessage({ runDir: this.runDir });
  }

  private onReply(r: JudgeReply): void {
    this.judged++;
    this.lastDurationMs = r.durationMs;
    if (this.stopped) return;
    if ('verdicts' in r) this.onVerdicts(r.verdicts);
    this.schedule(Math.max(this.minIntervalMs, LIVE_DUTY_FACTOR * r.durationMs));
  }

  private halt(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** No verdict is handed on after this; a judgement under way is abandoned. */
  async stop(): Promise<void> {
    this.halt();
    await this.worker?.terminate();
  }
}
