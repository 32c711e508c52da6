// Failure mode of a breaking step: what went first — a container gone (OOM / crash), the app's DB pool at its
// maximum, a container's CPU at its limit, the host's CPU full, connection errors, timeouts, HTTP 5xx, or latency
// alone (queueing) — each with the second it started and the values seen then. docs/ANALYSIS.md "Capacity /
// breaking point / failure mode".
import { isFresh } from './freshness.ts';
import { MIN_OUTSIDE_SHARE, outsideCores } from './host-contention.ts';
import { threadSaturated, threadText } from './thread-demand.ts';
import { REFERENCE_APP_NAME } from '../config/defaults.ts';
import { ALL_ENDPOINTS, type HistogramIndex } from './histograms.ts';
import type { ContainerPoint, RunEvent, SeriesPoint, WindowS } from './types.ts';

export type FailureKind = 'oom' | 'container-died' | 'db-pool' | 'cpu' | 'host-cpu' | 'connection-errors' | 'timeouts' | '5xx' | 'latency';

export interface FailureSignal {
  kind: FailureKind;
  /** Container or app the signal belongs to, when it has one. */
  service: string | null;
  /** First second of the signal (elapsed s). */
  atS: number;
  evidence: string;
}

export interface FailureModeOptions {
  /** Epoch ms of elapsedS 0 (RunRecord.startMs): places the events on the series' axis. */
  startMs: number;
  p95Ms?: number;
  errorRatio: number;
  /** application_name of the app's DB pool. Default REFERENCE_APP_NAME (config/defaults.ts). */
  appName?: string;
  poolMax?: number;
  /** Share of the CPU limit counted as saturated. Default 0.9 (the bottleneck predicate, docs/ANALYSIS.md Bottlenecks). */
  cpuUtil?: number;
  throttledRatio?: number;
  /** Cores of the host the generator runs on (the manifest's generatorCores): the host-CPU signal needs them. */
  hostCores?: number;
}

/** Seconds a resource signal may trail the first symptom and still count as first (1-Hz samplers lag). */
export const SAMPLER_LAG_S = 5;
/** Consecutive seconds a per-second predicate must hold (one noisy second is not an onset). */
const SUSTAIN_S = 2;

const RESOURCE: ReadonlySet<FailureKind> = new Set(['oom', 'container-died', 'db-pool', 'cpu', 'host-cpu']);
const ORDER: readonly FailureKind[] = ['oom', 'container-died', 'db-pool', 'cpu', 'host-cpu', 'connection-errors', 'timeouts', '5xx', 'latency'];

const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;

/** First index where `pred` holds for SUSTAIN_S consecutive points. */
function onset(pts: readonly SeriesPoint[], pred: (p: SeriesPoint) => boolean): number {
  let run = 0;
  for (let i = 0; i < pts.length; i++) {
    run = pred(pts[i]!) ? run + 1 : 0;
    if (run >= SUSTAIN_S) return i - SUSTAIN_S + 1;
  }
  return -1;
}

function errorSignals(pts: readonly SeriesPoint[], o: FailureModeOptions): FailureSignal[] {
  const out: FailureSignal[] = [];
  const kinds: [string, FailureKind, string][] = [
    ['connection', 'connection-errors', 'connection errors'],
    ['timeout', 'timeouts', 'timeouts'],
    ['5xx', '5xx', 'HTTP 5xx'],
  ];
  for (const [key, kind, what] of kinds) {
    const ratio = (p: SeriesPoint): number => Number(p.total.errors[key] ?? 0) / Math.max(1, p.total.count);
    const i = onset(pts, (p) => Number(p.total.errors[key] ?? 0) > 0 && ratio(p) > o.errorRatio);
    if (i < 0) continue;
    const p = pts[i]!;
    out.push({
      kind,
      service: null,
      atS: p.elapsedS,
      evidence: `${what}: ${Number(p.total.errors[key])} of ${p.total.count} requests (${pct(ratio(p))}) at t=${p.elapsedS} s, above the ${pct(o.errorRatio)} limit`,
    });
  }
  return out;
}

