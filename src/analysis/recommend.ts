// Recommendations derived only from findings: each one names the evidence it rests on.
import type { Bottleneck } from './bottleneck.ts';
import type { CapacityResult } from './capacity.ts';
import { hoursText, MIB } from './leak.ts';
import type { RecoveryResult } from './recovery.ts';
import type { Validity } from './validity.ts';

export interface LeakFinding {
  service: string;
  verdict: 'PASS' | 'WARN' | 'FAIL' | 'INCONCLUSIVE';
  kind: string;
  slopeBytesPerHour: number | null;
  timeToLimitHours: number | null;
}

export interface Recommendation {
  id: string;
  severity: 'critical' | 'warning' | 'info';
  text: string;
  basedOn: string;
}

export interface RecommendInput {
  validity: Validity;
  bottlenecks: readonly Bottleneck[];
  leaks: readonly LeakFinding[];
  recovery: readonly Pick<RecoveryResult, 'kind' | 'startS' | 'verdict' | 'note'>[];
  capacity: CapacityResult | null;
  /** Share of requests per endpoint during the soak window, for the leak mix. */
  endpointMix?: Readonly<Record<string, number>>;
  incomplete: boolean;
}

/** Recommendations in a fixed order (validity, bottlenecks, leaks, recovery, capacity, incomplete run): golden reports depend on it. */
export function recommend(i: RecommendInput): Recommendation[] {
  return [
    ...validityRecommendations(i.validity),
    ...bottleneckRecommendations(i.bottlenecks),
    ...leakRecommendations(i.leaks, i.endpointMix),
    ...recoveryRecommendations(i.recovery),
    ...capacityRecommendations(i.capacity),
    ...incompleteRecommendations(i.incomplete),
  ];
}

function validityRecommendations(validity: Validity): Recommendation[] {
  const out: Recommendation[] = [];
  for (const p of validity.problems) {
    if (p.code === 'worker-cpu-saturated')
      out.push({
        id: 'worker-saturated',
        severity: 'critical',
        text: 'A load worker of this fleet run ran out of CPU: run more workers (--workers) or give them more cores, then rerun. No SUT conclusion can be drawn from this run.',
        basedOn: p.message,
      });
    if (p.code === 'generator-cpu-saturated')
      out.push({
        id: 'generator-saturated',
        severity: 'critical',
        text: 'The load generator ran out of CPU: add worker threads or load-generator hosts, or run fewer users per worker, then rerun. No SUT conclusion can be drawn from this run.',
        basedOn: p.message,
      });
    if (p.code === 'requests-dropped')
      out.push({
        id: 'requests-dropped',
        severity: 'critical',
        text: 'Requests could not be sent on schedule: raise maxInFlight or add generator capacity; the measured latency understates what users would see.',
        basedOn: p.message,
      });
    if (p.code === 'littles-law')
      out.push({
        id: 'littles-law',
        severity: 'critical',
        text: "Little's law does not hold for this run: check generator saturation, client-side queueing and whether errors/timeouts are recorded with their latency.",
        basedOn: p.message,
      });
  }
  return out;
}

function bottleneckRecommendations(bottlenecks: RecommendInput['bottlenecks']): Recommendation[] {
  const out: Recommendation[] = [];
  for (const b of bottlenecks.filter((x) => x.role !== 'SATURATED' || x.kind === 'pool' || x.kind === 'memory')) {
    const lead = b.role === 'PRIMARY' ? 'Primary bottleneck' : b.role === 'CONTRIBUTING' ? 'Contributing' : 'Saturated';
    const basedOn = `${b.resource}: ${b.evidence.detail}`;
    switch (b.kind) {
      case 'pool':
        out.push({
          id: `pool:${b.service}`,
          severity: b.role === 'PRIMARY' ? 'critical' : 'warning',
          text: `${lead}: the ${b.service} DB pool is exhausted. Raise the pool max (within Postgres max_connections) or cut per-request DB time (indexes, shorter transactions); size it by Little's law: busy connections ≈ DB TPS × mean hold time.`,
          basedOn,
        });
        break;
      case 'cpu':
        out.push({
          id: `cpu:${b.service}`,
          severity: b.role === 'PRIMARY' ? 'critical' : 'warning',
          text: `${lead}: ${b.service} is CPU-bound. Raise its CPU limit or the number of app workers/replicas, or profile the hot endpoints.`,
          basedOn,
        });
        break;
      case 'thread':
        out.push({
          id: `thread:${b.service}`,
          severity: b.role === 'PRIMARY' ? 'critical' : 'warning',
          text: `${lead}: one thread of ${b.service} is at a full core — more cores or a higher CPU limit will not help. Run more worker processes (e.g. uvicorn/gunicorn --workers, Node cluster) or replicas, or take the CPU-heavy work off the request thread.`,
          basedOn,
        });
        break;
      case 'memory':
        out.push({
          id: `memory:${b.service}`,
          severity: 'warning',
          text: `${b.service} runs near its memory limit: raise the limit or reduce per-request memory; an OOM kill is likely under more load.`,
          basedOn,
        });
        break;
      case 'locks':
        out.push({
          id: 'postgres-locks',
          severity: b.role === 'PRIMARY' ? 'critical' : 'warning',
          text: `${lead}: lock contention in Postgres. Find the blocking statements (pg_locks / pg_blocking_pids), shorten transactions, avoid hot-row updates.`,
          basedOn,
        });
        break;
      case 'idle-in-transaction':
        out.push({
          id: `idle-in-transaction:${b.service}`,
          severity: 'warning',
          text: `${b.service} holds connections idle in transaction: commit/rollback before slow non-DB work and set idle_in_transaction_session_timeout.`,
          basedOn,
        });
        break;
      case 'host':
        out.push({
          id: 'host-contention',
          severity: b.role === 'PRIMARY' ? 'critical' : 'warning',
          text: `${lead}: other work on the host took its CPU while the SLO was breached, so these latency and capacity figures are partly the host's, not the system's. Rerun on a quiet or dedicated machine, or run the load generator on other machines (docs/DISTRIBUTED.md).`,
          basedOn,
        });
        break;
      case 'connections':
        out.push({
          id: 'postgres-connections',
          severity: 'warning',
          text: 'Postgres is near max_connections: pool connections (PgBouncer) instead of raising the limit.',
          basedOn,
        });
        break;
    }
  }
  return out;
}

