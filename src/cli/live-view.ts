// The live terminal view of `loadscope run`: fed one SecondSample per load second (onSecond) and the samplers'
// latest snapshot (onSample). On a TTY it is one block redrawn in place every second (cursor up + clear line);
// otherwise (CI logs) it prints a plain line every `plainEveryS` seconds and on each phase change. Progress
// lines (log) are printed above the block. Writes only through `write` (stderr in the CLI).
import { REFERENCE_APP_NAME } from '../config/defaults.ts';
import type { SecondSample } from '../load/engine.ts';
import { ERROR_KINDS } from '../load/flow-runner.ts';
import { createLatencyHistogram, pctMs } from '../load/histogram.ts';
import type { SampleSnapshot } from '../samplers/types.ts';
import type { RunScenarioOptions, RunScenarioResult } from '../run/run-scenario.ts';

export interface LiveViewOptions {
  write: (s: string) => void;
  /** Redraw in place with ANSI escapes; false: plain periodic lines. */
  tty: boolean;
  /** Terminal width: block lines are cut to it so a wrapped line cannot break the cursor-up count. */
  columns?: number;
  /** Plain mode: one line every this many seconds (phase changes and the last second always print). Default 5. */
  plainEveryS?: number;
  /** Container whose CPU/memory is shown; default `app`, else the first sampled container not named like a database. */
  appService?: string;
  /** application_name of the app's DB pool in pg_stat_activity; default `archiveorigin`, else the busiest named one. */
  poolApp?: string;
  scenario?: string;
  /** Planned duration of the run in seconds (after --time-scale), for "remaining". */
  plannedS?: number;
}

/** What one frame shows; numbers are null while unknown (no sampler, no sample yet). */
export interface LiveState {
  scenario: string;
  phase: string;
  elapsedS: number;
  plannedS: number | null;
  users: number;
  rps: number;
  p95Ms: number;
  requests: number;
  errors: number;
  appService: string | null;
  appCpuCores: number | null;
  appMemBytes: number | null;
  appMemLimitBytes: number | null;
  poolApp: string | null;
  poolActive: number | null;
  poolTotal: number | null;
}

const ESC = '\x1b[';
export const CURSOR_UP = (n: number): string => `${ESC}${n}A`;
export const CLEAR_LINE = `${ESC}2K`;
const CLEAR_DOWN = `${ESC}J`;

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
const clock = (s: number): string => {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
};
const pctText = (errors: number, requests: number): string => `${requests ? ((errors / requests) * 100).toFixed(2) : '0.00'}%`;
const ms = (v: number): string => (v >= 10 ? String(Math.round(v)) : String(+v.toFixed(1)));
const DB_LIKE = /postgres|pg|db|database|mysql|redis/i;

export class LiveView {
  private readonly hist = createLatencyHistogram();
  private snapshot: SampleSnapshot | undefined;
  private state: LiveState;
  private drawnLines = 0;
  private lastPlainS = -Infinity;
  private lastPhase: string | undefined;
  private closed = false;
  /** frames drawn (TTY) or lines printed (plain); for tests */
  frames = 0;

  constructor(private readonly o: LiveViewOptions) {
    this.state = {
      scenario: o.scenario ?? '',
      phase: 'starting',
      elapsedS: 0,
      plannedS: o.plannedS ?? null,
      users: 0,
      rps: 0,
      p95Ms: 0,
      requests: 0,
      errors: 0,
      appService: null,
      appCpuCores: null,
      appMemBytes: null,
      appMemLimitBytes: null,
      poolApp: null,
      poolActive: null,
      poolTotal: null,
    };
  }

  /** The run's plan, once known (the CLI reads it from the run's manifest). */
  setPlan(p: { scenario?: string; plannedS?: number }): void {
    if (p.scenario !== undefined) this.state.scenario = p.scenario;
    if (p.plannedS !== undefined) this.state.plannedS = p.plannedS;
  }

