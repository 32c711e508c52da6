// Wires the samplers and telemetry into a run: one snapshot per second goes to series.ndjson (as the
// `containers`, `postgres`, `host` and `sampler` sections) and to the Prometheus endpoint, beside the load.
import type { SecondSample } from '../load/engine.ts';
import { forEachRecordedValue } from '../load/histogram.ts';
import { ContainerSampler } from '../samplers/containers.ts';
import { HostSampler } from '../samplers/host.ts';
import { PostgresSampler } from '../samplers/postgres.ts';
import { SamplingScheduler } from '../samplers/scheduler.ts';
import type { ContainerTarget } from '../samplers/containers.ts';
import type { SampleSnapshot, SamplerEvent } from '../samplers/types.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import type { RunWriter } from '../store/run-writer.ts';
import { Telemetry } from '../telemetry/otel.ts';
import type { PgConnectionSettings } from '../samplers/pg-client.ts';
import { LiveJudge, verdictValues } from './live-verdicts.ts';
import { startRemoteWrite, type RemoteWriteHandle } from './remote-write.ts';
import type { Analysis } from '../analysis/analyze.ts';
import type { RemoteWriteConfig } from '../config/schema.ts';

export interface ObserverOptions {
  runId: string;
  scenario: string;
  writer: RunWriter;
  runtime?: ContainerRuntime;
  containers: readonly ContainerTarget[];
  /** the sampled database, parsed and allow-listed by the run plan */
  postgres?: PgConnectionSettings;
  intervalMs: number;
  /** null: no Prometheus endpoint for this run. */
  metrics: { host: string; port: number; scrapeIntervalMs: number } | null;
  /** Push the same metrics to a Prometheus remote-write endpoint (works with or without /metrics). */
  remoteWrite?: RemoteWriteConfig;
  log: (line: string) => void;
  /** each new snapshot, for the CLI's live view */
  onSample?: (s: SampleSnapshot) => void;
}

export class RunObserver {
  private latest: SampleSnapshot | undefined;
  private lastPhase = '';
  /** The post-mortem over the run so far, feeding the verdict metrics (partial) until close(). */
  private judge: LiveJudge | undefined;
  private stopping: Promise<void> | undefined;
  private remoteWrite: RemoteWriteHandle | undefined;

  private constructor(
    private readonly o: ObserverOptions,
    private readonly scheduler: SamplingScheduler,
    private readonly containers: ContainerSampler | undefined,
    private readonly postgres: PostgresSampler | undefined,
    readonly telemetry: Telemetry | undefined,
  ) {}

  static async start(o: ObserverOptions): Promise<RunObserver> {
    const onEvent = (e: SamplerEvent): void => {
      o.writer.event(`sampler-${e.kind}`, { sampler: e.sampler, message: e.message, ...(e.data ?? {}) }, e.tMs);
      o.log(`sampler ${e.sampler}: ${e.message}`);
    };
    const telemetry =
      o.metrics || o.remoteWrite
        ? await Telemetry.start({ runId: o.runId, scenario: o.scenario, ...o.metrics, serve: o.metrics !== null, collect: o.remoteWrite !== undefined })
        : undefined;
    const containers = o.runtime && o.containers.length > 0 ? new ContainerSampler({ runtime: o.runtime, targets: o.containers, onEvent }) : undefined;
    const postgres = o.postgres ? new PostgresSampler({ connection: o.postgres, onEvent }) : undefined;
    const ref: { observer?: RunObserver } = {};
    const scheduler = new SamplingScheduler({
      intervalMs: o.intervalMs,
      containers,
      postgres,
      host: new HostSampler(),
      onEvent,
      onSample: (s) => ref.observer?.onSample(s),
    });
    const observer = new RunObserver(o, scheduler, containers, postgres, telemetry);
    ref.observer = observer;
    // The series line for second N carries the newest snapshot taken by then (sampling is not aligned to the load clock).
    o.writer.addSection('containers', () => observer.latest?.containers);
    o.writer.addSection('postgres', () => (observer.latest ? observer.latest.postgres : undefined));
    o.writer.addSection('host', () => observer.latest?.host);
    o.writer.addSection('sampler', () => observer.latest?.sampler);
    containers?.start();
    scheduler.start();
    if (telemetry) observer.judge = LiveJudge.start(o.writer.runDir, (v) => telemetry.setVerdicts(v));
    if (telemetry?.url) o.log(`metrics: ${telemetry.url}`);
    if (telemetry && o.remoteWrite) observer.remoteWrite = startRemoteWrite(telemetry, o.remoteWrite, o.writer, o.log);
    return observer;
  }

  private onSample(s: SampleSnapshot): void {
    this.latest = s;
    this.telemetry?.updateSnapshot(s);
    this.o.onSample?.(s);
  }

  private readonly oomKills = new Map<string, number>();

  /** The stack's own event watcher saw an OOM kill: count it on that service's series. */
  noteStackTrouble(e: { kind: string; service: string }): void {
    if (e.kind !== 'container-oom') return;
    const n = (this.oomKills.get(e.service) ?? 0) + 1;
    this.oomKills.set(e.service, n);
    this.containers?.setLifecycleCounts(e.service, { oomKills: n });
  }

  /** One load second: requests by status class, errors by kind, latency histogram, phase and users. */
  onSecond(s: SecondSample): void {
    const t = this.telemetry;
    if (!t) return;
    if (s.phase !== this.lastPhase) {
      t.setPhase(s.phase);
      this.lastPhase = s.phase;
    }
    t.setActiveUsers(s.activeUsers);
    for (const [endpoint, e] of s.endpoints) {
      const failed = e.errors['4xx'] + e.errors['5xx'] + e.errors.timeout + e.errors.connection + e.errors.other;
      t.recordRequests(endpoint, '2xx', Math.max(0, e.count - failed));
      t.recordRequests(endpoint, '4xx', e.errors['4xx']);
      t.recordRequests(endpoint, '5xx', e.errors['5xx']);
      for (const kind of ['4xx', '5xx', 'timeout', 'connection', 'other'] as const) t.recordError(kind, e.errors[kind]);
      forEachRecordedValue(e.hist, (valueUs, count) => t.recordLatency(endpoint, valueUs / 1e6, count));
    }
  }

  /** Stops sampling and the live judge; /metrics stays up (last values) until close(). Idempotent. */
  stopSampling(): Promise<void> {
    this.stopping ??= Promise.allSettled([this.scheduler.stop(), this.containers?.stop(), this.postgres?.stop(), this.judge?.stop()]).then(() => undefined);
    return this.stopping;
  }

  /**
   * Ends the run's telemetry: with the post-mortem, the verdict metrics become its result and are marked final, so
   * the last scrape (and the final remote-write push) equals analysis.json (docs/ANALYSIS.md, Live verdicts);
   * without one they stay partial.
   */
  async close(analysis?: Analysis): Promise<void> {
    await this.stopSampling();
    if (analysis) this.telemetry?.setVerdicts(verdictValues(analysis, false));
    await this.remoteWrite?.stop();
    await this.telemetry?.shutdown();
  }
}
