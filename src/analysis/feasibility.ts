// Preflight feasibility: can the scenario's shape produce what its SLOs ask for, whatever the system under test
// does? Pure (docs/ANALYSIS.md "Feasibility"). One judge used twice: by `run` before the first request (warning,
// or exit 2 with --strict) and by the post-mortem (a line in analysis.json and the report).
//
// Closed model (users with think time): by Little's law a user completes at most one request per
// (think + response) time, so throughput X ≤ N / (Z̄ + R_min) ≤ N / Z̄. With R_min unknown before the run the
// bound uses R_min = 0: an SLO above it cannot be met even by an infinitely fast server.
// Open model (constant rate): the generator offers `rateRps` and keeps at most `maxInFlight` requests open, so
// the achieved rate is ≤ rateRps and, at response time R, ≤ maxInFlight / R.

export interface FeasibilityInput {
  model: 'closed' | 'open';
  /** Closed model: the user count of the windows the SLO is judged on (hold level, spike base, top step). */
  users?: number;
  /** Closed model: mean think time between one user's requests, ms. */
  thinkTimeMeanMs?: number;
  /** Open model. */
  rateRps?: number;
  maxInFlight?: number;
  slo?: { p95Ms?: number; minThroughputRps?: number };
}

export interface FeasibilityFinding {
  /** The SLO or setting the finding is about. */
  objective: 'minThroughputRps' | 'maxInFlight';
  feasible: false;
  /** The most the shape can produce (req/s). */
  boundRps: number;
  limit: number;
  /** What the bound is, with its numbers ("≤ 50 req/s: 100 users / 2 s mean think"). */
  message: string;
  /** The smallest change that would make it feasible. */
  fix: string;
}

const round = (x: number, digits = 1): string => {
  const f = 10 ** digits;
  return String(Math.round(x * f) / f);
};
const seconds = (ms: number): string => `${round(ms / 1000, 2)} s`;

/** Every SLO the shape cannot produce; empty when all are within reach (or none is set). */
export function checkFeasibility(i: FeasibilityInput): FeasibilityFinding[] {
  return i.model === 'closed' ? closedModel(i) : openModel(i);
}

function closedModel(i: FeasibilityInput): FeasibilityFinding[] {
  const target = i.slo?.minThroughputRps;
  const users = i.users ?? 0;
  const thinkMs = i.thinkTimeMeanMs ?? 0;
  // zero think time: the bound is N / R_min, unknown before the run — nothing to say
  if (target === undefined || !(target > 0) || !(users > 0) || !(thinkMs > 0)) return [];
  const boundRps = users / (thinkMs / 1000);
  // equality is unreachable too: any response time above zero lowers the rate below N / Z̄
  if (boundRps > target) return [];
  const usersNeeded = Math.floor((target * thinkMs) / 1000) + 1;
  const thinkNeededMs = (users / target) * 1000;
  return [
    {
      objective: 'minThroughputRps',
      feasible: false,
      boundRps,
      limit: target,
      message: `throughput ≥ ${round(target)} req/s is out of reach: ${users} users thinking ${seconds(thinkMs)} on average can send at most ≤ ${round(boundRps)} req/s (users / mean think time, before any response time)`,
      fix: `use more than ${usersNeeded - 1} users (≥ ${usersNeeded}), or a mean think time under ${seconds(thinkNeededMs)}, or lower the throughput objective below ${round(boundRps)} req/s`,
    },
  ];
}

function openModel(i: FeasibilityInput): FeasibilityFinding[] {
  const out: FeasibilityFinding[] = [];
  const rate = i.rateRps ?? 0;
  const target = i.slo?.minThroughputRps;
  if (target !== undefined && rate > 0 && rate < target) {
    out.push({
      objective: 'minThroughputRps',
      feasible: false,
      boundRps: rate,
      limit: target,
      message: `throughput ≥ ${round(target)} req/s is out of reach: the offered rate is ${round(rate)} req/s`,
      fix: `offer at least ${round(target)} req/s (rateRps), or lower the throughput objective`,
    });
  }
  const p95Ms = i.slo?.p95Ms;
  const inFlight = i.maxInFlight ?? 0;
  // at the SLO's own latency the generator must keep rate × p95 requests open (Little's law), else it drops
  if (p95Ms !== undefined && p95Ms > 0 && rate > 0 && inFlight > 0 && inFlight / (p95Ms / 1000) < rate) {
    const boundRps = inFlight / (p95Ms / 1000);
    out.push({
      objective: 'maxInFlight',
      feasible: false,
      boundRps,
      limit: rate,
      message: `at the p95 objective's latency (${round(p95Ms, 0)} ms) ${inFlight} requests in flight carry at most ≤ ${round(boundRps)} req/s, below the offered ${round(rate)} req/s: the generator would drop requests before the server is at its limit`,
      fix: `set maxInFlight ≥ ${Math.ceil((rate * p95Ms) / 1000)}`,
    });
  }
  return out;
}

/** The scenario as configured (config/schema Scenario, or the manifest's copy of it). */
export interface ScenarioLike {
  shape?: { kind?: string; users?: number | number[]; baseUsers?: number; rateRps?: number; maxInFlight?: number };
  thinkTime?: { minMs?: number; maxMs?: number };
  slo?: { p95Ms?: number; minThroughputRps?: number };
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The feasibility input of a scenario: the users its SLOs are judged at (ramp: its level; spike: the base; steps: the top step). */
export function feasibilityInput(sc: ScenarioLike): FeasibilityInput {
  const shape = sc.shape ?? {};
  const slo = { p95Ms: finite(sc.slo?.p95Ms), minThroughputRps: finite(sc.slo?.minThroughputRps) };
  if (shape.kind === 'constant-rate') return { model: 'open', rateRps: finite(shape.rateRps), maxInFlight: finite(shape.maxInFlight), slo };
  const users =
    shape.kind === 'spike'
      ? finite(shape.baseUsers)
      : Array.isArray(shape.users)
        ? Math.max(0, ...shape.users.filter((u) => Number.isFinite(u)))
        : finite(shape.users);
  const minMs = finite(sc.thinkTime?.minMs) ?? 0;
  const maxMs = finite(sc.thinkTime?.maxMs) ?? minMs;
  return { model: 'closed', users, thinkTimeMeanMs: (minMs + maxMs) / 2, slo };
}