  /** The samplers' newest snapshot (containers, Postgres); shown with the next second. */
  onSample(s: SampleSnapshot): void {
    this.snapshot = s;
  }

  get latestSample(): SampleSnapshot | undefined {
    return this.snapshot;
  }

  get current(): Readonly<LiveState> {
    return this.state;
  }

  onSecond(s: SecondSample): void {
    if (this.closed) return;
    let count = 0;
    let errors = 0;
    this.hist.reset();
    for (const e of s.endpoints.values()) {
      count += e.count;
      errors += ERROR_KINDS.reduce((n, k) => n + e.errors[k], 0);
      if (e.hist.totalCount > 0) this.hist.add(e.hist);
    }
    const st = this.state;
    st.phase = s.phase;
    st.elapsedS = s.elapsedS;
    st.users = s.activeUsers;
    st.rps = count;
    st.p95Ms = pctMs(this.hist, 95);
    st.requests += count;
    st.errors += errors;
    this.applySnapshot();
    const phaseChanged = this.lastPhase !== undefined && this.lastPhase !== s.phase;
    const first = this.lastPhase === undefined;
    this.lastPhase = s.phase;
    if (this.o.tty) {
      this.redraw();
    } else if (first || phaseChanged || s.final || s.elapsedS - this.lastPlainS >= (this.o.plainEveryS ?? 5)) {
      this.lastPlainS = s.elapsedS;
      this.o.write(`${this.plainLine()}\n`);
      this.frames++;
    }
  }

  /** A progress line: above the block on a TTY, as is otherwise. */
  log(line: string): void {
    if (this.closed || !this.o.tty || this.drawnLines === 0) {
      this.o.write(`${line}\n`);
      return;
    }
    this.o.write(`${CURSOR_UP(this.drawnLines)}${CLEAR_DOWN}${line}\n`);
    this.drawnLines = 0;
    this.redraw();
  }

  /** Leaves the last frame on screen; later writes go below it. */
  close(): void {
    this.closed = true;
  }

  private applySnapshot(): void {
    const snap = this.snapshot;
    if (!snap) return;
    const st = this.state;
    const names = Object.keys(snap.containers);
    const app = this.o.appService ?? (names.includes('app') ? 'app' : names.find((n) => !DB_LIKE.test(n)));
    const c = app !== undefined ? snap.containers[app] : undefined;
    st.appService = c ? app! : null;
    st.appCpuCores = c?.cpuCores ?? null;
    st.appMemBytes = c ? c.memoryWorkingSetBytes : null;
    st.appMemLimitBytes = c?.memoryLimitBytes ?? null;
    const byApp = snap.postgres?.connectionsByApp;
    if (byApp) {
      const pool =
        this.o.poolApp ??
        (REFERENCE_APP_NAME in byApp
          ? REFERENCE_APP_NAME
          : Object.entries(byApp)
              .filter(([n]) => n !== '')
              .sort(([, a], [, b]) => total(b) - total(a))[0]?.[0]);
      const states = pool !== undefined ? byApp[pool] : undefined;
      st.poolApp = pool ?? null;
      st.poolActive = states ? (states.active ?? 0) : pool !== undefined ? 0 : null;
      st.poolTotal = states ? total(states) : pool !== undefined ? 0 : null;
    }
  }

  /** The block: three lines. */
  blockLines(): string[] {
    const st = this.state;
    const remaining = st.plannedS !== null ? `  remaining ${clock(Math.max(0, st.plannedS - st.elapsedS))}` : '';
    const planned = st.plannedS !== null ? ` / ${clock(st.plannedS)}` : '';
    const cpu = st.appCpuCores !== null ? `${st.appCpuCores.toFixed(2)} cores` : 'n/a';
    const mem = st.appMemBytes !== null ? `${mib(st.appMemBytes)}${st.appMemLimitBytes ? ` of ${mib(st.appMemLimitBytes)}` : ''}` : 'n/a';
    const pool = st.poolTotal !== null ? `${st.poolActive}/${st.poolTotal} active/total${st.poolApp ? ` (${st.poolApp})` : ''}` : 'n/a';
    return [
      `loadscope ${st.scenario}  phase ${st.phase}  elapsed ${clock(st.elapsedS)}${planned}${remaining}`,
      `  users ${st.users}  req/s ${st.rps}  p95 ${ms(st.p95Ms)} ms  errors ${st.errors} (${pctText(st.errors, st.requests)})`,
      `  ${st.appService ?? 'app'}: CPU ${cpu}  memory ${mem}  pool ${pool}`,
    ];
  }

