// junit.xml: every SLO and every verdict (validity, leaks per service, recovery after spikes and ladders, breaking point, overall) as a
// <testcase>, so CI systems show a load test like a test suite. Failures carry a message; no-data is skipped.
import type { AnalysisContract } from '../analysis/contract.ts';
import { escapeXml as x, fmtNum, fmtSloValue } from './format.ts';
import type { ReportInput } from './types.ts';

interface Case {
  classname: string;
  name: string;
  failure?: { message: string; body?: string };
  skipped?: string;
  out?: string;
}

function cases(a: AnalysisContract): Case[] {
  const out: Case[] = [];
  const overall: Case = { classname: 'verdict', name: `verdict is pass (was ${a.verdict})`, out: a.verdictReasons.join('\n') };
  if (a.verdict === 'fail' || a.verdict === 'invalid')
    overall.failure = { message: `verdict ${a.verdict}: ${a.verdictReasons[0] ?? ''}`, body: a.verdictReasons.join('\n') };
  else if (a.verdict === 'inconclusive') overall.skipped = `inconclusive: ${a.verdictReasons.join('; ')}`;
  out.push(overall);

  const validity: Case = { classname: 'validity', name: 'run is valid (generator kept up, measurements consistent)' };
  if (!a.validity.valid)
    validity.failure = {
      message: a.validity.problems.map((p) => p.message).join('; ') || 'invalid run',
      body: a.validity.problems.map((p) => `${p.code}: ${p.message}`).join('\n'),
    };
  out.push(validity);

  for (const s of a.slo) {
    const c: Case = { classname: 'slo', name: s.name, out: `observed ${fmtSloValue(s.observed, s.unit)}, limit ${fmtSloValue(s.limit, s.unit)}` };
    if (s.status === 'fail') c.failure = { message: `${s.name}: observed ${fmtSloValue(s.observed, s.unit)}` };
    if (s.status === 'no-data') c.skipped = `${s.name}: no data in the steady window`;
    out.push(c);
  }
  for (const l of a.leaks) {
    const c: Case = { classname: 'leak', name: `no memory leak in ${l.service}`, out: `${l.verdict} (${l.kind}): ${l.reason}` };
    if (l.verdict === 'FAIL') c.failure = { message: `leak in ${l.service}: ${l.reason}` };
    if (l.verdict === 'INCONCLUSIVE') c.skipped = `inconclusive: ${l.reason}`;
    out.push(c);
  }
  for (const r of a.recovery) {
    const what = r.kind === 'spike' ? `the spike at ${fmtNum(r.startS, 0)} s` : `the ladder (recovery phase from ${fmtNum(r.endS, 0)} s)`;
    const c: Case = { classname: 'recovery', name: `recovers from ${what}`, out: `${r.verdict}: ${r.note}` };
    if (r.verdict === 'metastable' || r.verdict === 'not-recovered') c.failure = { message: `${what}: ${r.verdict}: ${r.note}` };
    // judged on what was observed: too short a window is skipped, never failed
    if (r.verdict === 'no-data' || r.verdict === 'inconclusive') c.skipped = `${r.verdict}: ${r.note}`;
    out.push(c);
  }
  // informational: finding the breaking point is what a stress test is for, so it never fails by itself
  const bp = a.capacity.breakingPoint;
  out.push({
    classname: 'capacity',
    name: 'breaking point',
    out: bp ? `breaking point at ${fmtNum(bp.users, 0)} users, ${fmtNum(bp.throughputRps)} req/s: ${bp.reason}` : 'none reached',
  });
  return out;
}

function testcase(c: Case, scenario: string): string {
  const attrs = `classname="${x(`loadscope.${scenario}.${c.classname}`)}" name="${x(c.name)}" time="0"`;
  const inner: string[] = [];
  if (c.failure) inner.push(`<failure message="${x(c.failure.message)}" type="${x(c.classname)}">${x(c.failure.body ?? c.failure.message)}</failure>`);
  if (c.skipped) inner.push(`<skipped message="${x(c.skipped)}"/>`);
  if (c.out) inner.push(`<system-out>${x(c.out)}</system-out>`);
  return inner.length ? `    <testcase ${attrs}>\n      ${inner.join('\n      ')}\n    </testcase>` : `    <testcase ${attrs}/>`;
}

export function renderJunit(input: ReportInput): string {
  const a = input.analysis;
  const cs = cases(a);
  const failures = cs.filter((c) => c.failure).length;
  const skipped = cs.filter((c) => c.skipped).length;
  const m = input.meta;
  const durationS = m.startedAt && m.endedAt ? Math.max(0, (Date.parse(m.endedAt) - Date.parse(m.startedAt)) / 1000) : input.record.series.length;
  const ts = m.startedAt ? ` timestamp="${x(m.startedAt.replace(/Z$/, ''))}"` : '';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="loadscope" tests="${cs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${durationS.toFixed(3)}">`,
    `  <testsuite name="${x(`loadscope.${a.scenario}`)}" tests="${cs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${durationS.toFixed(3)}"${ts} hostname="${x(m.host ?? 'localhost')}">`,
    `    <properties><property name="runId" value="${x(m.runId)}"/><property name="verdict" value="${x(a.verdict)}"/><property name="incomplete" value="${a.incomplete}"/></properties>`,
    ...cs.map((c) => testcase(c, a.scenario)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
