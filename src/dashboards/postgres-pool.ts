// "Postgres pool": is the database the bottleneck — connections, waits, locks, long transactions, throughput,
// cache? Postgres series carry no `service`, so this dashboard has no service variable.
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { METRICS as M } from '../telemetry/metric-names.ts';
import { runAnnotations } from './live-run.ts';
import { baseDashboard, buildDashboard, stat, timeseries } from './panels.ts';
import { orZero, rate, sel, sumBy } from './promql.ts';

export const POSTGRES_UID = 'loadscope-postgres-pool';

const hits = sumBy([], rate(M.pgBlksHit));
const reads = sumBy([], rate(M.pgBlksRead));
const backends = sumBy([], sel(M.pgBackends), 'max');
const maxConn = sumBy([], sel(M.pgConnectionMax), 'max');

export function postgresDashboard(): Dashboard {
  const b = baseDashboard(POSTGRES_UID, 'loadscope / Postgres pool', 'Connections, waits, locks, transactions and cache of the sampled database.', {
    service: false,
    from: 'now-15m',
    refresh: '5s',
  });
  for (const a of runAnnotations()) b.annotation(a);
  nowRow(b);
  connectionsRow(b);
  locksRow(b);
  return buildDashboard(b);
}

/** The builder the rows add panels to. */
type Builder = ReturnType<typeof baseDashboard>;

function nowRow(b: Builder): void {
  b.withRow(new RowBuilder('Now'))
    .withPanel(
      stat({
        title: 'Connections used',
        description: 'Client backends / max_connections.',
        unit: units.PercentUnit,
        steps: [
          { value: 0.8, color: 'orange' },
          { value: 0.95, color: 'red' },
        ],
        queries: [{ expr: `${backends} / ${maxConn}`, legend: 'used' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Postgres up',
        description: '0 while the sampler cannot reach Postgres (values shown are then stale).',
        unit: 'none',
        steps: [
          { value: 0, color: 'red' },
          { value: 1, color: 'green' },
        ],
        valueText: { '0': { text: 'DOWN', color: 'red' }, '1': { text: 'UP', color: 'green' } },
        queries: [{ expr: sumBy([], sel(M.pgUp), 'min'), legend: 'up' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Oldest transaction',
        description: 'Age of the oldest open transaction; long ones hold locks and block vacuum.',
        unit: units.Seconds,
        steps: [
          { value: 10, color: 'orange' },
          { value: 60, color: 'red' },
        ],
        queries: [{ expr: sumBy([], sel(M.pgOldestXactAge), 'max'), legend: 'oldest' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Cache hit ratio',
        description: 'Buffer hits / (hits + reads) over the rate window.',
        unit: units.PercentUnit,
        steps: [
          { value: 0, color: 'red' },
          { value: 0.9, color: 'orange' },
          { value: 0.99, color: 'green' },
        ],
        queries: [{ expr: `${hits} / (${hits} + ${reads})`, legend: 'hit ratio' }],
      }),
    );
}

function connectionsRow(b: Builder): void {
  b.withRow(new RowBuilder('Connections'))
    .withPanel(
      timeseries({
        title: 'Connections by state',
        description: 'active = running a query, idle in transaction = holding a connection (and locks) doing nothing.',
        unit: 'none',
        min: 0,
        stacked: true,
        queries: [
          { expr: sumBy(['state'], sel(M.pgConnections)), legend: '{{state}}' },
          { expr: maxConn, legend: 'max_connections', right: 'none' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Connections by application',
        description: 'Which client owns the connections (application_name; "" = unnamed).',
        unit: 'none',
        min: 0,
        stacked: true,
        queries: [{ expr: sumBy(['application_name'], sel(M.pgConnections)), legend: '{{application_name}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Wait events',
        description: 'Active sessions waiting by wait_event_type: Lock = row/table locks, LWLock = internal contention, IO = disk, Client = app.',
        unit: 'none',
        min: 0,
        stacked: true,
        queries: [{ expr: orZero(sumBy(['wait_event_type'], sel(M.pgWaiting))), legend: '{{wait_event_type}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Idle in transaction',
        description: 'Sessions idle inside a transaction and the longest such idle time (right).',
        unit: 'none',
        min: 0,
        queries: [
          { expr: sumBy([], sel(M.pgIdleInTransaction), 'max'), legend: 'sessions' },
          { expr: sumBy([], sel(M.pgIdleInTransactionAge), 'max'), legend: 'oldest idle', right: units.Seconds },
        ],
      }),
    );
}

function locksRow(b: Builder): void {
  b.withRow(new RowBuilder('Locks and transactions'))
    .withPanel(
      timeseries({
        title: 'Locks by mode',
        description: 'Granted locks by mode; right axis: lock requests waiting and sessions blocked.',
        unit: 'none',
        min: 0,
        queries: [
          { expr: sumBy(['mode'], sel(M.pgLocks, { granted: 'true' })), legend: '{{mode}}' },
          { expr: sumBy([], sel(M.pgUngrantedLocks), 'max'), legend: 'waiting locks', right: 'none' },
          { expr: sumBy([], sel(M.pgBlocked), 'max'), legend: 'blocked sessions', right: 'none' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Oldest transaction age',
        description: 'A sawtooth is normal; a ramp is a transaction left open.',
        unit: units.Seconds,
        min: 0,
        queries: [{ expr: sumBy([], sel(M.pgOldestXactAge), 'max'), legend: 'oldest xact' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Commits, rollbacks, deadlocks /s',
        description: 'Transaction throughput; rollbacks and deadlocks on the right axis.',
        unit: 'short',
        min: 0,
        queries: [
          { expr: sumBy([], rate(M.pgCommits)), legend: 'commits' },
          { expr: sumBy([], rate(M.pgRollbacks)), legend: 'rollbacks', right: 'short' },
          { expr: sumBy([], rate(M.pgDeadlocks)), legend: 'deadlocks', right: 'short' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Cache hit ratio and temp I/O',
        description: 'Falling hit ratio = working set outgrew shared_buffers; temp bytes = sorts/hashes spilling to disk.',
        unit: units.PercentUnit,
        queries: [
          { expr: `${hits} / (${hits} + ${reads})`, legend: 'hit ratio' },
          { expr: sumBy([], rate(M.pgTempIo)), legend: 'temp bytes/s', right: units.BytesIEC },
        ],
      }),
    );
}
