// Final summary table (plain text) for stdout.
import type { SloResult } from '../analysis/slo.ts';
import type { RunScenarioResult } from './run-scenario.ts';

export function formatSummary(r: RunScenarioResult): string {
  const rows = [...r.summary.endpoints, r.summary.total];
  const head = ['endpoint', 'requests', 'failures', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  const table = [
    head,
    ...rows.map((e) => [
      e.name,
      String(e.count),
      `${e.failures} (${(e.errorRatio * 100).toFixed(2)}%)`,
      e.rps.toFixed(1),
      String(e.p50Ms),
      String(e.p95Ms),
      String(e.p99Ms),
      String(e.maxMs),
    ]),
  ];
  const widths = head.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const lines = table.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '));
  const slo = sloLines(r);
  return [
    `run ${r.runId} (${r.stoppedBy}, ${r.summary.durationS.toFixed(1)} s of ${(r.plannedDurationMs / 1000).toFixed(1)} s planned) → ${r.runDir}`,
    ...lines,
    ...(r.summary.droppedLate ? [`dropped/late (open model): ${r.summary.droppedLate}`] : []),
    ...slo,
    `generator CPU max ${r.summary.maxCpuCores.toFixed(2)} cores`,
    ...verdictLines(r),
    '',
  ].join('\n');
}

const UNIT: Record<SloResult['unit'], string> = { ms: ' ms', ratio: '', rps: ' req/s' };

/** SLOs are judged only by the analysis (steady windows, docs/ANALYSIS.md SLOs): without one there is no SLO verdict. */
function sloLines(r: RunScenarioResult): string[] {
  if (!r.analysis) return [];
  const rows = r.analysis.slo.map(
    (s) => `  ${s.status.toUpperCase()} ${s.name}: observed ${s.observed === null ? 'no data' : `${+s.observed.toFixed(4)}${UNIT[s.unit]}`}`,
  );
  return rows.length ? ['SLO (steady windows):', ...rows] : [];
}

function verdictLines(r: RunScenarioResult): string[] {
  const a = r.analysis;
  if (!a) return ['verdict: not analysed (see events.ndjson)'];
  const lines = [`verdict: ${a.verdict.toUpperCase()}${a.incomplete ? ' (incomplete run)' : ''}`];
  for (const reason of a.verdictReasons ?? []) lines.push(`  - ${reason}`);
  for (const l of a.leaks)
    lines.push(`  leak ${l.service}: ${l.verdict} ${l.slopeBytesPerHour === null ? '' : ` (${(l.slopeBytesPerHour / 1048576).toFixed(1)} MiB/h)`}`);
  if (a.capacity.breakingPoint)
    lines.push(
      `  breaking point: ${a.capacity.breakingPoint.users} users at ${a.capacity.breakingPoint.throughputRps.toFixed(0)} req/s (${a.capacity.breakingPoint.reason})`,
    );
  for (const b of a.bottlenecks.slice(0, 3)) lines.push(`  bottleneck #${b.rank}: ${b.resource}`);
  if (r.reportPath) lines.push(`report: ${r.reportPath}`);
  return lines;
}
