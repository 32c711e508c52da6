import { describe, expect, it } from 'vitest';
import type { AnalysisContract } from '../analysis/contract.ts';
import type { Comparison } from '../analysis/compare.ts';
import { formatComparison } from './compare-table.ts';
import { escapeHtml, escapeMd, escapeXml, fmtHours, fmtNum, jsonForScript } from './format.ts';
import { HOSTILE_NAME, syntheticRecord } from './testing/synthetic-run.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { SECTION_IDS } from './sections.ts';
import type { ReportInput } from './types.ts';

const EVIL = HOSTILE_NAME;
const ASSETS = { js: '/* fake uPlot */ window.uPlot = function () {};', css: '.u-legend{}' };

function analysis(over: Partial<AnalysisContract> = {}): AnalysisContract {
  return {
    scenario: `stress${EVIL}`,
    verdict: 'fail',
    verdictReasons: [`SLO p95 <= 50: observed 80 ${EVIL}`],
    incomplete: false,
    validity: { valid: true, problems: [] },
    slo: [
      { name: 'p95 <= 50', limit: 50, observed: 80, unit: 'ms', status: 'fail' },
      { name: 'errorRatio <= 0.01', limit: 0.01, observed: 0.001, unit: 'ratio', status: 'pass' },
      { name: `${EVIL}.p99 <= 100`, limit: 100, observed: null, unit: 'ms', status: 'no-data' },
    ],
    capacity: {
      maxThroughputRps: 48,
      breakingPoint: { users: 50, throughputRps: 48, reason: 'p95 > 50 ms', phase: 'step-5:50' },
      knee: null,
      usl: null,
      notes: ['knee: none'],
    },
    leaks: [{ service: `app${EVIL}`, verdict: 'FAIL', kind: 'FAIL_LEAK', slopeBytesPerHour: 2e9, ci95: [1.9e9, 2.1e9], timeToLimitHours: 0.2, reason: 'leak' }],
    recovery: [
      {
        kind: 'spike',
        startS: 120,
        endS: 180,
        observedS: 60,
        recoveryS: 30,
        holdS: 20,
        baselineP95Ms: 10,
        bandP95Ms: 14,
        peakP95Ms: 42,
        overshoot: 3.2,
        verdict: 'recovered',
        note: 'ok',
      },
      {
        kind: 'spike',
        startS: 300,
        endS: 360,
        observedS: 240,
        recoveryS: null,
        holdS: 30,
        baselineP95Ms: 10,
        bandP95Ms: 14,
        peakP95Ms: 100,
        overshoot: 9,
        verdict: 'metastable',
        note: `stuck ${EVIL}`,
      },
    ],
    bottlenecks: [
      {
        resource: `cpu:app${EVIL}`,
        rank: 1,
        role: 'PRIMARY',
        evidence: { onsetS: 200, breachOnsetS: 240, leadS: 40, coverage: 0.9, lagS: 2, r: 0.8, significant: true, peak: 0.97, detail: `cpu ${EVIL}` },
      },
    ],
    recommendations: [{ id: 'cpu:app', severity: 'critical', text: `Raise CPU ${EVIL}`, basedOn: EVIL }],
    ...over,
  };
}

const input = (a: AnalysisContract = analysis(), incompleteReasons: string[] = []): ReportInput => ({
  analysis: a,
  record: syntheticRecord({ hostile: true, secondsPerStep: 5 }),
  meta: {
    runId: `run${EVIL}`,
    scenario: 'stress',
    shape: 'steps',
    timeScale: 1,
    startedAt: '2024-01-01T00:00:00.000Z',
    endedAt: a.incomplete ? null : '2024-01-01T00:08:00.000Z',
    stoppedBy: a.incomplete ? null : 'completed',
    target: 'http://127.0.0.1:8000',
    host: 'ci',
    mode: 'attach',
    versions: { node: 'v20' },
    incompleteReasons,
  },
  generatedAt: '2024-01-01T01:00:00.000Z',
});

