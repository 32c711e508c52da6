// Zod schemas for the supported Compose subset. Strict objects make every other key an
// "unsupported Compose key" issue; transforms convert Compose formats into ports-ready values.
import { z } from 'zod';
import type { HealthcheckSpec } from '../runtime/port.ts';
import type { Env } from '../../common/interpolate.ts';
import type { DependsCondition } from './types.ts';
import { parseDurationMs, parseMemoryBytes, parseNanoCpus, shellSplit } from './units.ts';

export const UNSUPPORTED_KEY = 'unsupported Compose key';

// Docker's defaults when a healthcheck leaves a field out.
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;

export interface IssueLike {
  path: PropertyKey[];
  message: string;
}

/** Turns zod issues into path/message pairs, one per unsupported key. */
export function flattenIssues(issues: readonly z.core.$ZodIssue[]): IssueLike[] {
  const out: IssueLike[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...issue.path, key], message: UNSUPPORTED_KEY });
    } else {
      out.push({ path: [...issue.path], message: issue.message });
    }
  }
  return out;
}

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, message: string, path: PropertyKey[] = []): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, path });
  return z.NEVER;
}

/** A value written either as a list or as a map; each shape has its own schema so nested messages survive. */
function listOrMap<L extends z.ZodType, M extends z.ZodType, T>(list: L, map: M, what: string, convert: (v: z.output<L> | z.output<M>, ctx: Ctx) => T) {
  return z.unknown().transform((value, ctx): T => {
    const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (!Array.isArray(value) && !isMap) return fail(ctx, `expected ${what}`);
    const r = (Array.isArray(value) ? list : map).safeParse(value);
    if (!r.success) {
      for (const i of flattenIssues(r.error.issues)) fail(ctx, i.message, i.path);
      return z.NEVER;
    }
    return convert(r.data as z.output<L> | z.output<M>, ctx);
  });
}

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });

const duration = z
  .string({ error: 'expected a duration string like 10s, 500ms or 1m30s' })
  .transform((s, ctx) => parseDurationMs(s) ?? fail(ctx, `invalid duration "${s}": use forms like 10s, 500ms, 1m30s`));

const command = z.union([z.string(), z.array(z.union([z.string(), z.number()]))], { error: 'expected a string or a list of strings' }).transform((v, ctx) => {
  if (Array.isArray(v)) return v.map(String);
  try {
    return shellSplit(v);
  } catch (e) {
    return fail(ctx, `cannot split "${v}": ${(e as Error).message}`);
  }
});

const healthcheck = z
  .strictObject({
    test: z.union([z.string(), z.array(z.string()).min(1)], { error: 'expected a string or a non-empty list like ["CMD", ...]' }).optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    start_period: duration.optional(),
    retries: z.number({ error: 'expected a whole number' }).int().min(0).optional(),
    disable: z.boolean().optional(),
  })
  .transform((h, ctx): HealthcheckSpec => {
    const spec = (test: string[]): HealthcheckSpec => ({
      test,
      intervalMs: h.interval ?? DEFAULT_INTERVAL_MS,
      timeoutMs: h.timeout ?? DEFAULT_TIMEOUT_MS,
      retries: h.retries ?? DEFAULT_RETRIES,
      startPeriodMs: h.start_period ?? 0,
    });
    // Passing ["NONE"] rather than nothing so an image's own HEALTHCHECK is switched off too.
    if (h.disable === true) return spec(['NONE']);
    if (h.test === undefined) return fail(ctx, 'required (loadscope does not inherit the image healthcheck test; use disable: true to turn it off)', ['test']);
    if (typeof h.test === 'string') return spec(['CMD-SHELL', h.test]);
    const [kind, ...rest] = h.test;
    if (kind === 'NONE') return spec(['NONE']);
    if (kind !== 'CMD' && kind !== 'CMD-SHELL') return fail(ctx, `must start with "CMD", "CMD-SHELL" or "NONE", got "${kind}"`, ['test', 0]);
    if (rest.length === 0) return fail(ctx, `"${kind}" needs a command after it`, ['test']);
    if (kind === 'CMD-SHELL' && rest.length !== 1) return fail(ctx, '"CMD-SHELL" takes exactly one command string', ['test']);
    return spec(h.test);
  });

