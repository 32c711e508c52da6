// The only module importing prometheus-remote-write and snappyjs: the Prometheus remote-write 1.0 body
// (a prometheus.WriteRequest in protobuf, snappy block-compressed). Encoding comes from those libraries; this
// module only maps our series to their payload and back.
import prom from 'prometheus-remote-write/prom.js';
import snappy from 'snappyjs';

/** One Prometheus series: `__name__` and the other labels, with its samples (ms since the epoch). */
export interface PromSeries {
  labels: Record<string, string>;
  samples: { value: number; timestampMs: number }[];
}

interface WireLabel {
  name: string;
  value: string;
}

// The compiled prom.proto the package ships (its index.js wraps the same type with an HTTP helper we don't use:
// we send with our own retries and the protocol's headers).
const WriteRequest = prom.prometheus.WriteRequest;

/** Headers of a remote-write 1.0 request. */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

const byName = (a: WireLabel, b: WireLabel): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The request body for these series. Labels are sorted by name, as the protocol requires. */
export function encodeWriteRequest(series: readonly PromSeries[]): Uint8Array {
  const payload = {
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels)
        .map(([name, value]) => ({ name, value }))
        .sort(byName),
      samples: s.samples.map((p) => ({ value: p.value, timestamp: p.timestampMs })),
    })),
  };
  const problem = WriteRequest.verify(payload);
  if (problem) throw new Error(`remote write: invalid request: ${problem}`);
  return snappy.compress(WriteRequest.encode(payload).finish());
}

/** The series in a request body (what a receiver sees): for tests and fakes of a receiver. */
export function decodeWriteRequest(body: Uint8Array): PromSeries[] {
  const req = WriteRequest.decode(snappy.uncompress(body));
  return req.timeseries.map((t) => ({
    labels: Object.fromEntries(t.labels.map((l) => [l.name, l.value])),
    samples: t.samples.map((p) => ({ value: p.value, timestampMs: typeof p.timestamp === 'number' ? p.timestamp : p.timestamp.toNumber() })),
  }));
}