function resourceSignals(pts: readonly SeriesPoint[], o: FailureModeOptions): FailureSignal[] {
  const out: FailureSignal[] = [];
  const services = new Set<string>();
  for (const p of pts) for (const s of Object.keys(p.containers ?? {})) services.add(s);
  for (const svc of [...services].sort()) {
    const c = (p: SeriesPoint) => p.containers?.[svc];
    const atLimit = (x: ContainerPoint): boolean => (x.cpuLimitUtilization ?? 0) >= (o.cpuUtil ?? 0.9) || (x.throttledRatio ?? 0) >= (o.throttledRatio ?? 0.25);
    // or one thread wanting a core all the time: a single-threaded runtime at its limit whatever the container's limit
    const i = onset(pts, (p) => {
      const x = c(p);
      return !!x && isFresh(x) && (atLimit(x) || threadSaturated(x));
    });
    if (i < 0) continue;
    const x = c(pts[i]!)!;
    const limit = x.cpuLimitCores !== null ? `${pct(x.cpuLimitUtilization ?? 0)} of a ${x.cpuLimitCores}-core limit` : 'no limit';
    const thread = threadSaturated(x) ? `, ${threadText(x)}` : '';
    out.push({
      kind: 'cpu',
      service: svc,
      atS: pts[i]!.elapsedS,
      evidence: `${svc} CPU ${x.cpuCores?.toFixed(2) ?? '?'} cores (${limit}, throttled ${pct(x.throttledRatio ?? 0)}${thread}) at t=${pts[i]!.elapsedS} s`,
    });
  }
  const app = o.appName ?? REFERENCE_APP_NAME;
  const busy = (p: SeriesPoint): { busy: number; max: number | undefined; pending: number } | null => {
    if (p.pool) return { busy: p.pool.active, max: p.pool.max, pending: p.pool.pending };
    const st = p.postgres?.connectionsByApp[app];
    if (!st) return null;
    return { busy: Object.entries(st).reduce((n, [k, v]) => (k === 'idle' ? n : n + v), 0), max: o.poolMax, pending: 0 };
  };
  const i = onset(pts, (p) => {
    const b = busy(p);
    return b !== null && ((b.max !== undefined && b.busy >= b.max) || b.pending > 0);
  });
  if (i >= 0) {
    const b = busy(pts[i]!)!;
    out.push({
      kind: 'db-pool',
      service: app,
      atS: pts[i]!.elapsedS,
      evidence: `${app} DB pool: ${b.busy} busy connections${b.max !== undefined ? ` of ${b.max} (pool max)` : ''}${b.pending > 0 ? `, ${b.pending} requests waiting` : ''} at t=${pts[i]!.elapsedS} s`,
    });
  }
  return out;
}

/**
 * The host's CPU full (≥ cpuUtil of its cores): on loopback the system under test shares the host with the generator,
 * and a container without a CPU limit is bounded by the host alone. Who used it is told where it was sampled: the
 * stack's containers, the generator, and the rest (work outside both) in stack mode; in attach mode the system under
 * test is part of the rest (host-contention.ts).
 */
function hostSignal(pts: readonly SeriesPoint[], o: FailureModeOptions): FailureSignal | null {
  const cores = o.hostCores;
  if (!(cores !== undefined && cores > 0)) return null;
  const i = onset(pts, (p) => typeof p.host?.cpuUtilization === 'number' && p.host.cpuUtilization >= (o.cpuUtil ?? 0.9));
  if (i < 0) return null;
  const p = pts[i]!;
  const used = p.host!.cpuUtilization! * cores;
  const gen = p.generator.cpuCores;
  const outside = outsideCores(p, cores);
  const genText = gen !== null ? `the load generator ${gen.toFixed(2)}` : 'the load generator not sampled';
  let whose: string;
  if (outside !== null) {
    const stack = Math.max(0, used - (gen ?? 0) - outside);
    const other = outside >= MIN_OUTSIDE_SHARE * cores ? ' — other work on the host took a share: rerun on a quiet machine' : '';
    whose = `the stack's containers ${stack.toFixed(2)}, ${genText}, work outside both ${outside.toFixed(2)}${other}`;
  } else {
    const rest = Math.max(0, used - (gen ?? 0));
    whose = `${genText}, the rest ${rest.toFixed(2)} (the system under test and any other work: not told apart without the stack's containers)`;
  }
  return {
    kind: 'host-cpu',
    service: null,
    atS: p.elapsedS,
    evidence: `host CPU ${pct(p.host!.cpuUtilization!)} of ${cores} cores at t=${p.elapsedS} s: ${whose}`,
  };
}

