// Per-thread, per-endpoint counters for the current second; flushed (and reset) once a second.
import { ERROR_KINDS, type ErrorKind } from './flow-runner.ts';
import { createLatencyHistogram, encodeHistogram, recordLatencyUs, type LatencyHistogram } from './histogram.ts';

export type ErrorCounts = Record<ErrorKind, number>;
export const zeroErrors = (): ErrorCounts => ({ '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0 });

export interface EndpointSecondWire {
  method: string;
  count: number;
  errors: ErrorCounts;
  bytes: number;
  /** requests in flight when the run stopped: not in count, errors or hist */
  cancelled: number;
  /** latency µs, hdr compressed base64 */
  hist: string;
}

export interface RecorderFlush {
  endpoints: Record<string, EndpointSecondWire>;
  /** `<method>\t<name>\t<error>` → occurrences this second */
  failures: Record<string, number>;
  /** test hook: raw latencies in µs */
  rawUs?: Record<string, number[]>;
  /** open model: requests that could not start on time */
  droppedLate: number;
}

interface EndpointAcc {
  method: string;
  count: number;
  cancelled: number;
  errors: ErrorCounts;
  bytes: number;
  hist: LatencyHistogram;
}

export class Recorder {
  private readonly byName = new Map<string, EndpointAcc>();
  private failures: Record<string, number> = {};
  private rawUs: Record<string, number[]> | undefined;
  droppedLate = 0;

  /** @param stopped true once the run has stopped: whatever ends after that was cancelled, not completed */
  constructor(
    private readonly keepRaw = false,
    private readonly stopped: () => boolean = () => false,
  ) {
    if (keepRaw) this.rawUs = {};
  }

  private acc(name: string, method: string): EndpointAcc {
    let a = this.byName.get(name);
    if (!a) {
      a = { method, count: 0, cancelled: 0, errors: zeroErrors(), bytes: 0, hist: createLatencyHistogram() };
      this.byName.set(name, a);
    }
    return a;
  }

  /** A response arrived (any status). */
  response(name: string, method: string, latencyUs: number, errorKind: ErrorKind | undefined, bytes: number, status: number): void {
    if (this.stopped()) return this.cancelled(name, method);
    const a = this.acc(name, method);
    a.count++;
    a.bytes += bytes;
    recordLatencyUs(a.hist, latencyUs);
    if (this.rawUs) (this.rawUs[name] ??= []).push(latencyUs);
    if (errorKind) {
      a.errors[errorKind]++;
      this.fail(method, name, `HTTP ${status}`);
    }
  }

  /** No response: timeout, connection error, other. Counted, no latency recorded. */
  exception(name: string, method: string, kind: ErrorKind, detail: string): void {
    // after the stop, the error is most likely our own teardown of the connection
    if (this.stopped()) return this.cancelled(name, method);
    const a = this.acc(name, method);
    a.count++;
    a.errors[kind]++;
    this.fail(method, name, detail);
  }

  /** A request was in flight when the run stopped: neither a completion nor an error, no latency. */
  cancelled(name: string, method: string): void {
    this.acc(name, method).cancelled++;
  }

  private fail(method: string, name: string, error: string): void {
    const key = `${method}\t${name}\t${error}`;
    this.failures[key] = (this.failures[key] ?? 0) + 1;
  }

  flush(): RecorderFlush {
    const endpoints: Record<string, EndpointSecondWire> = {};
    for (const [name, a] of this.byName) {
      if (a.count === 0 && a.cancelled === 0) continue;
      endpoints[name] = { method: a.method, count: a.count, cancelled: a.cancelled, errors: { ...a.errors }, bytes: a.bytes, hist: encodeHistogram(a.hist) };
      a.count = 0;
      a.cancelled = 0;
      a.bytes = 0;
      for (const k of ERROR_KINDS) a.errors[k] = 0;
      a.hist.reset();
    }
    const out: RecorderFlush = { endpoints, failures: this.failures, droppedLate: this.droppedLate };
    if (this.keepRaw) {
      out.rawUs = this.rawUs;
      this.rawUs = {};
    }
    this.failures = {};
    this.droppedLate = 0;
    return out;
  }
}
