// The only module importing @opentelemetry/*. One MeterProvider per run, a pull PrometheusExporter bound to
// loopback, observable instruments that read a cache (the latest SampleSnapshot) — no I/O in callbacks, so a
// scrape never waits on Docker or Postgres — and synchronous instruments fed by the load engine. For remote
// write, a second (on-demand) reader turns the same instruments into Prometheus series with the exporter's names.
import { DEFAULT_METRICS } from '../config/defaults.ts';
import { ValueType, type Attributes, type BatchObservableCallback, type Counter, type Histogram, type HrTime, type Observable } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { DataPointType, MeterProvider, MetricReader, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { SampleSnapshot } from '../samplers/types.ts';
import { LEAK_STATUS_VALUE, METRICS, SLO_STATUS_VALUE, promLabel, promName, type InstrumentKind, type MetricDef, type MetricKey } from './metric-names.ts';
import type { PromSeries } from './remote-write-codec.ts';

/** The verdict metrics' input: the analysis result (live over the run so far, or the post-mortem), by name. */
export interface VerdictValues {
  /** true while judged over the run so far; false once these are the post-mortem's. */
  partial: boolean;
  slo: readonly { name: string; status: keyof typeof SLO_STATUS_VALUE }[];
  leaks: readonly { service: string; slopeBytesPerHour: number | null; verdict: keyof typeof LEAK_STATUS_VALUE }[];
  breakingPointUsers: number | null;
}

export interface TelemetryOptions {
  runId: string;
  scenario: string;
  /** Default 127.0.0.1; never all interfaces unless the caller asks explicitly. */
  host?: string;
  port?: number;
  endpoint?: string;
  /** Prometheus scrape interval, used for the default shutdown linger (2 intervals). */
  scrapeIntervalMs?: number;
  /** Default true: otel_scope_name/version labels on every series only add noise (one scope here). */
  withoutScopeInfo?: boolean;
  /** Default false: keep the single target_info series (service.name, run id) for `group_left` joins. */
  withoutTargetInfo?: boolean;
  serviceVersion?: string;
  /** Default true: serve /metrics. False with `collect`: remote write only, no listening socket. */
  serve?: boolean;
  /** Default false: register the on-demand reader behind collectSeries() (remote write). */
  collect?: boolean;
}

/** A reader that collects only when asked (collectSeries), for the remote-write pusher's own schedule. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type ObservableKey = MetricKey; // observable subset, checked at runtime by kind
const VERDICT_KEYS: ReadonlySet<ObservableKey> = new Set(['sloStatus', 'leakSlope', 'leakStatus', 'breakingPoint']);

export class Telemetry {
  /** The /metrics URL; undefined when not serving. */
  readonly url: string | undefined;
  private readonly provider: MeterProvider;
  private readonly common: Attributes;
  private readonly observables = new Map<ObservableKey, Observable>();
  private readonly requests: Counter;
  private readonly errors: Counter;
  private readonly latency: Histogram;
  private readonly callback: BatchObservableCallback;
  private snapshot?: SampleSnapshot;
  private sawPostgres = false;
  private phase = '';
  private readonly phases = new Map<string, number>();
  private activeUsers = 0;
  private remoteWriteFailures: number | undefined;
  private verdicts: VerdictValues = { partial: true, slo: [], leaks: [], breakingPointUsers: null };
  /** Verdict series exported so far (metric + label): they read NaN when the judge drops them, never a stale value. */
  private readonly verdictSeries = new Map<string, { key: ObservableKey; attrs: Attributes }>();
  private shutDown = false;
  private readonly onDemand?: OnDemandReader;

  private constructor(
    private readonly options: TelemetryOptions,
    exporter: PrometheusExporter | undefined,
    host: string,
    port: number,
    endpoint: string,
  ) {
    this.url = exporter ? `http://${host.includes(':') ? `[${host}]` : host}:${port}${endpoint}` : undefined;
    this.common = { run_id: options.runId, scenario: options.scenario };
    this.onDemand = options.collect ? new OnDemandReader() : undefined;
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': 'loadscope',
        'service.version': options.serviceVersion ?? '0.1.0',
        'loadscope.run_id': options.runId,
      }),
      readers: [...(exporter ? [exporter] : []), ...(this.onDemand ? [this.onDemand] : [])],
    });
    const meter = this.provider.getMeter('loadscope', options.serviceVersion ?? '0.1.0');
    const opts = (d: MetricDef) => ({
      description: d.description,
      unit: d.unit,
      valueType: d.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE,
      ...(d.buckets ? { advice: { explicitBucketBoundaries: [...d.buckets] } } : {}),
    });
    for (const [key, d] of Object.entries(METRICS) as [MetricKey, MetricDef][]) {
      if (d.kind === 'observableGauge') this.observables.set(key as ObservableKey, meter.createObservableGauge(d.name, opts(d)));
      else if (d.kind === 'observableCounter') this.observables.set(key as ObservableKey, meter.createObservableCounter(d.name, opts(d)));
      else if (d.kind === 'observableUpDownCounter') this.observables.set(key as ObservableKey, meter.createObservableUpDownCounter(d.name, opts(d)));
    }
    this.requests = meter.createCounter(METRICS.requests.name, opts(METRICS.requests));
    this.errors = meter.createCounter(METRICS.errors.name, opts(METRICS.errors));
    this.latency = meter.createHistogram(METRICS.requestDuration.name, opts(METRICS.requestDuration));
    this.callback = (r) =>
      this.observeAll((key, value, attrs) => {
        const o = this.observables.get(key);
        if (o && value !== null && value !== undefined && (Number.isFinite(value) || (Number.isNaN(value) && VERDICT_KEYS.has(key))))
          r.observe(o, value, { ...this.common, ...attrs });
      });
    meter.addBatchObservableCallback(this.callback, [...this.observables.values()]);
  }

  /** Starts the /metrics endpoint; rejects (e.g. EADDRINUSE) instead of logging and carrying on. */
  static async start(options: TelemetryOptions): Promise<Telemetry> {
    const host = options.host ?? DEFAULT_METRICS.host;
    const port = options.port ?? DEFAULT_METRICS.port;
    const endpoint = options.endpoint ?? '/metrics';
    if (options.serve === false) return new Telemetry(options, undefined, host, port, endpoint);
    const exporter = new PrometheusExporter({
      host,
      port,
      endpoint,
      preventServerStart: true,
      withoutScopeInfo: options.withoutScopeInfo ?? true,
      withoutTargetInfo: options.withoutTargetInfo ?? false,
    });
    await exporter.startServer();
    return new Telemetry(options, exporter, host, port, endpoint);
  }

  /** Called from the scheduler's onSample: replaces the cache the observable callback reads. */
  updateSnapshot(snapshot: SampleSnapshot): void {
    this.snapshot = snapshot;
    if (snapshot.postgres) this.sawPostgres = true;
  }

  setPhase(name: string): void {
    if (!this.phases.has(name)) this.phases.set(name, this.phases.size);
    this.phase = name;
  }

  /** The verdicts (SLO status, leak slope and status per service, breaking point), replaced as a whole. */
  setVerdicts(v: VerdictValues): void {
    this.verdicts = v;
  }

  /** Remote-write pushes given up so far (exported only once remote write is on). */
  setRemoteWriteFailures(n: number): void {
    this.remoteWriteFailures = n;
  }

  setActiveUsers(n: number): void {
    this.activeUsers = n;
  }

  recordRequests(endpoint: string, statusClass: string, count: number): void {
    if (count > 0) this.requests.add(count, { ...this.common, phase: this.phase, endpoint, status_class: statusClass });
  }

  recordError(kind: string, count = 1): void {
    if (count > 0) this.errors.add(count, { ...this.common, phase: this.phase, kind });
  }

  /**
   * Records `count` requests that took `seconds` (per-request values, or one call per HDR bucket value with its
   * count — the SDK histogram has no bulk API, so this loops; ~0.1 µs per record).
   */
  recordLatency(endpoint: string, seconds: number, count = 1): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const attrs = { ...this.common, phase: this.phase, endpoint };
    for (let i = 0; i < count; i++) this.latency.record(seconds, attrs);
  }

  /**
   * Every instrument's current points as Prometheus series, named and labelled as /metrics names them (the
   * exporter's rules in metric-names.ts), cumulative, stamped with the collection time. Needs `collect: true`.
   */
  async collectSeries(): Promise<PromSeries[]> {
    if (!this.onDemand) throw new Error('Telemetry was started without collect: true');
    if (this.shutDown) return [];
    const { resourceMetrics } = await this.onDemand.collect();
    return toPromSeries(resourceMetrics, this.common);
  }

  /** Keeps /metrics up for lingerMs (default two scrape intervals) so the final values get scraped, then stops. */
  async shutdown(options: { lingerMs?: number } = {}): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    const lingerMs = this.url === undefined ? 0 : (options.lingerMs ?? 2 * (this.options.scrapeIntervalMs ?? 5000));
    if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
    await this.provider.shutdown(); // also stops the exporter's HTTP server
  }

  private observeVerdicts(o: (key: ObservableKey, value: number | null | undefined, attrs?: Attributes) => void): void {
    const v = this.verdicts;
    const now = new Map<string, number>();
    const put = (key: ObservableKey, value: number | null, attrs: Attributes = {}): void => {
      const id = `${key}${JSON.stringify(attrs)}`;
      if (value === null && !this.verdictSeries.has(id)) return; // absent until it first has a value
      this.verdictSeries.set(id, { key, attrs });
      now.set(id, value ?? NaN);
    };
    o('verdictsPartial', v.partial ? 1 : 0);
    for (const s of v.slo) put('sloStatus', SLO_STATUS_VALUE[s.status], { slo: s.name });
    for (const l of v.leaks) {
      put('leakSlope', l.slopeBytesPerHour, { service: l.service });
      put('leakStatus', LEAK_STATUS_VALUE[l.verdict], { service: l.service });
    }
    put('breakingPoint', v.breakingPointUsers);
    for (const [id, { key, attrs }] of this.verdictSeries) o(key, now.get(id) ?? NaN, attrs);
  }

  private observeAll(o: (key: ObservableKey, value: number | null | undefined, attrs?: Attributes) => void): void {
    o('usersActive', this.activeUsers);
    o('remoteWriteFailures', this.remoteWriteFailures);
    this.observeVerdicts(o);
    for (const [name, index] of this.phases) o('phase', name === this.phase ? 1 : 0, { phase: name, phase_index: index });
    const s = this.snapshot;
    if (!s) return;
    for (const [service, c] of Object.entries(s.containers)) {
      const a = { service };
      o('containerCpuUsage', c.cpuCores, a);
      o('containerCpuTime', c.cpuUserSeconds, { ...a, 'cpu.mode': 'user' });
      o('containerCpuTime', c.cpuSystemSeconds, { ...a, 'cpu.mode': 'system' });
      o('containerCpuLimitUtilization', c.cpuLimitUtilization, a);
      o('containerCpuThrottledTime', c.throttledSeconds, a);
      o('containerCpuThrottledPeriods', c.throttledPeriods, a);
      o('containerCpuPeriods', c.throttlingPeriods, a);
      o('containerMemoryUsage', c.memoryUsageBytes, a);
      o('containerMemoryWorkingSet', c.memoryWorkingSetBytes, a);
      o('containerMemoryRss', c.memoryRssBytes, a);
      o('containerMemoryAvailable', c.memoryAvailableBytes, a);
      o('containerMemoryLimit', c.memoryLimitBytes, a);
      o('containerNetworkIo', c.networkRxBytes, { ...a, 'network.io.direction': 'receive' });
      o('containerNetworkIo', c.networkTxBytes, { ...a, 'network.io.direction': 'transmit' });
      o('containerDiskIo', c.blockReadBytes, { ...a, 'disk.io.direction': 'read' });
      o('containerDiskIo', c.blockWriteBytes, { ...a, 'disk.io.direction': 'write' });
      o('containerRestarts', c.restarts, a);
      o('containerOomKills', c.oomKills, a);
    }
    const pg = s.postgres;
    if (this.sawPostgres) o('pgUp', pg ? 1 : 0);
    if (pg) {
      o(
        'pgBackends',
        Object.values(pg.connectionsByState).reduce((x, y) => x + y, 0),
      );
      o('pgConnectionMax', pg.maxConnections);
      o('pgCommits', pg.totals.commits);
      o('pgRollbacks', pg.totals.rollbacks);
      o('pgDeadlocks', pg.totals.deadlocks);
      o('pgBlksHit', pg.totals.blksHit);
      o('pgBlksRead', pg.totals.blksRead);
      o('pgTempIo', pg.totals.tempBytes);
      for (const [mode, l] of Object.entries(pg.locksByMode)) {
        o('pgLocks', l.granted, { mode, granted: 'true' });
        o('pgLocks', l.waiting, { mode, granted: 'false' });
      }
      for (const [app, states] of Object.entries(pg.connectionsByApp)) {
        for (const [state, n] of Object.entries(states)) o('pgConnections', n, { state, application_name: app });
      }
      for (const [type, n] of Object.entries(pg.waitingByType)) o('pgWaiting', n, { wait_event_type: type });
      o('pgBlocked', pg.blockedSessions);
      o('pgUngrantedLocks', pg.ungrantedLocks);
      o('pgOldestXactAge', pg.oldestXactAgeSeconds);
      o('pgIdleInTransaction', pg.idleInTransaction);
      o('pgIdleInTransactionAge', pg.oldestIdleInTransactionSeconds);
    }
    o('hostCpuUsage', s.host.cpuUtilization);
    o('hostMemoryUsage', s.host.memoryUsedBytes);
    o('generatorCpuUsage', s.generator.cpuCores);
    o('generatorMemoryRss', s.generator.memoryRssBytes);
    for (const [sampler, t] of Object.entries(s.sampler.timings)) o('samplerDuration', t.durationMs / 1000, { sampler });
    o('samplerLag', s.sampler.lagMs / 1000);
    o('samplerSkippedTicks', s.sampler.skippedTicks);
  }
}