const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

const dependsOn = listOrMap(
  z.array(z.string({ error: 'expected a service name' })),
  z.record(z.string(), z.strictObject({ condition: z.enum(conditions).optional() }).nullable()),
  'a list of service names or a map of service: {condition}',
  (v) =>
    Array.isArray(v)
      ? v.map((service) => ({ service, condition: 'service_started' as DependsCondition }))
      : Object.entries(v).map(([service, d]) => ({ service, condition: (d?.condition ?? 'service_started') as DependsCondition })),
);

const labels = listOrMap(z.array(z.string({ error: 'expected "key=value"' })), z.record(z.string(), scalar), 'a map or a list of "key=value" strings', (v) => {
  if (!Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
  return Object.fromEntries(v.map((item) => (item.includes('=') ? [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)] : [item, ''])));
});

/** `KEY` with no value takes the variable from the loadscope process environment, as Compose does. */
function environment(env: Env) {
  return listOrMap(
    z.array(z.string({ error: 'expected "KEY=VALUE"' })),
    z.record(z.string(), z.union([scalar, z.null()])),
    'a map or a list of "KEY=VALUE" strings',
    (v) => {
      const out: Record<string, string> = {};
      const entries: [string, string | number | boolean | null][] = Array.isArray(v)
        ? v.map((item) => (item.includes('=') ? [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)] : [item, null]))
        : Object.entries(v);
      for (const [key, value] of entries) {
        const resolved = value === null ? env[key] : String(value);
        if (resolved !== undefined) out[key] = resolved;
      }
      return out;
    },
  );
}

const memory = z
  .union([z.string(), z.number()], { error: 'expected a size like 512m, 1g or a byte count' })
  .transform((v, ctx) => parseMemoryBytes(v) ?? fail(ctx, `invalid memory size "${v}": use forms like 512m, 1g, 256MiB or a byte count`));

const cpus = z
  .union([z.string(), z.number()], { error: 'expected a number of CPUs like 0.5 or 2' })
  .transform((v, ctx) => parseNanoCpus(v) ?? fail(ctx, `invalid cpus "${v}": expected a positive number like 0.5 or 2`));

export function serviceSchema(env: Env) {
  return z.strictObject({
    image: z
      .string({
        error: (i) => (i.input === undefined ? 'required: loadscope runs prebuilt images (build is not supported)' : 'expected an image reference'),
      })
      .min(1, 'must not be empty'),
    command: command.optional(),
    entrypoint: command.optional(),
    environment: environment(env).optional(),
    network_mode: z
      .string()
      .refine((m) => m === 'host', {
        error: (i) => `"${String(i.input)}" is not supported: loadscope runs every service with network_mode host and never creates networks`,
      })
      .optional(),
    healthcheck: healthcheck.optional(),
    depends_on: dependsOn.optional(),
    mem_limit: memory.optional(),
    cpus: cpus.optional(),
    volumes: z
      .array(z.string({ error: 'only the short syntax "src:dst[:ro]" is supported' }), { error: 'expected a list of "src:dst[:ro]" strings' })
      .optional(),
    labels: labels.optional(),
    container_name: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, 'must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a Docker container name)')
      .optional(),
    // YAML 1.1 readers turn `no` into false; accept both spellings of "no restart".
    restart: z
      .union([z.literal('no'), z.literal(false)], { error: 'only "no" is supported: loadscope reports container deaths instead of restarting them' })
      .optional(),
  });
}

export type RawService = z.output<ReturnType<typeof serviceSchema>>;

export const volumeDeclSchema = z.strictObject({ name: z.string().min(1).optional() }).nullable();

/** Top level: each part is validated on its own so one broken part does not hide problems in the others. */
export const topLevelSchema = z.strictObject({
  name: z.unknown().optional(),
  services: z.record(z.string(), z.unknown(), { error: 'required: a map of services' }),
  volumes: z.unknown().optional(),
});

export const projectNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "-" or "_", starting with a letter or digit');

export const volumesSchema = z.record(z.string(), volumeDeclSchema, { error: 'expected a map of volume names' }).nullable();
