// The report's content as neutral blocks, rendered by html.ts and markdown.ts alike so both say the same.
import type { AnalysisContract } from '../analysis/contract.ts';
import { fmtBytes, fmtBytesPerHour, fmtHours, fmtMs, fmtNum, fmtPct, fmtRps, fmtS, fmtSloValue } from './format.ts';
import type { ReportInput, RunMeta } from './types.ts';

export type Tone = 'pass' | 'fail' | 'warn' | 'info' | 'muted';
export interface Cell {
  text: string;
  tone?: Tone;
}
export type Block = { kind: 'p'; text: string; tone?: Tone } | { kind: 'table'; head: string[]; rows: Cell[][] } | { kind: 'kv'; rows: [string, string][] };
export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export const SECTION_IDS = ['validity', 'slo', 'capacity', 'leaks', 'recovery', 'bottlenecks', 'recommendations', 'metadata'] as const;

const c = (text: string, tone?: Tone): Cell => (tone ? { text, tone } : { text });
const statusTone = (s: string): Tone =>
  /^(pass|recovered)$/i.test(s)
    ? 'pass'
    : /^(fail|not-recovered|metastable|critical)$/i.test(s)
      ? 'fail'
      : /^(warn|warning|slow-recovery|shifted)$/i.test(s)
        ? 'warn'
        : 'muted';

export interface VerdictView {
  verdict: AnalysisContract['verdict'];
  headline: string;
  reasons: string[];
  incomplete: boolean;
}

const HEADLINES: Record<AnalysisContract['verdict'], string> = {
  pass: 'PASS — all checks met',
  fail: 'FAIL — the system under test missed its targets',
  invalid: 'INVALID — the run cannot judge the system under test',
  inconclusive: 'INCONCLUSIVE — not enough evidence for a verdict',
};

export function verdictView(a: AnalysisContract): VerdictView {
  return { verdict: a.verdict, headline: HEADLINES[a.verdict], reasons: a.verdictReasons, incomplete: a.incomplete };
}

function validity(a: AnalysisContract): Section {
  const blocks: Block[] = a.validity.valid
    ? [{ kind: 'p', text: 'The run is valid: the load generator kept up and the measurements are consistent.', tone: 'pass' }]
    : [{ kind: 'p', text: 'The run is INVALID: no verdict on the system under test can be drawn from it.', tone: 'fail' }];
  if (a.validity.problems.length) {
    blocks.push({
      kind: 'table',
      head: ['Problem', 'At', 'Observed', 'Limit', 'Detail'],
      rows: a.validity.problems.map((p) => [c(p.code, 'fail'), c(fmtS(p.atS)), c(fmtNum(p.observed, 3)), c(fmtNum(p.limit, 3)), c(p.message)]),
    });
  }
  return { id: 'validity', title: 'Validity', blocks };
}

function slo(a: AnalysisContract): Section {
  if (!a.slo.length)
    return { id: 'slo', title: 'Service-level objectives', blocks: [{ kind: 'p', text: 'No SLOs are configured for this scenario.', tone: 'muted' }] };
  const infeasible: Block[] = (a.feasibility ?? []).map((f) => ({
    kind: 'p',
    text: `Infeasible by design: ${f.message}. To make it feasible: ${f.fix}.`,
    tone: 'warn',
  }));
  return {
    id: 'slo',
    title: 'Service-level objectives',
    blocks: [
      {
        kind: 'table',
        head: ['Objective', 'Limit', 'Observed', 'Status'],
        rows: a.slo.map((s) => [
          c(s.name),
          c(fmtSloValue(s.limit, s.unit)),
          c(fmtSloValue(s.observed, s.unit)),
          c(s.status.toUpperCase(), statusTone(s.status)),
        ]),
      },
      ...infeasible,
      {
        kind: 'p',
        text: 'Judged over the steady windows (ramps and transients excluded); latency from merged per-second HDR histograms, throughput as goodput.',
        tone: 'muted',
      },
    ],
  };
}

