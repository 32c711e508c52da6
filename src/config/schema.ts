// The one config schema: syntax, defaults and unit conversion. Cross-field checks live in validate.ts.
import { MAX_SEED } from '../common/random.ts';
import { DEFAULT_SAMPLE_INTERVAL_MS, DEFAULT_TARGET } from './defaults.ts';
import { z } from 'zod';
import { parseDurationMs, parsePercentRatio } from './duration.ts';

/** `500ms`, `1m30s`, `8h` or a number of ms. */
const Duration = z
  .union([z.number().nonnegative(), z.string()])
  .transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(v)} (use e.g. 500ms, 1s, 1m30s, 8h, or a number of ms)` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'duration: 500ms, 1s, 1m30s, 8h, or a number of milliseconds' });

/** A run length: a duration that must be longer than zero (a 0 s run would send a request and "pass"). */
const RunDuration = Duration.refine((ms) => ms > 0, { message: 'must be longer than 0' });

/** `1%` or a ratio 0..1. */
const Percent = z.union([z.number().min(0).max(1), z.string()]).transform((v, ctx) => {
  const ratio = parsePercentRatio(v);
  if (ratio === undefined) {
    ctx.addIssue({ code: 'custom', message: `bad percentage ${JSON.stringify(v)} (use e.g. 1% or 0.01)` });
    return z.NEVER;
  }
  return ratio;
});

const Users = z.number().int().positive();

const RampShape = z.object({ kind: z.literal('ramp'), users: Users, rampUp: Duration.default(0), duration: RunDuration }).strict();
/** The ladder's recovery phase: the first step's users held after the last step (or a break); 0 turns it off. */
export const DEFAULT_LADDER_RECOVERY_MS = 60_000;
const StepsShape = z
  .object({
    kind: z.literal('steps'),
    users: z.array(Users).min(1),
    rampUp: Duration.default(0),
    hold: RunDuration,
    recovery: Duration.default(DEFAULT_LADDER_RECOVERY_MS).meta({
      description: "after the ladder (or a break): the first step's users for this long, where recovery is measured; 0 turns it off",
    }),
  })
  .strict();
const SpikeShape = z
  .object({
    kind: z.literal('spike'),
    baseUsers: Users,
    spikeUsers: Users,
    spikeFor: RunDuration,
    every: RunDuration,
    baseFor: RunDuration.optional().meta({ description: 'the base before the first spike, where the recovery band is drawn from (default: every)' }),
    duration: RunDuration,
  })
  .strict();
const ConstantRateShape = z
  .object({ kind: z.literal('constant-rate'), rateRps: z.number().positive(), duration: RunDuration, maxInFlight: Users.default(100) })
  .strict();

export const Shape = z.discriminatedUnion('kind', [RampShape, StepsShape, SpikeShape, ConstantRateShape]).transform((s) => {
  switch (s.kind) {
    case 'ramp':
      return { kind: s.kind, users: s.users, rampUpMs: s.rampUp, durationMs: s.duration };
    case 'steps':
      return { kind: s.kind, users: s.users, rampUpMs: s.rampUp, holdMs: s.hold, recoveryMs: s.recovery };
    case 'spike':
      return {
        kind: s.kind,
        baseUsers: s.baseUsers,
        spikeUsers: s.spikeUsers,
        spikeForMs: s.spikeFor,
        everyMs: s.every,
        ...(s.baseFor !== undefined && { baseForMs: s.baseFor }),
        durationMs: s.duration,
      };
    case 'constant-rate':
      return { kind: s.kind, rateRps: s.rateRps, durationMs: s.duration, maxInFlight: s.maxInFlight };
  }
});

export const ThinkTime = z
  .union([Duration, z.object({ min: Duration, max: Duration }).strict()])
  .default(0)
  .transform((t) => (typeof t === 'number' ? { minMs: t, maxMs: t } : { minMs: t.min, maxMs: t.max }));

const Slo = z
  .object({ p95: Duration.optional(), p99: Duration.optional(), errorRate: Percent.optional(), minThroughput: z.number().nonnegative().optional() })
  .strict()
  .transform((s) => ({ p95Ms: s.p95, p99Ms: s.p99, errorRatio: s.errorRate, minThroughputRps: s.minThroughput }));

const Scenario = z
  .object({
    description: z.string().optional(),
    shape: Shape,
    thinkTime: ThinkTime,
    slo: Slo.optional(),
    stopOnBreak: z.boolean().default(false),
    seed: z.number().int().min(0).max(MAX_SEED).optional().meta({
      description: "seed of the users' task picks, think times and randomInt values (0 to 4294967295); absent: a fresh one per run, recorded in the manifest",
    }),
  })
  .strict();

const Method = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
const stepFields = {
  name: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only'),
  method: Method.default('GET'),
  path: z.string().startsWith('/'),
  headers: z.record(z.string(), z.string()).default({}),
  json: z.unknown().optional(),
  body: z.string().optional(),
  /** user variable → dotted field of the JSON response */
  capture: z.record(z.string().regex(/^[A-Za-z_]\w*$/), z.string()).default({}),
};
const OnStartStep = z.object({ ...stepFields, retries: z.number().int().nonnegative().default(3) }).strict();
const Task = z.object({ ...stepFields, weight: z.number().nonnegative().default(1) }).strict();

export const Flow = z.object({ onStart: z.array(OnStartStep).default([]), tasks: z.array(Task).min(1) }).strict();

/** Remote write pushes every 5 s by default, like k6's Prometheus remote-write output. */
export const DEFAULT_REMOTE_WRITE_INTERVAL_MS = 5000;
const RemoteWrite = z
  .object({
    url: z.string().meta({
      description: 'Prometheus remote-write endpoint, e.g. http://127.0.0.1:9090/api/v1/write (same host rule as the target: loopback or allowTargets)',
    }),
    interval: RunDuration.default(DEFAULT_REMOTE_WRITE_INTERVAL_MS).meta({ description: 'time between pushes; a last push follows the run' }),
  })
  .strict()
  .transform((r) => ({ url: r.url, intervalMs: r.interval }));

export const configSchema = z
  .object({
    target: z.string().default(DEFAULT_TARGET),
    allowTargets: z.array(z.string()).default([]),
    stack: z.object({ compose: z.string() }).strict().optional(),
    sample: z
      .object({
        containers: z.array(z.string()).default([]),
        postgres: z.string().optional(),
        intervalMs: z.number().int().positive().default(DEFAULT_SAMPLE_INTERVAL_MS),
      })
      .strict()
      .optional(),
    requestTimeout: Duration.default(10_000),
    remoteWrite: RemoteWrite.optional(),
    /** worker threads for users; default cores−1, at least 1 */
    workers: z.number().int().positive().optional(),
    flow: Flow,
    scenarios: z.record(z.string().regex(/^[\w-]+$/), Scenario).refine((r) => Object.keys(r).length > 0, 'at least one scenario'),
  })
  .strict()
  .transform(({ requestTimeout, ...rest }) => ({ ...rest, requestTimeoutMs: requestTimeout }));

export type ConfigInput = z.input<typeof configSchema>;
export type ResolvedConfig = z.output<typeof configSchema>;
export type Scenario = ResolvedConfig['scenarios'][string];
export type ShapeConfig = Scenario['shape'];
export type FlowConfig = ResolvedConfig['flow'];
export type TaskConfig = FlowConfig['tasks'][number];
export type OnStartConfig = FlowConfig['onStart'][number];
export type StepConfig = TaskConfig | OnStartConfig;
export type ThinkTimeConfig = Scenario['thinkTime'];
export type RemoteWriteConfig = NonNullable<ResolvedConfig['remoteWrite']>;
