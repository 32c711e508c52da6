// Walks generated dashboard JSON for every PromQL expression (panel targets, annotations, variables) and
// pulls the metric names out of an expression. Used by the metric-name test and the Prometheus acceptance test.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

export interface FoundQuery {
  dashboard: string;
  where: string;
  expr: string;
}

interface PanelLike {
  title?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: PanelLike[];
}

export function dashboardQueries(d: Dashboard): FoundQuery[] {
  const out: FoundQuery[] = [];
  const walk = (panels: PanelLike[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ dashboard: d.uid ?? '', where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk((d.panels ?? []) as PanelLike[]);
  for (const a of d.annotations?.list ?? []) {
    const expr = (a as { expr?: string }).expr;
    if (expr) out.push({ dashboard: d.uid ?? '', where: `annotation "${a.name}"`, expr });
  }
  return out;
}

/** Variable queries (label_values(...)), which are not PromQL. */
export function variableQueries(d: Dashboard): FoundQuery[] {
  return (d.templating?.list ?? [])
    .filter((v) => v.type === 'query' && typeof v.query === 'string')
    .map((v) => ({ dashboard: d.uid ?? '', where: `variable ${v.name}`, expr: v.query as string }));
}

const FUNCTIONS = new Set(
  (
    'abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min count_over_time day_of_month day_of_week ' +
    'days_in_month delta deriv exp floor histogram_quantile holt_winters hour idelta increase irate label_join label_replace ln log2 ' +
    'log10 last_over_time max_over_time min_over_time minute month predict_linear quantile_over_time rate resets round scalar sgn ' +
    'sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time time timestamp vector year present_over_time ' +
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile ' +
    'by without on ignoring group_left group_right offset bool and or unless start end inf nan label_values'
  ).split(/\s+/),
);

/**
 * Metric names referenced by a PromQL expression (or a label_values() variable query). Strips strings, label
 * matchers, durations, grouping clauses and numbers; what remains that is not a function or keyword is a name.
 */
export function metricNamesIn(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\blabel_values\(([^,)]+),[^)]*\)/g, ' $1 ');
  s = s.replace(/\boffset\s+-?[0-9a-z]+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const t = m[0];
    const next = s.slice((m.index ?? 0) + t.length).trimStart();
    if (FUNCTIONS.has(t.toLowerCase()) || /^[0-9]/.test(t)) continue;
    if (next.startsWith('(') && FUNCTIONS.has(t)) continue;
    names.add(t);
  }
  return [...names];
}