function capacity(a: AnalysisContract): Section {
  const cap = a.capacity;
  const bp = cap.breakingPoint;
  const rows: [string, string][] = [
    ['Max sustained throughput', fmtRps(cap.maxThroughputRps)],
    ['Breaking point', bp ? `${fmtNum(bp.users, 0)} users at ${fmtRps(bp.throughputRps)} — ${bp.reason}` : 'none reached'],
    ['Efficiency knee', cap.knee ? `${fmtNum(cap.knee.users, 0)} users at ${fmtRps(cap.knee.throughputRps)}` : 'none found'],
  ];
  // what went first at the break, then the other signals in order (docs/ANALYSIS.md "failure mode")
  const fm = bp?.failureMode;
  if (fm) {
    rows.push(['Failure mode', fm.summary]);
    const later = fm.signals.slice(1);
    if (later.length) rows.push(['Then', later.map((s) => s.evidence).join('; ')]);
  }
  const u = cap.usl;
  if (u) {
    rows.push([
      'USL fit',
      `σ=${u.sigma.toFixed(4)} κ=${u.kappa.toExponential(2)} λ=${fmtNum(u.lambda, 2)} req/s/user, R²=${u.r2.toFixed(3)}, ${u.constrainedBy}-bound`,
    ]);
    rows.push([
      'USL peak',
      u.peak
        ? `${fmtNum(u.peak.users, 0)} users at ${fmtRps(u.peak.throughputRps)}${u.peakBeyondMeasuredRange ? ' (extrapolated beyond the measured range)' : ''}`
        : 'none (throughput still rising)',
    ]);
    // κ = 0 in some resamples: no peak at all, stored as the largest finite number
    const upper = u.ci95 && u.ci95.peakUsers[1] < 1e15 ? fmtNum(u.ci95.peakUsers[1], 0) : 'unbounded';
    if (u.ci95) rows.push(['USL peak users 95 % CI', `${fmtNum(u.ci95.peakUsers[0], 0)} – ${upper} (${u.bootstrapResamples} bootstrap resamples)`]);
    if (u.note) rows.push(['USL note', u.note]);
  } else rows.push(['USL fit', 'not fitted']);
  const blocks: Block[] = [{ kind: 'kv', rows }];
  for (const n of cap.notes) blocks.push({ kind: 'p', text: n, tone: 'muted' });
  return { id: 'capacity', title: 'Capacity', blocks };
}

function leaks(a: AnalysisContract): Section {
  if (!a.leaks.length)
    return { id: 'leaks', title: 'Memory leaks', blocks: [{ kind: 'p', text: 'No container memory samples: leak detection did not run.', tone: 'muted' }] };
  return {
    id: 'leaks',
    title: 'Memory leaks',
    blocks: [
      {
        kind: 'table',
        head: ['Service', 'Verdict', 'Kind', 'Slope', '95 % CI', 'Time to limit', 'Reason'],
        rows: a.leaks.map((l) => [
          c(l.service),
          c(l.verdict, statusTone(l.verdict)),
          c(l.kind),
          c(fmtBytesPerHour(l.slopeBytesPerHour)),
          c(l.ci95 ? `${fmtBytes(l.ci95[0])} … ${fmtBytes(l.ci95[1])}` : '—'),
          c(fmtHours(l.timeToLimitHours)),
          c(l.reason),
        ]),
      },
    ],
  };
}

function recovery(a: AnalysisContract): Section {
  const title = 'Recovery';
  if (!a.recovery.length) return { id: 'recovery', title, blocks: [{ kind: 'p', text: 'No spike or ladder recovery phase in this run.', tone: 'muted' }] };
  return {
    id: 'recovery',
    title,
    blocks: [
      {
        kind: 'p',
        text: 'Seconds from the end of the overload until p95 and error ratio are back within the band of the steady base and stay there for the hold (docs/ANALYSIS.md, Recovery).',
        tone: 'muted',
      },
      {
        kind: 'table',
        head: ['After', 'Overload', 'Recovery', 'Observed', 'Band p95', 'Overshoot', 'Verdict', 'Note'],
        rows: a.recovery.map((r) => [
          c(r.kind),
          c(`${fmtS(r.startS)} – ${fmtS(r.endS)}`),
          c(fmtS(r.recoveryS)),
          c(fmtS(r.observedS)),
          c(fmtMs(r.bandP95Ms)),
          c(r.overshoot === null ? '—' : `×${fmtNum(r.overshoot, 2)}`),
          c(r.verdict, statusTone(r.verdict)),
          c(r.note),
        ]),
      },
    ],
  };
}