function containerSignals(events: readonly RunEvent[], t0Ms: number, w: WindowS): FailureSignal[] {
  const out: FailureSignal[] = [];
  for (const e of events) {
    const k = e.kind.replace(/^stack-/, '');
    if (k !== 'container-oom' && k !== 'container-died') continue;
    const atS = Math.round((e.tMs - t0Ms) / 100) / 10;
    if (atS < w.fromS - 1 || atS > w.toS + 1) continue;
    const oom = k === 'container-oom' || e.oomKilled === true;
    const svc = String(e.service ?? '');
    out.push({ kind: oom ? 'oom' : 'container-died', service: svc, atS, evidence: `${svc} ${oom ? 'OOM-killed' : 'died'} at t=${atS} s` });
  }
  return out;
}

/** Every signal seen in `w`, by onset; the failure mode is `signals[0]` (see the ordering rule below). */
export function failureSignals(
  series: readonly SeriesPoint[],
  hist: HistogramIndex,
  events: readonly RunEvent[],
  w: WindowS,
  o: FailureModeOptions,
): FailureSignal[] {
  const pts = series.filter((p) => p.elapsedS >= w.fromS && p.elapsedS <= w.toS && p.activeUsers > 0);
  const host = hostSignal(pts, o);
  const all = [...containerSignals(events, o.startMs, w), ...resourceSignals(pts, o), ...(host ? [host] : []), ...errorSignals(pts, o)];
  if (o.p95Ms !== undefined) {
    const p95 = (p: SeriesPoint): number | null => hist.stats(ALL_ENDPOINTS, { fromS: p.elapsedS, toS: p.elapsedS })?.p95Ms ?? null;
    const i = onset(pts, (p) => (p95(p) ?? 0) > o.p95Ms!);
    if (i >= 0)
      all.push({
        kind: 'latency',
        service: null,
        atS: pts[i]!.elapsedS,
        evidence: `p95 ${p95(pts[i]!)!.toFixed(0)} ms at t=${pts[i]!.elapsedS} s, above the ${o.p95Ms} ms limit`,
      });
  }
  // A saturated resource is the cause of the symptoms it produces: it counts as first when its (1-Hz sampled) onset
  // trails the first symptom by at most SAMPLER_LAG_S. Otherwise the earliest signal wins; ties by ORDER.
  const firstSymptomS = Math.min(...all.filter((s) => !RESOURCE.has(s.kind)).map((s) => s.atS));
  const key = (s: FailureSignal): number => (RESOURCE.has(s.kind) && s.atS <= firstSymptomS + SAMPLER_LAG_S ? Math.min(s.atS, firstSymptomS) : s.atS);
  const sorted = all.sort((a, b) => key(a) - key(b) || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.atS - b.atS);
  // the host is shared: a resource of the system itself that counts as first names the failure before it (a host
  // full from the step's first second, as any loaded step on a small machine is, would otherwise lead them all)
  const own = sorted.findIndex((s) => RESOURCE.has(s.kind) && s.kind !== 'host-cpu');
  const symptom = sorted.findIndex((s) => !RESOURCE.has(s.kind));
  const hostAt = sorted.findIndex((s) => s.kind === 'host-cpu');
  if (own >= 0 && (symptom < 0 || own < symptom) && hostAt >= 0 && hostAt < own) sorted.splice(own, 0, ...sorted.splice(hostAt, 1));
  return sorted;
}

const NAMES: Record<FailureKind, string> = {
  oom: 'out of memory',
  'container-died': 'container died',
  'db-pool': 'DB connection pool exhausted',
  cpu: 'CPU at its limit',
  'host-cpu': 'host CPU saturated',
  'connection-errors': 'connection errors',
  timeouts: 'timeouts',
  '5xx': 'HTTP 5xx errors',
  latency: 'latency (queueing: no errors, no saturated resource sampled)',
};

/** One line for people: "DB connection pool exhausted (archiveorigin): <evidence>". */
export function describeFailure(s: FailureSignal | null): string {
  if (!s) return 'no failure signal in the series';
  const name = s.kind === 'cpu' ? `${s.service} CPU at its limit` : NAMES[s.kind];
  return `${name} — ${s.evidence}`;
}