const hrMs = (t: HrTime): number => t[0] * 1000 + Math.round(t[1] / 1e6);

function kindOf(m: MetricData): InstrumentKind {
  if (m.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (m.dataPointType === DataPointType.SUM) return m.isMonotonic ? 'counter' : 'observableUpDownCounter';
  return 'observableGauge';
}

function labelsOf(attributes: Attributes): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [promLabel(k), String(v)]));
}

/** ResourceMetrics → series as the Prometheus exporter exposes them: `_total` counters, `_bucket{le}`/`_sum`/`_count`, target_info. */
function toPromSeries(rm: ResourceMetrics, common: Attributes): PromSeries[] {
  const out: PromSeries[] = [];
  let atMs = 0;
  const push = (name: string, labels: Record<string, string>, value: number, timestampMs: number) =>
    out.push({ labels: { __name__: name, ...labels }, samples: [{ value, timestampMs }] });
  for (const scope of rm.scopeMetrics) {
    for (const m of scope.metrics) {
      const name = promName({ name: m.descriptor.name, kind: kindOf(m) });
      if (m.dataPointType === DataPointType.HISTOGRAM) {
        for (const p of m.dataPoints) {
          const ts = hrMs(p.endTime);
          atMs = Math.max(atMs, ts);
          const labels = labelsOf(p.attributes);
          let cumulative = 0;
          p.value.buckets.boundaries.forEach((le, i) => {
            cumulative += p.value.buckets.counts[i] ?? 0;
            push(`${name}_bucket`, { ...labels, le: String(le) }, cumulative, ts);
          });
          push(`${name}_bucket`, { ...labels, le: '+Inf' }, p.value.count, ts);
          push(`${name}_sum`, labels, p.value.sum ?? 0, ts);
          push(`${name}_count`, labels, p.value.count, ts);
        }
      } else if (m.dataPointType === DataPointType.SUM || m.dataPointType === DataPointType.GAUGE) {
        for (const p of m.dataPoints) {
          atMs = Math.max(atMs, hrMs(p.endTime));
          push(name, labelsOf(p.attributes), p.value, hrMs(p.endTime));
        }
      }
    }
  }
  // /metrics carries target_info (the resource); here it also gets run_id/scenario, like every other series.
  if (out.length > 0) push('target_info', { ...labelsOf(rm.resource.attributes), ...labelsOf(common) }, 1, atMs);
  return out;
}