  plainLine(): string {
    const st = this.state;
    const t = `${Math.round(st.elapsedS)}s${st.plannedS !== null ? `/${Math.round(st.plannedS)}s` : ''}`;
    const app =
      (st.appCpuCores !== null ? ` cpu=${st.appCpuCores.toFixed(2)}` : '') +
      (st.appMemBytes !== null ? ` mem=${(st.appMemBytes / 1048576).toFixed(1)}MiB` : '') +
      (st.poolTotal !== null ? ` pool=${st.poolActive}/${st.poolTotal}` : '');
    return `[${t}] ${st.phase} users=${st.users} rps=${st.rps} p95=${ms(st.p95Ms)}ms errors=${st.errors} (${pctText(st.errors, st.requests)})${app}`;
  }

  private redraw(): void {
    const cols = this.o.columns && this.o.columns > 10 ? this.o.columns - 1 : Infinity;
    const lines = this.blockLines().map((l) => (l.length > cols ? l.slice(0, cols) : l));
    const up = this.drawnLines > 0 ? CURSOR_UP(this.drawnLines) : '';
    this.o.write(up + lines.map((l) => `${CLEAR_LINE}${l}\n`).join(''));
    this.drawnLines = lines.length;
    this.frames++;
  }
}

const total = (states: Record<string, number>): number => Object.values(states).reduce((a, b) => a + b, 0);

/** Per-second progress lines of runScenario: the live view replaces them. */
export const isPerSecondLogLine = (line: string): boolean => /^\s*\d+s \S+\s+users=\s*\d+ rps=/.test(line);

/** The live view wired for runScenario: `runOptions` go straight into its options (log, onSecond, onSample). */
export function startLiveView(
  o: { scenario: string; plannedS?: number },
  out: { write(s: string): unknown; isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>> = process.env,
): { view: LiveView; runOptions: Pick<RunScenarioOptions, 'log' | 'onSecond' | 'onSample'>; close(): void } {
  // LOADSCOPE_PLAIN=1 (or TERM=dumb) forces plain lines on a terminal too
  const tty = out.isTTY === true && env.TERM !== 'dumb' && !env.LOADSCOPE_PLAIN;
  const view = new LiveView({
    write: (s) => void out.write(s),
    tty,
    columns: out.columns,
    scenario: o.scenario,
    ...(o.plannedS !== undefined ? { plannedS: o.plannedS } : {}),
    plainEveryS: Number(env.LOADSCOPE_PLAIN_EVERY_S) || 5,
  });
  return {
    view,
    runOptions: {
      log: (line) => {
        if (!isPerSecondLogLine(line)) view.log(line);
      },
      onSecond: (s) => view.onSecond(s),
      onSample: (s) => view.onSample(s),
    },
    close: () => view.close(),
  };
}

/** `run --json`: the one object printed on stdout. */
export function jsonResult(r: RunScenarioResult): Record<string, unknown> {
  const a = r.analysis;
  return {
    runId: r.runId,
    runDir: r.runDir,
    reportPath: r.reportPath ?? null,
    stoppedBy: r.stoppedBy,
    verdict: a?.verdict ?? null,
    verdictReasons: a?.verdictReasons ?? [],
    incomplete: a?.incomplete ?? null,
    slo: a?.slo ?? [],
    capacity: a?.capacity ?? null,
    leaks: a?.leaks ?? [],
    summary: r.summary,
  };
}
