// Locust `--csv` files, same columns, so existing Locust tooling and habits keep working.
import type { LatencyHistogram } from '../load/histogram.ts';

export const STATS_HEADER =
  'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Cancelled Count';
export const HISTORY_HEADER =
  'Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size';
export const FAILURES_HEADER = 'Method,Name,Error,Occurrences';
const PCTS = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100] as const;

export interface EndpointTotals {
  method: string;
  count: number;
  failures: number;
  /** in flight when the run stopped: in no other column (stats CSV only, after Locust's columns) */
  cancelled?: number;
  bytes: number;
  hist: LatencyHistogram;
}

const ms = (us: number): string => String(Math.round(us / 1000));
const ms2 = (us: number): string => (us / 1000).toFixed(2);
const num = (n: number): string => (Number.isFinite(n) ? n.toFixed(2).replace(/\.?0+$/, '') || '0' : '0');

export function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function pcts(h: LatencyHistogram): string[] {
  return PCTS.map((p) => (h.totalCount === 0 ? 'N/A' : ms(h.getValueAtPercentile(p))));
}

export function statsRow(type: string, name: string, t: EndpointTotals, durationS: number): string {
  const h = t.hist;
  const has = h.totalCount > 0;
  return [
    csvField(type),
    csvField(name),
    t.count,
    t.failures,
    has ? ms(h.getValueAtPercentile(50)) : 0,
    has ? ms2(h.mean) : 0,
    has ? ms2(h.minNonZeroValue) : 0,
    has ? ms2(h.maxValue) : 0,
    t.count ? num(t.bytes / t.count) : 0,
    num(t.count / Math.max(durationS, 1e-9)),
    num(t.failures / Math.max(durationS, 1e-9)),
    ...pcts(h),
    t.cancelled ?? 0,
  ].join(',');
}

export function historyRow(tsS: number, users: number, type: string, name: string, second: EndpointTotals, total: EndpointTotals): string {
  const th = total.hist;
  const has = th.totalCount > 0;
  return [
    tsS,
    users,
    csvField(type),
    csvField(name),
    num(second.count),
    num(second.failures),
    ...pcts(second.hist),
    total.count,
    total.failures,
    has ? ms(th.getValueAtPercentile(50)) : 0,
    has ? ms2(th.mean) : 0,
    has ? ms2(th.minNonZeroValue) : 0,
    has ? ms2(th.maxValue) : 0,
    total.count ? num(total.bytes / total.count) : 0,
  ].join(',');
}

export function failuresRows(failures: ReadonlyMap<string, number>): string[] {
  return [...failures].map(([key, n]) => {
    const [method = '', name = '', error = ''] = key.split('\t');
    return [csvField(method), csvField(name), csvField(error), n].join(',');
  });
}