/** Tiny XML well-formedness check: balanced tags, quoted attributes, only the five entities, one root. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of body.matchAll(re)) {
    if (m[6]) throw new Error(`stray < at ${m.index}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(m[5])) throw new Error(`bad entity in ${m[5].slice(0, 40)}`);
      if (!stack.length && m[5].trim()) throw new Error('text outside the root');
      continue;
    }
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(m[3] ?? '')) throw new Error(`bad entity in attributes of ${m[2]}`);
    if (m[1]) {
      if (stack.pop() !== m[2]) throw new Error(`mismatched </${m[2]}>`);
    } else if (!m[4]) {
      if (!stack.length) roots++;
      stack.push(m[2]!);
    } else if (!stack.length) roots++;
  }
  if (stack.length || roots !== 1) throw new Error(`unbalanced: open ${stack.join(',')}, roots ${roots}`);
}

describe('escaping', () => {
  it('escapes HTML, XML, Markdown and script JSON', () => {
    expect(escapeHtml(`<a href="x">'&`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;');
    expect(escapeXml('a\u0001b<')).toBe('ab&lt;');
    expect(escapeMd('a|b *c* <img> p95 <= 5')).toBe('a\\|b \\*c\\* &lt;img> p95 <= 5');
    expect(jsonForScript({ n: '</script><!--' })).not.toContain('<');
    expect(JSON.parse(jsonForScript({ n: '</script>' }))).toEqual({ n: '</script>' });
    expect(fmtNum(1.79e305)).toBe('1.79e+305');
  });
});

describe('fmtHours', () => {
  it.each([
    [0.11, '7 min'],
    [3.24, '3.2 h'],
    [72, '3.0 d'],
    [null, '—'],
  ])('%s h → %s', (h, text) => expect(fmtHours(h)).toBe(text));
});

describe('renderHtml', () => {
  const html = renderHtml(input(), ASSETS);

  it('escapes every run-provided string (no injected tags or handlers)', () => {
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/onerror="alert/);
    expect(html).toContain('&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    // exactly the three script blocks of the page, each closed once
    expect(html.match(/<script/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  it('is self-contained: no external URL, no resource reference, a CSP that blocks fetches', () => {
    const urls = html.match(/\b(?:https?|ftp|wss?):\/\/[^\s"'<>)]*/gi) ?? [];
    expect(urls.every((u) => u === 'http://127.0.0.1:8000')).toBe(true); // only the target, as text
    expect(html).not.toMatch(/\s(?:src|href)=["'](?!#)/i);
    expect(html).not.toMatch(/url\((?!\s*['"]?data:)/i);
    expect(html).not.toMatch(/@import|<link|<iframe|<img|<object|<embed/i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain(ASSETS.js);
  });

  it('has the verdict banner, every section and every chart', () => {
    expect(html).toContain('data-verdict="fail"');
    expect(html).toContain('FAIL — the system under test missed its targets');
    for (const id of SECTION_IDS) expect(html).toContain(`id="${id}"`);
    for (const id of ['load', 'latency', 'errors', 'cpu', 'memory', 'pool']) expect(html).toContain(`id="chart-${id}"`);
    expect(html).toContain('50 users at 48 req/s');
    expect(html).toContain('metastable');
    expect(html).not.toContain('INCOMPLETE RUN');
  });

  it('embeds chart data with breaking-point and spike markers and the leak trend', () => {
    const json = /<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html)![1]!;
    const charts = JSON.parse(json) as { id: string; lines: { label: string }[]; markers: { label: string }[] }[];
    expect(charts.map((c) => c.id)).toEqual(['load', 'latency', 'errors', 'cpu', 'memory', 'pool']);
    expect(charts[0]!.markers.map((m) => m.label)).toEqual(
      expect.arrayContaining(['breaking point 50 users', 'spike 1', 'recovered (spike 1)', 'spike 2', 'SLO breach']),
    );
    expect(charts.find((c) => c.id === 'memory')!.lines.map((l) => l.label)).toContain(`app${EVIL} trend`);
    // anonymous memory where the samples carry it (the app's do, the fixture's Postgres samples do not)
    expect(charts.find((c) => c.id === 'memory')!.lines.map((l) => l.label)).toContain(`app${EVIL} anon`);
    expect(charts.find((c) => c.id === 'memory')!.lines.map((l) => l.label)).not.toContain('postgres anon');
    expect(charts.find((c) => c.id === 'pool')!.lines.map((l) => l.label)).toEqual(['active', 'idle', 'idle in transaction']);
  });

  it('marks an incomplete run and renders every verdict', () => {
    const inc = renderHtml(
      input(analysis({ verdict: 'inconclusive', incomplete: true, verdictReasons: ['run ended early'] }), ['summary.json is missing']),
      ASSETS,
    );
    expect(inc).toContain('INCOMPLETE RUN');
    expect(inc).toContain('summary.json is missing');
    expect(inc).toContain('never (run killed)');
    for (const v of ['pass', 'invalid'] as const) expect(renderHtml(input(analysis({ verdict: v })), ASSETS)).toContain(`data-verdict="${v}"`);
  });
});

describe('renderMarkdown', () => {
  it('names the failure mode at the break with its evidence, then the signals that followed', () => {
    const pool = {
      kind: 'db-pool' as const,
      service: 'archiveorigin',
      atS: 130,
      evidence: 'archiveorigin DB pool: 10 busy connections of 10 (pool max) at t=130 s',
    };
    const slow = { kind: 'latency' as const, service: null, atS: 133, evidence: 'p95 1200 ms at t=133 s, above the 1000 ms limit' };
    const bp = {
      users: 500,
      throughputRps: 180,
      reason: 'p95 > 1000 ms',
      failureMode: { first: pool, signals: [pool, slow], summary: `DB connection pool exhausted — ${pool.evidence}` },
    };
    const a = analysis();
    const md = renderMarkdown(input({ ...a, capacity: { ...a.capacity, breakingPoint: bp } }));
    expect(md).toContain('| **Failure mode** | DB connection pool exhausted — archiveorigin DB pool: 10 busy connections of 10 (pool max) at t=130 s |');
    expect(md).toContain('| **Then** | p95 1200 ms at t=133 s, above the 1000 ms limit |');
  });

  it('has every section, escaped tables and the incomplete marker', () => {
    const md = renderMarkdown(input(analysis({ incomplete: true }), ['torn line']));
    for (const t of ['Validity', 'Service-level objectives', 'Capacity', 'Memory leaks', 'Recovery', 'Bottlenecks', 'Recommendations', 'Run metadata'])
      expect(md).toContain(`## ${t}`);
    expect(md).toContain('INCOMPLETE RUN');
    expect(md).not.toMatch(/<img|<\/script/);
    expect(md).toContain('\\|\\*\\_\\`');
    // every table row has the header's column count (no cell broke out with a raw |)
    for (const table of md.split('\n\n').filter((b) => b.startsWith('| '))) {
      const cols = (l: string): number => l.replace(/\\\|/g, '').split('|').length;
      const lines = table.split('\n');
      for (const l of lines) expect(cols(l), l).toBe(cols(lines[0]!));
    }
  });
});

describe('renderMarkdown: tail episodes', () => {
  it('lists each episode with its evidence, cause first, and never names it the failure mode', () => {
    const evidence = [
      { signal: 'locks', kind: 'locks', episodeValue: 13, baselineValue: 0, score: 6.5, message: 'sessions waiting on locks: 13 (baseline 0)' },
      { signal: 'pool', kind: 'pool', episodeValue: 1, baselineValue: 0.1, score: 3.6, message: 'app DB pool busy: 100 %' },
    ];
    const incidents = [
      {
        kind: 'latency-tail',
        service: '*',
        tMs: 1,
        atS: 52,
        endS: 53,
        message: 'latency tail from 52 s to 53 s; likely cause: sessions waiting on locks',
        cause: 'locks',
        evidence,
      },
      { kind: 'latency-tail', service: '*', tMs: 2, atS: 80, endS: 81, message: 'latency tail from 80 s to 81 s', cause: 'no correlated signal', evidence: [] },
    ];
    const md = renderMarkdown(input(analysis({ incidents })));
    expect(md).not.toContain('Failure mode');
    expect(md).toContain('## Incidents');
    const lines = md.split('\n');
    const at = lines.findIndex((l) => l.startsWith('**latency-tail 52–53 s**'));
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 2, at + 4)).toEqual([
      '- locks (score 6.5): sessions waiting on locks: 13 (baseline 0)',
      '- pool (score 3.6): app DB pool busy: 100 %',
    ]);
    expect(md).toContain('**latency-tail 80–81 s**: no correlated signal');
  });
});

