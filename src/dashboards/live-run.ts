// "Live run": load, latency and errors on top, then the resources that explain them on the same time axis,
// correlation panels with a second axis, verdicts and the generator's own CPU (a saturated generator invalidates
// a run, so it must be visible).
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { METRICS as M } from '../telemetry/metric-names.ts';
import { annotation, baseDashboard, buildDashboard, stat, timeseries } from './panels.ts';
import { appeared, latencyQuantile, orZero, rate, sel, sumBy } from './promql.ts';

export const LIVE_RUN_UID = 'loadscope-live-run';

const reqRate = sumBy([], rate(M.requests));
const p95 = latencyQuantile(0.95);
const appCpu = sumBy(['service'], rate(M.containerCpuTime));

/** Annotations shared with the other dashboards: phase starts, SLO breaches, breaking point. */
export function runAnnotations() {
  return [
    annotation('Phase start', 'blue', appeared(sel(M.phase), '5s', ' == 1'), 'phase {{phase}}'),
    annotation('SLO breach', 'red', `${sumBy(['slo'], sel(M.sloStatus), 'min')} == 0`, 'SLO {{slo}} failing'),
    annotation('Breaking point', 'purple', appeared(sel(M.breakingPoint), '5s'), 'breaking point reached'),
  ];
}

export function liveRunDashboard(): Dashboard {
  const b = baseDashboard(
    LIVE_RUN_UID,
    'loadscope / Live run',
    'One run as it happens: load, latency, errors, and the container and Postgres resources behind them.',
    {
      service: true,
      from: 'now-15m',
      refresh: '5s',
    },
  );
  for (const a of runAnnotations()) b.annotation(a);

  loadRow(b);
  containersRow(b);
  postgresRow(b);
  correlationRow(b);
  verdictsRow(b);
  return buildDashboard(b);
}

type DashboardBuilder = ReturnType<typeof baseDashboard>;

