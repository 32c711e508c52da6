// One run directory, written as the run goes: each second's lines are appended (one write per file)
// so kill -9 loses at most the last second. Run-level state is fixed-size: one histogram per endpoint.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LoadscopeError } from '../common/errors.ts';
import { createLatencyHistogram, encodeStoredHistogram, round3, summaryMs, type LatencySummaryMs } from '../load/histogram.ts';
import type { SecondSample } from '../load/engine.ts';
import { ERROR_KINDS } from '../load/flow-runner.ts';
import { zeroErrors, type ErrorCounts } from '../load/recorder.ts';
import { FAILURES_HEADER, HISTORY_HEADER, STATS_HEADER, failuresRows, historyRow, statsRow, type EndpointTotals } from './locust-csv.ts';
import { redactSecrets } from './redact.ts';
import { FORMAT_VERSION } from './format-version.ts';
import type { EndpointSecond, RunManifest, SeriesLine } from './run-format.ts';

/** Adds a section (e.g. `containers`, `postgres`) to every series line; return undefined to omit it that second. */
export type SectionProvider = (at: { tMs: number; elapsedS: number }) => unknown;

export interface EndpointSummary extends LatencySummaryMs {
  name: string;
  method: string;
  count: number;
  failures: number;
  errorRatio: number;
  rps: number;
  meanMs: number;
}

export interface RunSummary {
  durationS: number;
  endpoints: EndpointSummary[];
  total: EndpointSummary;
  droppedLate: number;
  /** requests in flight when the run stopped: in no count, error or latency */
  cancelled: number;
  maxCpuCores: number;
}

const RESERVED = new Set(['t', 'tMs', 'elapsedS', 'phase', 'activeUsers', 'endpoints', 'total', 'generator']);
const MAX_FAILURE_KEYS = 1_000;
const failuresOf = (e: ErrorCounts): number => ERROR_KINDS.reduce((n, k) => n + e[k], 0);

export class RunWriter {
  readonly runDir: string;
  private readonly fds: { series: number; hist: number; events: number; history: number };
  private readonly sections = new Map<string, SectionProvider>();
  private readonly totals = new Map<string, EndpointTotals>();
  private readonly aggregate: EndpointTotals = { method: '', count: 0, failures: 0, bytes: 0, hist: createLatencyHistogram() };
  private readonly failures = new Map<string, number>();
  private readonly secondAgg: EndpointTotals = { method: '', count: 0, failures: 0, bytes: 0, hist: createLatencyHistogram() };
  private startMs: number | undefined;
  private manifest: RunManifest | undefined;
  private lastTMs = 0;
  private lastElapsedS = 0;
  private droppedLate = 0;
  private cancelled = 0;
  private maxCpuCores = 0;
  private closed = false;
  private eventsClosed = false;