function bottlenecks(a: AnalysisContract): Section {
  if (!a.bottlenecks.length) {
    const why = a.validity.valid ? 'No resource saturated during the run.' : 'Not attributed: the run is invalid.';
    return { id: 'bottlenecks', title: 'Bottlenecks', blocks: [{ kind: 'p', text: why, tone: 'muted' }] };
  }
  return {
    id: 'bottlenecks',
    title: 'Bottlenecks',
    blocks: [
      {
        kind: 'table',
        head: ['#', 'Resource', 'Role', 'Onset', 'SLO breach', 'Lead', 'Coverage', 'r', 'Evidence'],
        rows: a.bottlenecks.map((b) => [
          c(String(b.rank)),
          c(b.resource),
          c(b.role, b.role === 'PRIMARY' ? 'fail' : b.role === 'CONTRIBUTING' ? 'warn' : 'muted'),
          c(fmtS(b.evidence.onsetS)),
          c(fmtS(b.evidence.breachOnsetS)),
          c(fmtS(b.evidence.leadS)),
          c(fmtPct(b.evidence.coverage, 0)),
          c(b.evidence.r === null ? '—' : `${b.evidence.r.toFixed(2)}${b.evidence.significant ? ' *' : ''}`),
          c(b.evidence.detail),
        ]),
      },
      {
        kind: 'p',
        text: 'Lead = seconds the saturation began before the SLO breach; r = lagged correlation with p95 after differencing (* significant).',
        tone: 'muted',
      },
    ],
  };
}

function recommendations(a: AnalysisContract): Section {
  if (!a.recommendations.length)
    return {
      id: 'recommendations',
      title: 'Recommendations',
      blocks: [{ kind: 'p', text: 'No recommendations: nothing in this run called for action.', tone: 'muted' }],
    };
  return {
    id: 'recommendations',
    title: 'Recommendations',
    blocks: [
      {
        kind: 'table',
        head: ['Severity', 'Recommendation', 'Based on'],
        rows: a.recommendations.map((r) => [c(r.severity.toUpperCase(), statusTone(r.severity)), c(r.text), c(r.basedOn)]),
      },
    ],
  };
}

function metadata(m: RunMeta, input: ReportInput): Section {
  const dash = (s: string | null | number): string => (s === null || s === '' ? '—' : String(s));
  const durationS = m.startedAt && m.endedAt ? (Date.parse(m.endedAt) - Date.parse(m.startedAt)) / 1000 : null;
  const rows: [string, string][] = [
    ['Run id', m.runId],
    ['Scenario', m.scenario],
    ['Shape', dash(m.shape)],
    ['Time scale', m.timeScale === null ? '—' : `×${m.timeScale}`],
    ['Started', dash(m.startedAt)],
    ['Ended', m.endedAt ?? 'never (run killed)'],
    ['Wall time', fmtS(durationS)],
    ['Stopped by', dash(m.stoppedBy)],
    ['Target', dash(m.target)],
    ['Mode', dash(m.mode)],
    ['Host', dash(m.host)],
    ['Seconds recorded', String(input.record.series.length)],
    [
      'Versions',
      Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '—',
    ],
  ];
  if (input.generatedAt) rows.push(['Report generated', input.generatedAt]);
  const blocks: Block[] = [{ kind: 'kv', rows }];
  if (m.incompleteReasons.length) blocks.push({ kind: 'p', text: `Incomplete run: ${m.incompleteReasons.join('; ')}.`, tone: 'warn' });
  return { id: 'metadata', title: 'Run metadata', blocks };
}

export function buildSections(input: ReportInput): Section[] {
  const a = input.analysis;
  return [validity(a), slo(a), capacity(a), leaks(a), recovery(a), bottlenecks(a), recommendations(a), metadata(input.meta, input)];
}
