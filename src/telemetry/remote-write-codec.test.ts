// The remote-write body decodes (with the same library's decoder) to exactly what was encoded: labels sorted by
// name as the protocol requires, int64 millisecond timestamps intact, special float values kept.
import { describe, expect, it } from 'vitest';
import { decodeWriteRequest, encodeWriteRequest, REMOTE_WRITE_HEADERS, type PromSeries } from './remote-write-codec.ts';

const series: PromSeries[] = [
  {
    labels: {
      scenario: 'normal',
      __name__: 'loadscope_requests_total',
      run_id: '20261202-171300-normal-ab12',
      endpoint: 'GET /items',
      status_class: '2xx',
      phase: 'steady',
    },
    samples: [{ value: 1234, timestampMs: 1_796_231_782_006 }],
  },
  { labels: { __name__: 'http_client_request_duration_bucket', run_id: 'r', le: '+Inf' }, samples: [{ value: 7, timestampMs: 1_796_231_787_006 }] },
  {
    labels: { __name__: 'loadscope_postgresql_oldest_xact_age', run_id: 'r', note: 'quotes " and \\ and ünïcode' },
    samples: [
      { value: 12.5, timestampMs: 1 },
      { value: Number.POSITIVE_INFINITY, timestampMs: 2 },
    ],
  },
];

describe('remote-write codec (prometheus-remote-write + snappyjs)', () => {
  it('round-trips series: same labels and samples', () => {
    const decoded = decodeWriteRequest(encodeWriteRequest(series));
    expect(decoded).toEqual(series);
  });

  it('sends labels sorted by name (__name__ first) on the wire', () => {
    const [first] = decodeWriteRequest(encodeWriteRequest(series.slice(0, 1)));
    expect(Object.keys(first!.labels)).toEqual(['__name__', 'endpoint', 'phase', 'run_id', 'scenario', 'status_class']);
  });

  it('compresses: a body of many similar series is much smaller than their labels as text', () => {
    const many: PromSeries[] = Array.from({ length: 500 }, (_, i) => ({
      labels: {
        __name__: 'http_client_request_duration_bucket',
        run_id: '20261202-171300-normal-ab12',
        scenario: 'normal',
        endpoint: 'GET /items',
        le: String(i),
      },
      samples: [{ value: i, timestampMs: 1_796_231_782_006 }],
    }));
    const body = encodeWriteRequest(many);
    expect(body.length).toBeLessThan(JSON.stringify(many).length / 4);
    expect(decodeWriteRequest(body)).toHaveLength(500);
  });

  it('rejects a body that is not snappy-compressed protobuf', () => {
    expect(() => decodeWriteRequest(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow();
  });

  it('declares the remote-write 1.0 headers', () => {
    expect(REMOTE_WRITE_HEADERS).toEqual({
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    });
  });
});
