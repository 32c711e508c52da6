// report.md: the same sections as report.html, for PR comments and terminals (charts stay in the HTML).
import { escapeMd as md } from './format.ts';
import { buildSections, verdictView, type Block } from './sections.ts';
import type { ReportInput } from './types.ts';
import { failureMode, NO_CORRELATED_SIGNAL, type Incident } from '../analysis/incidents.ts';

const ICON: Record<string, string> = { pass: '✅', fail: '❌', invalid: '⛔', inconclusive: '❔' };

function block(b: Block): string {
  switch (b.kind) {
    case 'p':
      return b.tone === 'fail' || b.tone === 'warn' ? `**${md(b.text)}**` : b.tone === 'muted' ? `_${md(b.text)}_` : md(b.text);
    case 'kv':
      return ['| | |', '|---|---|', ...b.rows.map(([k, v]) => `| **${md(k)}** | ${md(v)} |`)].join('\n');
    case 'table':
      return [
        `| ${b.head.map(md).join(' | ')} |`,
        `|${b.head.map(() => '---').join('|')}|`,
        ...b.rows.map((r) => `| ${r.map((c) => (c.tone === 'fail' || c.tone === 'pass' ? `**${md(c.text)}**` : md(c.text))).join(' | ')} |`),
      ].join('\n');
  }
}

export function renderMarkdown(input: ReportInput): string {
  const v = verdictView(input.analysis);
  const out: string[] = [`# loadscope report: ${md(input.analysis.scenario)} (${md(input.meta.runId)})`, ''];
  out.push(`## ${ICON[v.verdict]} Verdict: ${md(v.headline)}${v.incomplete ? ' — ⚠️ **INCOMPLETE RUN**' : ''}`, '');
  for (const r of v.reasons) out.push(`- ${md(r)}`);
  if (v.incomplete) for (const r of input.meta.incompleteReasons) out.push(`- incomplete: ${md(r)}`);
  if (v.reasons.length || v.incomplete) out.push('');
  const incidents = input.analysis.incidents ?? [];
  if (incidents.length) {
    const mode = failureMode(incidents as Incident[]);
    if (mode) out.push(`**Failure mode: ${md(mode.kind)}** — ${md(mode.message)}`, '');
    out.push('## Incidents', '', '| At | Kind | Service | What |', '|---|---|---|---|');
    for (const i of incidents) out.push(`| ${i.atS} s | ${md(i.kind)} | ${md(i.service)} | ${md(i.message)} |`);
    out.push('');
    // each tail episode with the evidence recorded at that moment, most likely cause first
    for (const i of (incidents as Incident[]).filter((x) => x.cause !== undefined)) {
      out.push(`**${md(i.kind)} ${i.atS}–${i.endS ?? i.atS} s**: ${i.evidence?.length ? 'evidence, most likely cause first' : md(NO_CORRELATED_SIGNAL)}`, '');
      for (const e of i.evidence ?? []) out.push(`- ${md(e.signal)} (score ${e.score.toFixed(1)}): ${md(e.message)}`);
      if (i.evidence?.length) out.push('');
    }
  }
  for (const s of buildSections(input)) {
    out.push(`## ${md(s.title)}`, '');
    for (const b of s.blocks) out.push(block(b), '');
  }
  out.push('_Charts: see report.html in the same run directory._', '');
  return out.join('\n');
}
