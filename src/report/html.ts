// report.html: one self-contained page (inlined uPlot, inline data, a CSP that blocks every fetch), readable
// offline and safe to attach to a ticket. Every string from the run is escaped.
import { buildCharts } from './charts.ts';
import { CHART_SCRIPT } from './chart-script.ts';
import { escapeHtml as h, fmtNum, fmtPct, fmtRps } from './format.ts';
import { buildSections, verdictView, type Block, type Cell, type Section } from './sections.ts';
import type { ChartAssets, ReportInput } from './types.ts';
import { jsonForScript } from './format.ts';
import { ERROR_KINDS } from '../analysis/types.ts';

// Nothing may be fetched: scripts and styles are inline, images only data: URIs.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
:root{--fg:#1f2630;--muted:#5b6573;--line:#e3e6eb;--bg:#f4f5f7;--card:#fff;--pass:#1a7f37;--fail:#c4162a;--warn:#b26b00;--info:#3274d9;--invalid:#6e40c9;--inconclusive:#5b6573}
*{box-sizing:border-box}
body{margin:0;font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{background:#161b22;color:#e6edf3;padding:10px 24px;display:flex;gap:16px;align-items:baseline}
header.top .brand{font-weight:700;letter-spacing:.04em}
header.top .run{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;color:#9da7b3;font-size:12px}
main{max-width:1320px;margin:0 auto;padding:16px 24px 40px}
.banner{border-radius:6px;padding:14px 18px;color:#fff;display:grid;grid-template-columns:1fr auto;gap:12px;align-items:start}
.banner.pass{background:var(--pass)}.banner.fail{background:var(--fail)}.banner.invalid{background:var(--invalid)}.banner.inconclusive{background:var(--inconclusive)}
.banner h1{margin:0;font-size:20px;letter-spacing:.01em}
.banner ul{margin:6px 0 0;padding-left:18px}
.banner .chip{display:inline-block;margin-left:10px;padding:2px 8px;border-radius:10px;background:#fff;color:var(--fail);font-size:11px;font-weight:700;vertical-align:middle;letter-spacing:.05em}
.figures{display:grid;grid-template-columns:repeat(5,minmax(96px,auto));gap:8px}
.fig{background:rgba(255,255,255,.14);border-radius:4px;padding:6px 10px;text-align:right}
.fig b{display:block;font-size:16px}.fig span{font-size:11px;opacity:.85}
nav.toc{margin:12px 0;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:12px}
nav.toc a{color:var(--info);text-decoration:none}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 14px 12px;margin-top:12px}
.grid .card{margin-top:0}
.card h2{font-size:14px;margin:0 0 8px;letter-spacing:.01em}
.card h3{font-size:12.5px;margin:0 0 6px;color:var(--muted);font-weight:600}
.chart{min-height:230px}.chart-empty{display:flex;align-items:center;justify-content:center;color:var(--muted);background:#fafbfc;border:1px dashed var(--line);border-radius:4px;min-height:120px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{font-weight:600;color:var(--muted);background:#fafbfc;white-space:nowrap}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:220px;background:none}
.t-pass{color:var(--pass);font-weight:700}.t-fail{color:var(--fail);font-weight:700}.t-warn{color:var(--warn);font-weight:700}.t-info{color:var(--info)}.t-muted{color:var(--muted)}
p{margin:6px 0}
footer{color:var(--muted);font-size:11px;margin-top:18px}
.u-legend{font-size:11.5px}.u-legend .u-marker{width:10px;height:3px}
@media (max-width:900px){.grid{grid-template-columns:1fr}.banner{grid-template-columns:1fr}}
@media print{header.top{background:#fff;color:#000}.chart{break-inside:avoid}}
`;

const toneClass = (c: Cell | { tone?: string }): string => (c.tone ? ` class="t-${c.tone}"` : '');
const looksNumeric = (s: string): boolean => /^[-+×]?[\d,.]+( ?[%a-zA-Z/]+)?$/.test(s) || s === '—';

function block(b: Block): string {
  switch (b.kind) {
    case 'p':
      return `<p${toneClass(b)}>${h(b.text)}</p>`;
    case 'kv':
      return `<table class="kv"><tbody>${b.rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${h(v)}</td></tr>`).join('')}</tbody></table>`;
    case 'table': {
      const head = `<thead><tr>${b.head.map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead>`;
      const rows = b.rows
        .map(
          (r) =>
            `<tr>${r.map((c) => `<td${c.tone ? ` class="t-${c.tone}${looksNumeric(c.text) ? ' num' : ''}"` : looksNumeric(c.text) ? ' class="num"' : ''}>${h(c.text)}</td>`).join('')}</tr>`,
        )
        .join('');
      return `<table>${head}<tbody>${rows}</tbody></table>`;
    }
  }
}

const section = (s: Section): string => `<section class="card" id="${h(s.id)}"><h2>${h(s.title)}</h2>${s.blocks.map(block).join('\n')}</section>`;

function figures(input: ReportInput): [string, string][] {
  const a = input.analysis;
  let requests = 0;
  let errors = 0;
  let peakUsers = 0;
  for (const p of input.record.series) {
    requests += p.total.count;
    for (const k of ERROR_KINDS) errors += Number.isFinite(p.total.errors[k]) ? p.total.errors[k]! : 0;
    peakUsers = Math.max(peakUsers, p.activeUsers);
  }
  const p95 = a.slo.find((s) => s.name.startsWith('p95 '));
  return [
    ['peak users', fmtNum(peakUsers, 0)],
    ['requests', fmtNum(requests, 0)],
    ['error ratio (all)', requests ? fmtPct(errors / requests) : '—'],
    [p95 ? 'p95 steady' : 'max throughput', p95 ? (p95.observed === null ? '—' : `${fmtNum(p95.observed)} ms`) : fmtRps(a.capacity.maxThroughputRps)],
    ['breaking point', a.capacity.breakingPoint ? `${fmtNum(a.capacity.breakingPoint.users, 0)} users` : 'none reached'],
  ];
}

function banner(input: ReportInput): string {
  const v = verdictView(input.analysis);
  const chip = v.incomplete ? '<span class="chip" id="incomplete-marker">INCOMPLETE RUN</span>' : '';
  const reasons = [...v.reasons, ...(v.incomplete ? input.meta.incompleteReasons.map((r) => `incomplete: ${r}`) : [])];
  const list = reasons.length ? `<ul>${reasons.map((r) => `<li>${h(r)}</li>`).join('')}</ul>` : '';
  const figs = figures(input)
    .map(([k, val]) => `<div class="fig"><b>${h(val)}</b><span>${h(k)}</span></div>`)
    .join('');
  return `<section class="banner ${v.verdict}" id="verdict" data-verdict="${v.verdict}"><div><h1>${h(v.headline)}${chip}</h1>${list}</div><div class="figures">${figs}</div></section>`;
}

/** The whole report page. `assets` is the charting library's JS and CSS text, inlined verbatim. */
export function renderHtml(input: ReportInput, assets: ChartAssets): string {
  const a = input.analysis;
  const charts = buildCharts(a, input.record, input.appName);
  const sections = buildSections(input);
  const chartCards = charts.map((c) => `<div class="card"><h3>${h(c.title)}</h3><div class="chart" id="chart-${h(c.id)}"></div></div>`).join('\n');
  const toc = [['verdict', 'Verdict'], ['charts', 'Charts'], ...sections.map((s) => [s.id, s.title])]
    .map(([id, t]) => `<a href="#${h(id!)}">${h(t!)}</a>`)
    .join('');
  // a `</script>` inside the library text would end the inline block early
  const js = assets.js.replace(/<\/script/gi, '<\\/script');
  const css = assets.css.replace(/<\/style/gi, '<\\/style');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(`${a.verdict.toUpperCase()} · ${a.scenario} · ${input.meta.runId} — loadscope`)}</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body>
<header class="top"><span class="brand">loadscope</span><span>run report · ${h(a.scenario)}</span><span class="run">${h(input.meta.runId)}</span></header>
<main>
${banner(input)}
<nav class="toc">${toc}</nav>
<section id="charts" class="grid">
${chartCards}
</section>
${sections.map(section).join('\n')}
<footer>Generated by loadscope${input.generatedAt ? ` at ${h(input.generatedAt)}` : ''}. Self-contained: charts drawn with the inlined uPlot; nothing is fetched.</footer>
</main>
<script type="application/json" id="chart-data">${jsonForScript(charts)}</script>
<script>${js}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
