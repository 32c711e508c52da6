// Pushes the run's metrics to a Prometheus remote-write endpoint on its own schedule: every interval, and once
// more at the end (the final values). A push that fails is retried a bounded number of times with back-off, then
// given up and reported; nothing here throws into the run — the load never waits on, or stops for, the receiver.
import { encodeWriteRequest, REMOTE_WRITE_HEADERS, type PromSeries } from './remote-write-codec.ts';

export interface RemoteWriteFailure {
  /** Pushes given up so far, this one included. */
  failures: number;
  attempts: number;
  samples: number;
  error: string;
}

export interface RemoteWriteStats {
  pushes: number;
  failures: number;
  samplesSent: number;
  /** Ticks that found the previous push still retrying (it is never run twice at once). */
  skippedTicks: number;
}

export interface RemoteWriterOptions {
  url: string;
  intervalMs: number;
  /** The series to send now (Telemetry.collectSeries). */
  collect: () => Promise<PromSeries[]>;
  onFailure: (f: RemoteWriteFailure) => void;
  /** Tries per push, the first included. */
  maxAttempts?: number;
  /** Wait before the first retry; doubled for each further one. */
  backoffMs?: number;
  /** Per HTTP request. */
  timeoutMs?: number;
}

export const REMOTE_WRITE_DEFAULTS = { maxAttempts: 3, backoffMs: 250, timeoutMs: 5000 } as const;

class PushError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export class RemoteWriter {
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly stats: RemoteWriteStats = { pushes: 0, failures: 0, samplesSent: 0, skippedTicks: 0 };
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly o: RemoteWriterOptions) {
    this.maxAttempts = Math.max(1, o.maxAttempts ?? REMOTE_WRITE_DEFAULTS.maxAttempts);
    this.backoffMs = o.backoffMs ?? REMOTE_WRITE_DEFAULTS.backoffMs;
    this.timeoutMs = o.timeoutMs ?? REMOTE_WRITE_DEFAULTS.timeoutMs;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      if (this.inFlight) this.stats.skippedTicks++;
      else this.run();
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops the schedule, waits for a push under way, then pushes the final values once. Never rejects. */
  async stop(): Promise<RemoteWriteStats> {
    if (this.stopped) return { ...this.stats };
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
    this.run();
    await this.inFlight;
    return { ...this.stats };
  }

  private run(): void {
    this.inFlight = this.pushOnce().finally(() => (this.inFlight = undefined));
  }

  private async pushOnce(): Promise<void> {
    let samples = 0;
    let attempts = 0;
    try {
      const series = await this.o.collect();
      if (series.length === 0) return;
      samples = series.reduce((n, s) => n + s.samples.length, 0);
      const body = encodeWriteRequest(series);
      for (;;) {
        attempts++;
        try {
          await this.post(body);
          this.stats.pushes++;
          this.stats.samplesSent += samples;
          return;
        } catch (err) {
          if (!(err instanceof PushError && err.retryable) || attempts >= this.maxAttempts) throw err;
          await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempts - 1)));
        }
      }
    } catch (err) {
      this.stats.failures++;
      try {
        this.o.onFailure({ failures: this.stats.failures, attempts, samples, error: (err as Error).message });
      } catch {
        /* a failing reporter must not break the run either */
      }
    }
  }

  /** One request. 5xx, 429, timeouts and connection errors may pass on a retry; other answers will not. */
  private async post(body: Uint8Array): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.o.url, {
        method: 'POST',
        headers: { ...REMOTE_WRITE_HEADERS, 'User-Agent': 'loadscope' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new PushError(e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message), true);
    }
    const text = (await res.text().catch(() => '')).trim().slice(0, 200);
    if (res.ok) return;
    throw new PushError(`HTTP ${res.status}${text ? `: ${text}` : ''}`, res.status >= 500 || res.status === 429);
  }
}
