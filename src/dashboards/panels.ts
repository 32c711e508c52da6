// Shared Foundation SDK helpers: datasource, variables, panel factories. Dashboards stay declarative lists of
// (title, queries) and get consistent ids, legends and units.
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  MappingType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DynamicConfigValue,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { METRICS, promLabel, promName } from '../telemetry/metric-names.ts';

/** Matches the provisioned datasource uid (dashboards/provisioning/datasources/prometheus.yaml). */
export const PROVISIONED_DS_UID = 'prometheus';
const DS_VAR = 'datasource';
export const ds = { type: 'prometheus', uid: `\${${DS_VAR}}` };

export interface Q {
  expr: string;
  legend: string;
  /** Put this query's series on the right axis with its own unit. */
  right?: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: Q[];
  span?: number;
  height?: number;
  min?: number;
  /** Threshold line drawn on the graph (e.g. 1 core for the generator). */
  thresholdLine?: { value: number; color: string };
  stacked?: boolean;
}

function target(q: Q, refId: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(ds).expr(q.expr).legendFormat(q.legend).refId(refId).range();
}

const refIds = 'ABCDEFGHIJ';

export function timeseries(p: PanelSpec): TimeseriesBuilder {
  const b = new TimeseriesBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(ds)
    .unit(p.unit)
    .span(p.span ?? 12)
    .height(p.height ?? 8)
    .lineWidth(1)
    .fillOpacity(p.stacked ? 30 : 5)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (p.min !== undefined) b.min(p.min);
  if (p.stacked) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (p.thresholdLine) {
    b.thresholds(thresholds([{ value: p.thresholdLine.value, color: p.thresholdLine.color }]));
    b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line));
  }
  p.queries.forEach((q, i) => {
    const refId = refIds[i] ?? `Q${i}`;
    b.withTarget(target(q, refId));
    if (q.right) {
      const props: DynamicConfigValue[] = [
        { id: 'unit', value: q.right },
        { id: 'custom.axisPlacement', value: common.AxisPlacement.Right },
      ];
      b.overrideByQuery(refId, props);
    }
  });
  return b;
}

export interface StatSpec extends PanelSpec {
  /** Value → text mappings, e.g. 1 → PASS. */
  valueText?: Record<string, { text: string; color: string }>;
  steps?: { value: number; color: string }[];
  /** Show the legend (series name) instead of the value, e.g. the current phase. */
  showName?: boolean;
}

export function stat(p: StatSpec): StatBuilder {
  const b = new StatBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(ds)
    .unit(p.unit)
    .span(p.span ?? 6)
    .height(p.height ?? 4)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(p.showName ? common.BigValueTextMode.Name : common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (p.steps) b.thresholds(thresholds(p.steps, 'green'));
  if (p.valueText) {
    const options = Object.fromEntries(Object.entries(p.valueText).map(([v, t], index) => [v, { ...t, index }]));
    b.mappings([{ type: MappingType.ValueToText, options }]);
  }
  p.queries.forEach((q, i) => b.withTarget(target(q, refIds[i] ?? `Q${i}`)));
  return b;
}

function thresholds(steps: { value: number; color: string }[], base = 'transparent'): ThresholdsConfigBuilder {
  // The base step is −∞, which Grafana's JSON model spells null: JSON.stringify writes -Infinity as null.
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: Number.NEGATIVE_INFINITY, color: base }, ...steps]);
}

/** datasource, run_id, scenario and (optionally) service variables, chained so each narrows the next. */
export function baseDashboard(uid: string, title: string, description: string, opts: { service: boolean; from: string; refresh: string }): DashboardBuilder {
  const phase = promName(METRICS.phase);
  const ws = promName(METRICS.containerMemoryWorkingSet);
  const [runL, scenarioL, serviceL] = [promLabel('run_id'), promLabel('scenario'), promLabel('service')];
  const queryVar = (name: string, label: string, query: string) =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(ds)
      .query(query)
      .definition(query)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalDesc)
      .multi(true)
      .includeAll(true)
      .allValue('.*');
  const b = new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['loadscope'])
    .editable()
    .timezone('browser')
    .time({ from: opts.from, to: 'now' })
    .refresh(opts.refresh)
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(new DatasourceVariableBuilder(DS_VAR).label('Datasource').type('prometheus').current({ text: 'Prometheus', value: PROVISIONED_DS_UID }))
    .withVariable(queryVar(runL, 'Run', `label_values(${phase}, ${runL})`))
    .withVariable(queryVar(scenarioL, 'Scenario', `label_values(${phase}{${runL}=~"$${runL}"}, ${scenarioL})`));
  if (opts.service) b.withVariable(queryVar(serviceL, 'Service', `label_values(${ws}{${runL}=~"$${runL}"}, ${serviceL})`));
  return b;
}

export function annotation(name: string, color: string, expr: string, title: string, step = '1s'): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder().name(name).datasource(ds).enable(true).iconColor(color).expr(expr).titleFormat(title).step(step);
}

/** Plain dashboard JSON for file provisioning (no k8s wrapper, no numeric id). */
export function buildDashboard(b: DashboardBuilder): Dashboard {
  const d = b.build();
  delete d.id;
  // Stable panel ids (the SDK leaves them unset/0): Grafana links and "view panel" URLs use them.
  let id = 1;
  for (const p of d.panels ?? []) (p as { id?: number }).id = id++;
  return d;
}
