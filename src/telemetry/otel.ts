// The only module importing @opentelemetry/*. One MeterProvider per run, a pull PrometheusExporter bound to
// loopback, observable instruments that read a cache (the latest SampleSnapshot) — no I/O in callbacks, so a
// scrape never waits on Docker or Postgres — and synchronous instruments fed by the load engine.
import { DEFAULT_METRICS } from '../config/defaults.ts';
import { ValueType, type Attributes, type BatchObservableCallback, type Counter, type Histogram, type Observable } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { SampleSnapshot } from '../samplers/types.ts';
import { METRICS, type MetricDef, type MetricKey } from './metric-names.ts';

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
}

type ObservableKey = MetricKey; // observable subset, checked at runtime by kind

export class Telemetry {
  readonly url: string;
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
  private verdicts?: { slo: { name: string; pass: boolean }[]; leakSlopeBytesPerHour: Record<string, number>; breakingPointUsers: number | null };
  private shutDown = false;

  private constructor(
    private readonly options: TelemetryOptions,
    private readonly exporter: PrometheusExporter,
    host: string,
    port: number,
    endpoint: string,
  ) {
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${endpoint}`;
    this.common = { run_id: options.runId, scenario: options.scenario };
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'loadscope', 'service.version': options.serviceVersion ?? '0.1.0', 'loadscope.run_id': options.runId }),
      readers: [exporter],
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
    this.callback = (r) => this.observeAll((key, value, attrs) => {
      const o = this.observables.get(key);
      if (o && value !== null && value !== undefined && Number.isFinite(value)) r.observe(o, value, { ...this.common, ...attrs });
    });
    meter.addBatchObservableCallback(this.callback, [...this.observables.values()]);
  }

  /** Starts the /metrics endpoint; rejects (e.g. EADDRINUSE) instead of logging and carrying on. */
  static async start(options: TelemetryOptions): Promise<Telemetry> {
    const host = options.host ?? DEFAULT_METRICS.host;
    const port = options.port ?? DEFAULT_METRICS.port;
    const endpoint = options.endpoint ?? '/metrics';
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

  /** Live verdicts (SLO status, leak slope per service, breaking point), replaced as a whole. */
  setVerdicts(v: { slo: { name: string; pass: boolean }[]; leakSlopeBytesPerHour: Record<string, number>; breakingPointUsers: number | null }): void {
    this.verdicts = v;
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

  /** Keeps /metrics up for lingerMs (default two scrape intervals) so the final values get scraped, then stops. */
  async shutdown(options: { lingerMs?: number } = {}): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    const lingerMs = options.lingerMs ?? 2 * (this.options.scrapeIntervalMs ?? 5000);
    if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
    await this.provider.shutdown(); // also stops the exporter's HTTP server
  }

  private observeAll(o: (key: ObservableKey, value: number | null | undefined, attrs?: Attributes) => void): void {
    o('usersActive', this.activeUsers);
    if (this.verdicts) {
      for (const slo of this.verdicts.slo) o('sloStatus', slo.pass ? 1 : 0, { slo: slo.name });
      for (const [service, slope] of Object.entries(this.verdicts.leakSlopeBytesPerHour)) o('leakSlope', slope, { service });
      if (this.verdicts.breakingPointUsers !== null) o('breakingPoint', this.verdicts.breakingPointUsers);
    }
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
      o('pgBackends', Object.values(pg.connectionsByState).reduce((x, y) => x + y, 0));
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