/** The 'Load' row. */
function loadRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder('Load'))
    .withPanel(
      stat({
        title: 'Current phase',
        description: 'Which phase of the scenario is running now.',
        unit: 'none',
        span: 4,
        showName: true,
        queries: [{ expr: `${sumBy(['phase'], sel(M.phase), 'max')} == 1`, legend: '{{phase}}' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Active users',
        description: 'Virtual users running now.',
        unit: 'none',
        span: 4,
        queries: [{ expr: sumBy([], sel(M.usersActive)), legend: 'users' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Requests/s',
        description: 'Completed requests per second, all endpoints.',
        unit: units.RequestsPerSecond,
        span: 4,
        queries: [{ expr: reqRate, legend: 'req/s' }],
      }),
    )
    .withPanel(
      stat({
        title: 'p95 latency',
        description: 'p95 of all requests over the rate window.',
        unit: units.Seconds,
        span: 4,
        steps: [
          { value: 0.5, color: 'orange' },
          { value: 1, color: 'red' },
        ],
        queries: [{ expr: p95, legend: 'p95' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Error ratio',
        description: 'Errors / completed requests over the rate window.',
        unit: units.PercentUnit,
        span: 4,
        steps: [
          { value: 0.01, color: 'orange' },
          { value: 0.05, color: 'red' },
        ],
        queries: [{ expr: orZero(`${sumBy([], rate(M.errors))} / ${reqRate}`), legend: 'errors' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Generator CPU',
        description: "Cores used by loadscope itself; near 1 the event loop is saturated and latency numbers are the generator's, not the app's.",
        unit: 'none',
        span: 4,
        steps: [
          { value: 0.8, color: 'orange' },
          { value: 0.95, color: 'red' },
        ],
        queries: [{ expr: sumBy([], sel(M.generatorCpuUsage), 'max'), legend: 'cores' }],
      }),
    );
  loadTrends(b);
}

/** The 'Load' row's time series, below its stats. */
function loadTrends(b: DashboardBuilder): void {
  b.withPanel(
    timeseries({
      title: 'Active users and phase',
      description: 'The load shape; the right axis marks the phase that is current.',
      unit: 'none',
      queries: [
        { expr: sumBy([], sel(M.usersActive)), legend: 'active users' },
        { expr: `${sumBy(['phase'], sel(M.phase), 'max')} == 1`, legend: 'phase {{phase}}', right: 'none' },
      ],
    }),
  )
    .withPanel(
      timeseries({
        title: 'Requests/s by endpoint',
        description: 'Throughput per endpoint, stacked.',
        unit: units.RequestsPerSecond,
        stacked: true,
        queries: [{ expr: sumBy(['endpoint'], rate(M.requests)), legend: '{{endpoint}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Latency p50 / p95 / p99',
        description: 'Quantiles from the histogram buckets (accurate to the bucket boundaries).',
        unit: units.Seconds,
        queries: [0.5, 0.95, 0.99].map((q) => ({ expr: latencyQuantile(q), legend: `p${Math.round(q * 100)}` })),
      }),
    )
    .withPanel(
      timeseries({
        title: 'Errors/s by kind',
        description: 'Request errors per second by kind; the right axis shows non-2xx responses by status class.',
        unit: 'short',
        queries: [
          { expr: orZero(sumBy(['kind'], rate(M.errors))), legend: '{{kind}}' },
          { expr: orZero(sumBy(['status_class'], rate(M.requests, { status_class: '!~2xx' }))), legend: '{{status_class}}', right: units.RequestsPerSecond },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'p95 latency by endpoint',
        description: 'Which endpoint is slow.',
        unit: units.Seconds,
        span: 24,
        queries: [{ expr: latencyQuantile(0.95, ['endpoint']), legend: '{{endpoint}}' }],
      }),
    );
}

/** The 'Containers' row. */
function containersRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder('Containers'))
    .withPanel(
      timeseries({
        title: 'CPU (cores)',
        description: 'CPU cores per service from the cumulative CPU time counter.',
        unit: 'none',
        min: 0,
        queries: [{ expr: appCpu, legend: '{{service}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'CPU % of limit',
        description: 'Cores used / CPU limit; at 100% the CFS throttles the container. Right axis: share of CFS periods throttled.',
        unit: units.PercentUnit,
        min: 0,
        thresholdLine: { value: 1, color: 'red' },
        queries: [
          { expr: sumBy(['service'], sel(M.containerCpuLimitUtilization), 'max'), legend: '{{service}}' },
          {
            expr: `${sumBy(['service'], rate(M.containerCpuThrottledPeriods))} / ${sumBy(['service'], rate(M.containerCpuPeriods))}`,
            legend: '{{service}} throttled',
            right: units.PercentUnit,
          },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Working set per service',
        description: 'Memory the OOM killer counts, with the limit (dashed in the legend as "limit").',
        unit: units.BytesIEC,
        min: 0,
        queries: [
          { expr: sumBy(['service'], sel(M.containerMemoryWorkingSet), 'max'), legend: '{{service}}' },
          { expr: sumBy(['service'], sel(M.containerMemoryLimit), 'max'), legend: '{{service}} limit' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Generator and host CPU',
        description: "loadscope's own CPU in cores with a line at 1 core (one event loop); right axis: host CPU utilisation.",
        unit: 'none',
        min: 0,
        thresholdLine: { value: 1, color: 'red' },
        queries: [
          { expr: sumBy([], sel(M.generatorCpuUsage), 'max'), legend: 'generator cores' },
          { expr: sumBy([], sel(M.hostCpuUsage), 'max'), legend: 'host CPU', right: units.PercentUnit },
        ],
      }),
    );
}

/** The 'Postgres' row. */
function postgresRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder('Postgres'))
    .withPanel(
      timeseries({
        title: 'Connections by state vs max_connections',
        description: 'Client backends by state; when the total nears max_connections new connections fail.',
        unit: 'none',
        min: 0,
        queries: [
          { expr: sumBy(['state'], sel(M.pgConnections)), legend: '{{state}}' },
          { expr: sumBy([], sel(M.pgConnectionMax), 'max'), legend: 'max_connections' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Waiting sessions',
        description: 'Active sessions waiting, by wait event type, and sessions blocked by another session.',
        unit: 'none',
        min: 0,
        queries: [
          { expr: orZero(sumBy(['wait_event_type'], sel(M.pgWaiting))), legend: '{{wait_event_type}}' },
          { expr: sumBy([], sel(M.pgBlocked)), legend: 'blocked' },
        ],
      }),
    );
}

/** The 'Correlation' row. */
function correlationRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder('Correlation'))
    .withPanel(
      timeseries({
        title: 'p95 latency vs app CPU',
        description: 'Does latency rise with CPU (CPU-bound) or without it (waiting on something else)?',
        unit: units.Seconds,
        queries: [
          { expr: p95, legend: 'p95' },
          { expr: appCpu, legend: '{{service}} cores', right: 'none' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Requests/s vs active pool connections',
        description: "Does throughput plateau when the pool's active connections do (pool-bound)?",
        unit: units.RequestsPerSecond,
        queries: [
          { expr: reqRate, legend: 'req/s' },
          { expr: orZero(sumBy([], sel(M.pgConnections, { state: 'active' }))), legend: 'active connections', right: 'none' },
        ],
      }),
    );
}

/** The 'Verdicts' row: the post-mortem's analysis over the run so far, final once the run ends (docs/ANALYSIS.md, Live verdicts). */
function verdictsRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder('Verdicts'))
    .withPanel(
      stat({
        title: 'SLO status',
        description:
          'Each SLO as judged by the analysis over the run so far (steady windows, as in analysis.json): green passes, red fails, grey has no steady data yet.',
        unit: 'none',
        span: 6,
        steps: [
          { value: -1, color: 'text' },
          { value: 0, color: 'red' },
          { value: 1, color: 'green' },
        ],
        valueText: { '-1': { text: 'NO DATA', color: 'text' }, '0': { text: 'FAIL', color: 'red' }, '1': { text: 'PASS', color: 'green' } },
        queries: [{ expr: sumBy(['slo'], sel(M.sloStatus), 'min'), legend: '{{slo}}' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Leak slope',
        description: 'Working-set growth per hour fitted by the leak detector.',
        unit: units.BytesIEC,
        span: 5,
        steps: [
          { value: 10 * 2 ** 20, color: 'orange' },
          { value: 50 * 2 ** 20, color: 'red' },
        ],
        queries: [{ expr: sumBy(['service'], sel(M.leakSlope), 'max'), legend: '{{service}} /h' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Leak verdict',
        description:
          'The leak detector per service, anonymous memory cross-checked: a growing working set with flat anonymous memory is page cache (WARN), not a leak.',
        unit: 'none',
        span: 5,
        steps: [
          { value: -1, color: 'text' },
          { value: 0, color: 'red' },
          { value: 0.5, color: 'orange' },
          { value: 1, color: 'green' },
        ],
        valueText: {
          '-1': { text: 'INCONCLUSIVE', color: 'text' },
          '0': { text: 'FAIL', color: 'red' },
          '0.5': { text: 'WARN', color: 'orange' },
          '1': { text: 'PASS', color: 'green' },
        },
        queries: [{ expr: sumBy(['service'], sel(M.leakStatus), 'min'), legend: '{{service}}' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Breaking point',
        description: 'Users at which the run broke (absent until detected).',
        unit: 'none',
        span: 4,
        steps: [{ value: 0, color: 'purple' }],
        queries: [{ expr: sumBy([], sel(M.breakingPoint), 'max'), legend: 'users' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Verdicts',
        description: 'PARTIAL while the run goes (judged over the seconds so far); FINAL once they are the post-mortem, equal to analysis.json.',
        unit: 'none',
        span: 4,
        steps: [
          { value: 0, color: 'green' },
          { value: 1, color: 'blue' },
        ],
        valueText: { '0': { text: 'FINAL', color: 'green' }, '1': { text: 'PARTIAL', color: 'blue' } },
        queries: [{ expr: sumBy([], sel(M.verdictsPartial), 'max'), legend: 'verdicts' }],
      }),
    );
}
