// PromQL building blocks. Every metric name comes from metric-names.ts through promName/promSeriesNames, so a
// renamed metric breaks generation (and the drift test) instead of silently emptying a panel.
import { METRICS, promName, promSeriesNames, type MetricDef } from '../telemetry/metric-names.ts';

/** Grafana's rate window: max($__interval + scrape, 4 × scrape); needs timeInterval=1s on the datasource. */
export const RATE = '$__rate_interval';

/** Dashboard variables every selector is filtered by (label name = variable name). */
export const RUN_VARS = ['run_id', 'scenario'] as const;
export const SERVICE_VAR = 'service';

type Matchers = Record<string, string>;

function render(m: Matchers): string {
  return Object.entries(m)
    .map(([k, v]) => (v.startsWith('!~') || v.startsWith('=~') || v.startsWith('!=') ? `${k}${v.slice(0, 2)}"${v.slice(2)}"` : `${k}="${v}"`))
    .join(',');
}

/** The variable matchers that apply to a metric: run_id/scenario always, service only where the metric has it. */
export function varMatchers(def: Pick<MetricDef, 'attributes'>): Matchers {
  const m: Matchers = {};
  for (const v of RUN_VARS) m[v] = `=~$${v}`;
  if (def.attributes.includes(SERVICE_VAR)) m[SERVICE_VAR] = `=~$${SERVICE_VAR}`;
  return m;
}

/**
 * `name{run_id=~"$run_id",scenario=~"$scenario"[,service=~"$service"],...extra}`. `series` picks a histogram's
 * _bucket/_sum/_count; extra values are literal unless prefixed with =~, != or !~.
 */
export function sel(def: MetricDef, extra: Matchers = {}, series?: 'bucket' | 'sum' | 'count'): string {
  const name = series ? promSeriesNames(def).find((n) => n.endsWith(`_${series}`)) : promName(def);
  if (!name) throw new Error(`${def.name} has no _${series} series`);
  return `${name}{${render({ ...varMatchers(def), ...extra })}}`;
}

/** A recording rule's output, filtered like its source metric (rules keep run_id/scenario/service). */
export function selRule(rule: { record: string; source: MetricDef }, extra: Matchers = {}): string {
  return `${rule.record}{${render({ ...varMatchers(rule.source), ...extra })}}`;
}

export function rate(def: MetricDef, extra: Matchers = {}, window = RATE, series?: 'bucket' | 'sum' | 'count'): string {
  return `rate(${sel(def, extra, series)}[${window}])`;
}

/** `sum by (labels) (inner)`; an empty label list sums everything. */
export function sumBy(labels: readonly string[], inner: string, agg = 'sum'): string {
  return labels.length > 0 ? `${agg} by (${labels.join(', ')}) (${inner})` : `${agg}(${inner})`;
}

/** Quantile over the latency histogram, per `by` labels. */
export function latencyQuantile(q: number, by: readonly string[] = [], window = RATE, extra: Matchers = {}): string {
  return `histogram_quantile(${q}, ${sumBy(['le', ...by], rate(METRICS.requestDuration, extra, window, 'bucket'))})`;
}

/** A flat 0 when the left side has no series (no errors yet is an answer, not "No data"). */
export function orZero(expr: string): string {
  return `(${expr}) or on() vector(0)`;
}

/**
 * Series that exist now (and satisfy `cond`) but did not `window` ago: when a phase started or a verdict first
 * appeared. Works because OTel-JS keeps exporting every attribute set it has seen, so "absent before" means "new".
 */
export function appeared(selector: string, window: string, cond = ''): string {
  return `(${selector}${cond}) unless (${selector} offset ${window})`;
}
