// The Analysis contract as a zod schema: what report/ and the CLI may rely on. JSON-safe (finite numbers or null).
import { z } from 'zod';

const num = z.number();
const nnum = z.number().nullable();
const pair = z.tuple([num, num]);

export const ValiditySchema = z.object({
  valid: z.boolean(),
  problems: z.array(z.object({ code: z.string(), message: z.string(), atS: num.optional(), observed: num.optional(), limit: num.optional() })),
});

export const SloRowSchema = z.object({
  name: z.string(),
  limit: num,
  observed: nnum,
  unit: z.enum(['ms', 'ratio', 'rps']),
  status: z.enum(['pass', 'fail', 'no-data']),
});

export const UslSchema = z.object({
  sigma: num,
  kappa: num,
  lambda: num,
  constrainedBy: z.enum(['contention', 'coherency']),
  r2: num,
  peak: z.object({ users: num, throughputRps: num }).nullable(),
  peakBeyondMeasuredRange: z.boolean(),
  note: z.string(),
  ci95: z.object({ sigma: pair, kappa: pair, lambda: pair, peakUsers: pair }).nullable(),
  bootstrapResamples: num,
});

export const FailureSignalSchema = z.object({
  kind: z.enum(['oom', 'container-died', 'db-pool', 'cpu', 'host-cpu', 'connection-errors', 'timeouts', '5xx', 'latency']),
  service: z.string().nullable(),
  atS: num,
  evidence: z.string(),
});

export const AnalysisSchema = z.object({
  scenario: z.string(),
  verdict: z.enum(['pass', 'fail', 'invalid', 'inconclusive']),
  verdictReasons: z.array(z.string()),
  incomplete: z.boolean(),
  validity: ValiditySchema,
  slo: z.array(SloRowSchema),
  capacity: z.object({
    maxThroughputRps: nnum,
    breakingPoint: z
      .object({
        users: num,
        throughputRps: num,
        reason: z.string(),
        /** What went first at the break (analysis/failure-mode.ts); absent in analyses written before it existed. */
        failureMode: z.object({ first: FailureSignalSchema.nullable(), signals: z.array(FailureSignalSchema), summary: z.string() }).optional(),
      })
      .loose()
      .nullable(),
    knee: z.object({ users: num, throughputRps: num, label: z.literal('efficiency knee') }).nullable(),
    usl: UslSchema.nullable(),
    notes: z.array(z.string()),
  }),
  leaks: z.array(
    z.object({
      service: z.string(),
      verdict: z.enum(['PASS', 'WARN', 'FAIL', 'INCONCLUSIVE']),
      kind: z.string(),
      slopeBytesPerHour: nnum,
      ci95: z.tuple([nnum, nnum]).nullable(),
      timeToLimitHours: nnum,
      reason: z.string(),
      /** INCONCLUSIVE only: steady seconds that would decide; absent in older analyses. */
      steadyNeededS: nnum.optional(),
    }),
  ),
  /** Recovery after spikes and ladders (analysis/recovery.ts); analyses written before it existed have none. */
  recovery: z
    .array(
      z.object({
        kind: z.enum(['spike', 'ladder']),
        startS: num,
        endS: num,
        observedS: num,
        recoveryS: nnum,
        holdS: num,
        baselineP95Ms: nnum,
        bandP95Ms: nnum,
        peakP95Ms: nnum,
        overshoot: nnum,
        /** 'shifted' only: the level the system settled at. */
        settledP95Ms: nnum.optional(),
        verdict: z.enum(['recovered', 'shifted', 'slow-recovery', 'not-recovered', 'metastable', 'inconclusive', 'no-data']),
        note: z.string(),
      }),
    )
    .default([]),
  bottlenecks: z.array(
    z.object({
      resource: z.string(),
      rank: z.number().int().positive(),
      role: z.enum(['PRIMARY', 'CONTRIBUTING', 'SATURATED']),
      evidence: z.object({
        onsetS: num,
        breachOnsetS: nnum,
        leadS: nnum,
        coverage: nnum,
        lagS: nnum,
        r: nnum,
        significant: z.boolean(),
        peak: num,
        detail: z.string(),
      }),
    }),
  ),
  recommendations: z.array(z.object({ id: z.string(), severity: z.enum(['critical', 'warning', 'info']), text: z.string(), basedOn: z.string() })),
  /** SUT failures seen during the run (analysis/incidents.ts); absent in analyses written before it existed. */
  incidents: z
    .array(
      z.object({
        kind: z.string(),
        service: z.string(),
        tMs: num,
        atS: num,
        endTMs: num.optional(),
        endS: num.optional(),
        message: z.string(),
        // tail episodes (analysis/tail-episodes.ts): docs/ANALYSIS.md "Incidents"
        peakP99Ms: nnum.optional(),
        baselineP99Ms: nnum.optional(),
        thresholdP99Ms: nnum.optional(),
        errors: num.optional(),
        requests: num.optional(),
        cause: z.string().optional(),
        evidence: z
          .array(z.object({ signal: z.string(), kind: z.string(), episodeValue: num, baselineValue: num, score: num, message: z.string() }))
          .optional(),
      }),
    )
    .optional(),
  /** SLOs the shape cannot produce (analysis/feasibility.ts); absent in analyses written before it existed. */
  feasibility: z
    .array(
      z.object({
        objective: z.enum(['minThroughputRps', 'maxInFlight']),
        feasible: z.literal(false),
        boundRps: num,
        limit: num,
        message: z.string(),
        fix: z.string(),
      }),
    )
    .optional(),
});

export type AnalysisContract = z.infer<typeof AnalysisSchema>;
