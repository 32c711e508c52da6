import { describe, expect, it } from 'vitest';
import type { Bottleneck } from './bottleneck.ts';
import type { CapacityResult, FailureMode } from './capacity.ts';
import { MIB } from './leak.ts';
import { recommend, type LeakFinding, type RecommendInput } from './recommend.ts';

const valid = { valid: true, problems: [] };
const bn = (kind: Bottleneck['kind'], role: Bottleneck['role'], resource: string, service: string | null): Bottleneck => ({
  resource,
  kind,
  service,
  role,
  rank: 1,
  evidence: {
    onsetS: 60,
    breachOnsetS: 62,
    leadS: 2,
    coverage: 0.9,
    lagS: 1,
    r: 0.5,
    significant: true,
    peak: 18,
    detail: `${resource} saturated from t=60 s`,
  },
});
const leak = (verdict: LeakFinding['verdict']): LeakFinding => ({
  service: 'app',
  verdict,
  kind: verdict === 'FAIL' ? 'FAIL_LEAK' : 'WARN_DECELERATING',
  slopeBytesPerHour: 512 * MIB,
  timeToLimitHours: 3,
});
const capacity = (containerEvents: FailureMode['containerEvents']): CapacityResult => ({
  steps: [],
  maxThroughputRps: 42,
  breakingPoint: {
    users: 40,
    throughputRps: 38,
    reason: 'run stopped on break: p95 760 ms > 300 ms for 3 s at 40 users',
    phase: 'step-2:40',
    detectedBy: 'stop-rule',
    lastPassUsers: 3,
    confirmedByNextStep: false,
    failureMode: {
      latency: { p95Ms: 760, limitMs: 300, exceeded: true },
      errorsByKind: { '4xx': 0, '5xx': 0, timeout: 0, connection: 0, other: 0, unknown: 0 },
      errorRatio: 0,
      retrograde: false,
      containerEvents,
      first: null,
      signals: [],
      summary: '',
    },
  },
  knee: null,
  kneeNote: '',
  usl: null,
  uslNote: '',
  stepNotes: [],
});

const input = (over: Partial<RecommendInput>): RecommendInput => ({
  validity: valid,
  bottlenecks: [],
  leaks: [],
  recovery: [],
  capacity: null,
  incomplete: false,
  ...over,
});

interface Case {
  name: string;
  input: RecommendInput;
  /** id → severity, in order, and a pattern the text must match. */
  expected: { id: string; severity: string; text?: RegExp; basedOn?: RegExp }[];
}

const cases: Case[] = [
  { name: 'nothing found → nothing recommended', input: input({}), expected: [] },
  {
    name: 'primary DB pool → raise pool max or cut DB time (critical), based on the pool evidence',
    input: input({ bottlenecks: [bn('pool', 'PRIMARY', 'db-pool:archiveorigin', 'archiveorigin')] }),
    expected: [{ id: 'pool:archiveorigin', severity: 'critical', text: /Raise the pool max.*cut per-request DB time/, basedOn: /^db-pool:archiveorigin: / }],
  },
  {
    name: 'contributing pool → warning',
    input: input({ bottlenecks: [bn('pool', 'CONTRIBUTING', 'db-pool:archiveorigin', 'archiveorigin')] }),
    expected: [{ id: 'pool:archiveorigin', severity: 'warning' }],
  },
  {
    name: 'saturated pool without an SLO breach still → warning',
    input: input({ bottlenecks: [bn('pool', 'SATURATED', 'db-pool:archiveorigin', 'archiveorigin')] }),
    expected: [{ id: 'pool:archiveorigin', severity: 'warning', text: /^Saturated/ }],
  },
  { name: 'saturated CPU without a breach → no advice', input: input({ bottlenecks: [bn('cpu', 'SATURATED', 'cpu:app', 'app')] }), expected: [] },
  {
    name: 'primary CPU → CPU-bound',
    input: input({ bottlenecks: [bn('cpu', 'PRIMARY', 'cpu:app', 'app')] }),
    expected: [{ id: 'cpu:app', severity: 'critical', text: /CPU-bound/ }],
  },
  {
    name: 'one thread at a full core → more worker processes, not more cores',
    input: input({ bottlenecks: [bn('thread', 'PRIMARY', 'thread:app', 'app')] }),
    expected: [{ id: 'thread:app', severity: 'critical', text: /more cores or a higher CPU limit will not help.*worker processes/ }],
  },
  {
    name: 'locks → lock contention',
    input: input({ bottlenecks: [bn('locks', 'CONTRIBUTING', 'postgres:locks', 'postgres')] }),
    expected: [{ id: 'postgres-locks', severity: 'warning', text: /lock contention/ }],
  },
  {
    name: 'leak FAIL → critical with rate and time to limit',
    input: input({ leaks: [leak('FAIL')], endpointMix: { api: 0.75, health: 0.25 } }),
    expected: [{ id: 'leak:app', severity: 'critical', text: /512\.0 MiB\/h.*about 3 h.*api 75 %, health 25 %/ }],
  },
  {
    name: 'fast leak: time to the limit in minutes, not "about 0 h"',
    input: input({ leaks: [{ ...leak('FAIL'), timeToLimitHours: 0.11 }] }),
    expected: [{ id: 'leak:app', severity: 'critical', text: /limit is reached in about 7 min\./ }],
  },
  {
    name: 'leak WARN → extend the soak',
    input: input({ leaks: [leak('WARN')] }),
    expected: [{ id: 'leak:app', severity: 'warning', text: /extend the soak/ }],
  },
  {
    name: 'cache growth (anon flat) → info: bound the cache, not a leak',
    input: input({ leaks: [{ ...leak('WARN'), service: 'postgres', kind: 'WARN_CACHE_GROWTH', slopeBytesPerHour: 50 * MIB }] }),
    expected: [{ id: 'leak:postgres', severity: 'info', text: /50\.0 MiB\/h in page cache or shared memory.*not a leak.*shared_buffers/ }],
  },
  { name: 'leak PASS / INCONCLUSIVE → nothing', input: input({ leaks: [leak('PASS'), leak('INCONCLUSIVE')] }), expected: [] },
  {
    name: 'generator saturated → critical, first',
    input: input({ validity: { valid: false, problems: [{ code: 'generator-cpu-saturated', message: 'load generator at ≥ 90 %' }] } }),
    expected: [{ id: 'generator-saturated', severity: 'critical', basedOn: /load generator/ }],
  },
  {
    name: 'breaking point → capacity range',
    input: input({ capacity: capacity([]) }),
    expected: [{ id: 'capacity', severity: 'info', text: /Capacity ∈ \[3, 40\) users \(max sustainable 42\.0 rps\)/, basedOn: /stopped on break/ }],
  },
  {
    name: 'breaking point with an OOM-killed container → named in the evidence',
    input: input({ capacity: capacity([{ tS: 70, service: 'app', kind: 'container-oom', oomKilled: true }]) }),
    expected: [{ id: 'capacity', severity: 'info', basedOn: /app OOM-killed/ }],
  },
  { name: 'incomplete run → rerun', input: input({ incomplete: true }), expected: [{ id: 'incomplete', severity: 'warning' }] },
];

describe('recommend (table)', () => {
  it.each(cases)('$name', ({ input: i, expected }) => {
    const got = recommend(i);
    expect(got.map((r) => [r.id, r.severity])).toEqual(expected.map((e) => [e.id, e.severity]));
    expected.forEach((e, k) => {
      if (e.text) expect(got[k]!.text).toMatch(e.text);
      if (e.basedOn) expect(got[k]!.basedOn).toMatch(e.basedOn);
    });
  });
});