function leakRecommendations(leaks: RecommendInput['leaks'], endpointMix: RecommendInput['endpointMix']): Recommendation[] {
  const out: Recommendation[] = [];
  const mix = Object.entries(endpointMix ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([n, s]) => `${n} ${(s * 100).toFixed(0)} %`)
    .join(', ');
  for (const l of leaks) {
    const rate = l.slopeBytesPerHour !== null ? `${(l.slopeBytesPerHour / MIB).toFixed(1)} MiB/h` : 'unknown rate';
    if (l.verdict === 'FAIL')
      out.push({
        id: `leak:${l.service}`,
        severity: 'critical',
        text: `${l.service} leaks memory at ${rate}${l.timeToLimitHours !== null ? `; the limit is reached in about ${hoursText(l.timeToLimitHours)}` : ''}. Take heap snapshots under the same endpoint mix (${mix || 'see series'}).`,
        basedOn: `${l.kind} ${rate}`,
      });
    else if (l.kind === 'WARN_CACHE_GROWTH')
      out.push({
        id: `leak:${l.service}`,
        severity: 'info',
        text: `${l.service} working set grows at ${rate} in page cache or shared memory, not in its own (anonymous) memory: not a leak. If the memory limit is tight, bound the cache (e.g. Postgres shared_buffers) and check over a longer soak that it levels off.`,
        basedOn: `${l.kind} ${rate}`,
      });
    else if (l.verdict === 'WARN')
      out.push({
        id: `leak:${l.service}`,
        severity: 'warning',
        text: `${l.service} memory grows at ${rate} (${l.kind}); extend the soak to see whether it levels off. Endpoint mix: ${mix || 'see series'}.`,
        basedOn: l.kind,
      });
  }
  return out;
}

function recoveryRecommendations(recovery: RecommendInput['recovery']): Recommendation[] {
  const out: Recommendation[] = [];
  for (const s of recovery) {
    const [id, what] = s.kind === 'spike' ? [`spike@${s.startS}`, 'the spike'] : ['ladder-recovery', 'the ladder'];
    if (s.verdict === 'metastable')
      out.push({
        id,
        severity: 'critical',
        text: `The system did not return to baseline after ${what} (metastable): add retry budgets/backoff, load shedding, and bound queue depths.`,
        basedOn: s.note,
      });
    else if (s.verdict === 'not-recovered' || s.verdict === 'slow-recovery')
      out.push({ id, severity: 'warning', text: `Slow or no recovery after ${what}: check queue depth and pool sizes; shed load earlier.`, basedOn: s.note });
  }
  return out;
}

function capacityRecommendations(capacity: CapacityResult | null): Recommendation[] {
  const out: Recommendation[] = [];
  const bp = capacity?.breakingPoint;
  if (bp) {
    const died = bp.failureMode.containerEvents.length
      ? `; ${bp.failureMode.containerEvents.map((e) => `${e.service} ${e.oomKilled ? 'OOM-killed' : 'died'}`).join(', ')}`
      : '';
    out.push({
      id: 'capacity',
      severity: 'info',
      text: `Capacity ∈ [${bp.lastPassUsers ?? 0}, ${bp.users}) users (max sustainable ${capacity?.maxThroughputRps?.toFixed(1) ?? 'n/a'} rps); plan production peaks below the last passing step.`,
      basedOn: `${bp.reason}${died}`,
    });
  }
  if (capacity?.usl && !capacity.usl.peakBeyondMeasuredRange) {
    const u = capacity.usl;
    out.push({
      id: 'usl',
      severity: 'info',
      text:
        u.constrainedBy === 'contention'
          ? 'Scaling is contention-limited (σ > κ): look for serialisation, locks and pool queues.'
          : 'Scaling is coherency-limited (κ ≥ σ): look for cross-talk, cache invalidation, lock convoys.',
      basedOn: `σ=${u.sigma.toPrecision(3)}, κ=${u.kappa.toPrecision(3)}`,
    });
  }
  return out;
}

function incompleteRecommendations(incomplete: boolean): Recommendation[] {
  const out: Recommendation[] = [];
  if (incomplete)
    out.push({
      id: 'incomplete',
      severity: 'warning',
      text: 'The run ended early; rerun to completion before relying on these results.',
      basedOn: 'run marked incomplete',
    });
  return out;
}