  constructor(
    readonly outDir: string,
    readonly runId: string,
    readonly scenario: string,
  ) {
    this.runDir = join(outDir, runId);
    try {
      mkdirSync(this.runDir, { recursive: true });
      const open = (f: string): number => openSync(join(this.runDir, f), 'a');
      this.fds = {
        series: open('series.ndjson'),
        hist: open('histograms.ndjson'),
        events: open('events.ndjson'),
        history: open(`${scenario}_stats_history.csv`),
      };
      writeSync(this.fds.history, `${HISTORY_HEADER}\n`);
      // `latest` is replaced atomically: a new symlink renamed over the old one
      const tmp = join(outDir, `.latest-${process.pid}`);
      rmSync(tmp, { force: true });
      symlinkSync(runId, tmp);
      renameSync(tmp, join(outDir, 'latest'));
    } catch (err) {
      throw new LoadscopeError('RUN_DIR_UNWRITABLE', `cannot write run directory ${this.runDir}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Extension point for the samplers: `containers`, `postgres`, … appear on each series line. */
  addSection(name: string, provider: SectionProvider): void {
    if (RESERVED.has(name)) throw new Error(`series section name "${name}" is reserved`);
    this.sections.set(name, provider);
  }

  /** Writes manifest.json (atomically) in the current format: the writer adds formatVersion and, once known, startMs. */
  writeManifest(manifest: RunManifest): void {
    this.manifest = manifest;
    const full: RunManifest = { formatVersion: FORMAT_VERSION, ...manifest, ...(this.startMs !== undefined ? { startMs: this.startMs } : {}) };
    const tmp = join(this.runDir, '.manifest.json.tmp');
    writeFileSync(tmp, `${JSON.stringify(redactSecrets(full), null, 2)}\n`);
    renameSync(tmp, join(this.runDir, 'manifest.json'));
  }

  /** Appends to events.ndjson; open until close(), so the stack's teardown events (after finish()) are recorded. */
  event(kind: string, detail: Record<string, unknown> = {}, atMs = Date.now()): void {
    if (this.eventsClosed) return;
    writeSync(this.fds.events, `${JSON.stringify({ t: new Date(atMs).toISOString(), tMs: atMs, kind, ...detail })}\n`);
  }

  /** One second of load → one series line (+ histograms, history rows). `extra` adds sections for this line only. */
  writeSecond(s: SecondSample, extra: Record<string, unknown> = {}): SeriesLine {
    if (this.startMs === undefined) {
      this.startMs = s.startMs;
      // the load's start is known from its first second: recorded at once, so a run killed later still has it
      if (this.manifest) this.writeManifest(this.manifest);
    }
    this.lastTMs = s.tMs;
    this.lastElapsedS = s.elapsedS;
    this.droppedLate += s.droppedLate;
    this.maxCpuCores = Math.max(this.maxCpuCores, s.cpuCores);
    const endpoints: Record<string, EndpointSecond> = {};
    const hists: Record<string, string> = {};
    const sec = this.secondAgg;
    sec.count = sec.failures = sec.bytes = 0;
    sec.hist.reset();
    const totalErrors = zeroErrors();
    const historyRows: string[] = [];
    const tsS = Math.floor(s.tMs / 1000);
    let cancelled = 0;
    for (const [name, e] of [...s.endpoints].sort(([a], [b]) => a.localeCompare(b))) {
      const c = e.cancelled ?? 0;
      if (e.count === 0 && c === 0) continue;
      // cancelled (in flight at the stop) only appears when there are some: old readers see the old line
      endpoints[name] = { count: e.count, errors: { ...e.errors }, bytes: e.bytes, ...summaryMs(e.hist), ...(c > 0 && { cancelled: c }) };
      cancelled += c;
      hists[name] = encodeStoredHistogram(e.hist);
      let t = this.totals.get(name);
      if (!t) this.totals.set(name, (t = { method: e.method, count: 0, failures: 0, cancelled: 0, bytes: 0, hist: createLatencyHistogram() }));
      const failures = failuresOf(e.errors);
      t.count += e.count;
      t.cancelled = (t.cancelled ?? 0) + c;
      t.failures += failures;
      t.bytes += e.bytes;
      t.hist.add(e.hist);
      sec.count += e.count;
      sec.failures += failures;
      sec.bytes += e.bytes;
      sec.hist.add(e.hist);
      for (const k of ERROR_KINDS) totalErrors[k] += e.errors[k];
      historyRows.push(historyRow(tsS, s.activeUsers, e.method, name, { ...e, failures }, t));
    }
    const agg = this.aggregate;
    this.cancelled += cancelled;
    agg.cancelled = (agg.cancelled ?? 0) + cancelled;
    agg.count += sec.count;
    agg.failures += sec.failures;
    agg.bytes += sec.bytes;
    agg.hist.add(sec.hist);
    historyRows.push(historyRow(tsS, s.activeUsers, '', 'Aggregated', sec, agg));
    for (const [key, n] of Object.entries(s.failures)) {
      if (this.failures.has(key) || this.failures.size < MAX_FAILURE_KEYS) this.failures.set(key, (this.failures.get(key) ?? 0) + n);
    }

    const line: SeriesLine = {
      t: new Date(s.tMs).toISOString(),
      tMs: s.tMs,
      elapsedS: s.elapsedS,
      phase: s.phase,
      activeUsers: s.activeUsers,
      endpoints,
      total: { count: sec.count, errors: totalErrors, bytes: sec.bytes, ...summaryMs(sec.hist), ...(cancelled > 0 && { cancelled }) },
      generator: { cpuCores: s.cpuCores, droppedLate: s.droppedLate },
    };
    for (const [name, provide] of this.sections) {
      try {
        const v = provide({ tMs: s.tMs, elapsedS: s.elapsedS });
        if (v !== undefined) line[name] = v;
      } catch (err) {
        // a broken sampler must not stop the load record
        line[name] = { error: (err as Error).message };
      }
    }
    for (const [name, v] of Object.entries(extra)) if (!RESERVED.has(name)) line[name] = v;
    writeSync(this.fds.series, `${JSON.stringify(line)}\n`);
    writeSync(this.fds.hist, `${JSON.stringify({ tMs: s.tMs, elapsedS: s.elapsedS, unit: 'us', endpoints: hists })}\n`);
    writeSync(this.fds.history, `${historyRows.join('\n')}\n`);
    return line;
  }

  summary(): RunSummary {
    const durationS = Math.max(this.lastElapsedS, this.startMs === undefined ? 0 : (this.lastTMs - this.startMs) / 1000);
    const row = (name: string, t: EndpointTotals): EndpointSummary => ({
      name,
      method: t.method,
      count: t.count,
      failures: t.failures,
      errorRatio: t.count ? t.failures / t.count : 0,
      rps: round3(t.count / Math.max(durationS, 1e-9)),
      meanMs: round3(t.hist.totalCount ? t.hist.mean / 1000 : 0),
      ...summaryMs(t.hist),
    });
    return {
      durationS,
      endpoints: [...this.totals].map(([n, t]) => row(n, t)),
      total: row('Aggregated', this.aggregate),
      droppedLate: this.droppedLate,
      cancelled: this.cancelled,
      maxCpuCores: this.maxCpuCores,
    };
  }

  /** Writes the Locust stats/failures CSVs and summary.json, closes the series/histogram/history files (events stay open until close()). */
  finish(): RunSummary {
    const summary = this.summary();
    if (this.closed) return summary;
    const stats = [
      STATS_HEADER,
      ...[...this.totals].map(([n, t]) => statsRow(t.method, n, t, summary.durationS)),
      statsRow('', 'Aggregated', this.aggregate, summary.durationS),
    ];
    writeFileSync(join(this.runDir, `${this.scenario}_stats.csv`), `${stats.join('\n')}\n`);
    writeFileSync(join(this.runDir, `${this.scenario}_failures.csv`), `${[FAILURES_HEADER, ...failuresRows(this.failures)].join('\n')}\n`);
    writeFileSync(join(this.runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    for (const fd of [this.fds.series, this.fds.hist, this.fds.history]) closeSync(fd);
    this.closed = true;
    return summary;
  }

  /** Closes events.ndjson (after teardown); finish() first if it was not called. Idempotent. */
  close(): void {
    if (!this.closed) this.finish();
    if (this.eventsClosed) return;
    this.eventsClosed = true;
    closeSync(this.fds.events);
  }
}
