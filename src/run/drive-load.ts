// The load stage of a planned run: the engine with the plan's timeline and target, each second written to the
// run record, shown to the observer and logged; a failed write stops the load instead of escaping into the engine.
import { LoadscopeError } from '../common/errors.ts';
import { runLoad, type LoadOptions, type LoadResult, type SecondSample, type StopReason } from '../load/engine.ts';
import type { RunManifest } from '../store/run-format.ts';
import type { RunSummary, RunWriter } from '../store/run-writer.ts';
import { defaultBreakRule } from './break-rule.ts';
import type { RunObserver } from './observer.ts';
import type { RunPlan } from './plan.ts';

/** One run in progress: its id, record and manifest. */
export interface OpenRun {
  runId: string;
  writer: RunWriter;
  manifest: RunManifest;
  log: (line: string) => void;
  /** set once the run's outcome is written: the record then stays open for the analysis' events */
  recorded: boolean;
}

/** Runs the load: the engine in this process (runLoad), or a fleet of worker processes (drive-fleet.ts). */
export type LoadFn = (o: LoadOptions, run: OpenRun) => Promise<LoadResult>;

/** What the caller adds to the load stage. */
export interface LoadHooks {
  workers?: number;
  /** default: runLoad, in this process */
  load?: LoadFn;
  signal?: AbortSignal;
  onSecond?: (s: SecondSample) => void;
  keepRawLatencies?: boolean;
  onRawLatencies?: (endpoint: string, latenciesUs: number[]) => void;
}

/** The load's outcome as written to the run record. */
export interface LoadOutcome {
  runId: string;
  runDir: string;
  summary: RunSummary;
  stoppedBy: StopReason;
  plannedDurationMs: number;
}

export async function driveLoad(plan: RunPlan, run: OpenRun, observer: RunObserver, o: LoadHooks): Promise<LoadOutcome> {
  const { writer, log } = run;
  const { scenario, config: cfg } = plan;
  // A failed write (disk full, folder gone) must stop the load, not escape into the engine and leave workers running.
  const writeFailed = new AbortController();
  let writeError: unknown;
  const guarded = (fn: () => void): void => {
    if (writeError !== undefined) return;
    try {
      fn();
    } catch (err) {
      writeError = err;
      writeFailed.abort(err);
    }
  };
  const load: LoadFn = o.load ?? ((lo) => runLoad(lo));
  const loadOptions: LoadOptions = {
    flow: cfg.flow,
    target: plan.target,
    timeline: plan.timeline,
    // think time is user behaviour, not schedule: scaling it would multiply the request rate by 1/timeScale
    thinkMinMs: scenario.thinkTime.minMs,
    thinkMaxMs: scenario.thinkTime.maxMs,
    requestTimeoutMs: cfg.requestTimeoutMs,
    seed: plan.seed,
    workers: o.workers ?? cfg.workers,
    signal: o.signal ? AbortSignal.any([o.signal, writeFailed.signal]) : writeFailed.signal,
    keepRawLatencies: o.keepRawLatencies,
    onRawLatencies: o.onRawLatencies,
    breakRule: scenario.stopOnBreak ? defaultBreakRule(scenario) : undefined,
    onEvent: (e) =>
      guarded(() => {
        writer.event(e.kind, e.detail, e.atMs);
        if (e.kind === 'phase' || e.kind === 'break' || e.kind === 'stop') log(`${e.kind}: ${JSON.stringify(e.detail)}`);
      }),
    onSecond: (s) =>
      guarded(() => {
        const line = writer.writeSecond(s);
        observer.onSecond(s);
        o.onSecond?.(s);
        const t = line.total;
        const errors = Object.values(t.errors).reduce((a, b) => a + b, 0);
        log(
          `${s.elapsedS.toFixed(0).padStart(5)}s ${s.phase.padEnd(14)} users=${String(s.activeUsers).padStart(5)} rps=${String(t.count).padStart(6)} err=${errors} p95=${t.p95Ms}ms cpu=${s.cpuCores}`,
        );
      }),
  };
  const result = await load(loadOptions, run);
  if (writeError !== undefined) throw isWriteError(writeError) ? unwritable(writer.runDir, writeError) : writeError;
  const summary = writer.finish();
  writer.writeManifest({ ...run.manifest, endedAt: new Date().toISOString(), stoppedBy: result.stoppedBy });
  run.recorded = true;
  return { runId: run.runId, runDir: writer.runDir, summary, stoppedBy: result.stoppedBy, plannedDurationMs: plan.timeline.durationMs };
}

const WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'ENOENT', 'EBADF']);
export const isWriteError = (err: unknown): boolean => !(err instanceof LoadscopeError) && WRITE_ERRNOS.has(String((err as NodeJS.ErrnoException)?.code));
export function unwritable(runDir: string, err: unknown): LoadscopeError {
  if (err instanceof LoadscopeError) return err;
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? ' (disk full: free space or choose another --out)' : '';
  return new LoadscopeError(
    'RUN_DIR_UNWRITABLE',
    `cannot write the run record in ${runDir}: ${e.message}${hint}; the load was stopped and the stack torn down`,
    { cause: err },
  );
}