describe('renderJunit', () => {
  it('is well-formed XML with a testcase per SLO and verdict, failures with messages', () => {
    const xml = renderJunit(input());
    assertWellFormedXml(xml);
    expect(() => assertWellFormedXml('<a><b></a>')).toThrow();
    expect(() => assertWellFormedXml('<a x="1 & 2"/>')).toThrow();
    const cases = xml.match(/<testcase /g)!.length;
    // verdict + validity + 3 SLOs + 1 leak + 2 spike recoveries + breaking point
    expect(cases).toBe(9);
    expect(xml).toContain(`tests="9" failures="4"`);
    expect(xml).toMatch(/<failure message="p95 &lt;= 50: observed 80 ms"/);
    expect(xml).toMatch(/<failure message="leak in app&lt;\/script&gt;/);
    expect(xml).toMatch(/<failure message="the spike at 300 s: metastable/);
    expect(xml).toContain('<skipped message="');
    expect(xml).toContain('breaking point at 50 users');
  });

  it('reports an invalid run as a validity failure', () => {
    const xml = renderJunit(
      input(
        analysis({ verdict: 'invalid', validity: { valid: false, problems: [{ code: 'generator-cpu-saturated', message: `generator CPU 0.98 ${EVIL}` }] } }),
      ),
    );
    assertWellFormedXml(xml);
    expect(xml).toMatch(/classname="loadscope\.stress.*validity" name="run is valid[^"]*" time="0">\s*<failure message="generator CPU 0.98/);
  });
});

describe('formatComparison', () => {
  it('prints a delta table with significance and the verdict change', () => {
    const c: Comparison = {
      endpoints: [
        {
          endpoint: 'api\u001b[31m',
          base: { p50Ms: 10, p95Ms: 20, p99Ms: 30, goodputRps: 100 },
          run: { p50Ms: 12, p95Ms: 30, p99Ms: 40, goodputRps: 90 },
          p95Change: 0.5,
          p99Change: 0.333,
          goodputChange: -0.1,
          p: 0.00001,
          change: 'regressed',
        },
      ],
      verdictChange: { base: 'pass', run: 'fail' },
      sloChanges: [{ name: 'p95 <= 25', base: 'pass', run: 'fail' }],
    };
    const out = formatComparison(c, { base: 'a', run: 'b' });
    expect(out).toContain('+50.0 %');
    expect(out).toContain('<0.0001');
    expect(out).toContain('REGRESSED');
    expect(out).toContain('verdict: pass → fail');
    expect(out).not.toContain('\u001b');
  });
});
