// The coordinator ↔ worker protocol (#15, docs/DISTRIBUTED.md): one schema per message, checked on both sides.
// A worker GETs its assignment, then POSTs each second it recorded: the thread engine's wire form (recorder.ts,
// encoded HDR histograms per endpoint), so the coordinator merges process seconds exactly as the engine merges
// thread seconds (engine-pool.ts SecondAccumulator).
import { z } from 'zod';
import { MAX_SEED } from '../../common/random.ts';
import type { FlowConfig } from '../../config/schema.ts';
import type { SecondSample } from '../engine.ts';
import { encodeHistogram } from '../histogram.ts';
import type { RecorderFlush } from '../recorder.ts';
import type { Timeline } from '../shapes/types.ts';

export const assignmentPath = (index: number): string => `/v1/workers/${index}/assignment`;
export const startPath = (index: number): string => `/v1/workers/${index}/start`;
export const secondsPath = (index: number): string => `/v1/workers/${index}/seconds`;

const StepSchema = z.object({ atMs: z.number(), users: z.number().int().min(0), phase: z.string(), rateRps: z.number().optional() });
const TimelineSchema = z.object({
  steps: z.array(StepSchema),
  durationMs: z.number().min(0),
  open: z.object({ rateRps: z.number().min(0), maxInFlight: z.number().int().min(1) }).optional(),
  recovery: z.object({ users: z.number().int().min(0), durationMs: z.number().min(0) }).optional(),
});

export const AssignmentSchema = z.object({
  runId: z.string(),
  index: z.number().int().min(0),
  count: z.number().int().min(1),
  /** validated by the coordinator's config parse; carried as data */
  flow: z.custom<FlowConfig>((v) => typeof v === 'object' && v !== null && Array.isArray((v as { tasks?: unknown }).tasks)),
  /** this worker's share of the plan (shareTimeline) */
  timeline: TimelineSchema,
  thinkMinMs: z.number().min(0),
  thinkMaxMs: z.number().min(0),
  requestTimeoutMs: z.number().positive(),
  /** this worker's seed, derived from the run's and its index (docs/CONFIG.md, seed): its users' streams are its own */
  seed: z.number().int().min(0).max(MAX_SEED),
  /** load threads inside this worker (engine.ts workers) */
  threads: z.number().int().min(1).optional(),
  /** the worker checks it again with allowTargets in its own process before any connection */
  target: z.string(),
  allowTargets: z.array(z.string()),
});
export type Assignment = z.infer<typeof AssignmentSchema>;

/** The start barrier: answered once every worker is ready (its load threads up), the same instant for all. */
export const StartSchema = z.object({
  /** epoch ms: every worker starts its timeline then */
  barrierEpochMs: z.number(),
  /** epoch ms: the worker stops by itself, coordinator or not */
  deadlineEpochMs: z.number(),
});
export type Start = z.infer<typeof StartSchema>;

const ErrorCountsSchema = z.object({ '4xx': z.number(), '5xx': z.number(), timeout: z.number(), connection: z.number(), other: z.number() });
const EndpointWireSchema = z.object({
  method: z.string(),
  count: z.number().min(0),
  errors: ErrorCountsSchema,
  bytes: z.number().min(0),
  cancelled: z.number().min(0),
  hist: z.string(),
});

export const WorkerSecondSchema = z.object({
  /** integer seconds since the worker's start; the final (partial) second is fractional */
  elapsedS: z.number().min(0),
  final: z.boolean(),
  phase: z.string(),
  activeUsers: z.number().int().min(0),
  /** the worker process's own CPU (all its threads), in cores, and the cores of its host */
  cpuCores: z.number().min(0),
  hostCores: z.number().int().min(1),
  host: z.string(),
  /** epoch ms when this worker's timeline started (barrier skew) */
  startedAtMs: z.number(),
  data: z.object({ endpoints: z.record(z.string(), EndpointWireSchema), failures: z.record(z.string(), z.number()), droppedLate: z.number().min(0) }),
  events: z.array(z.object({ kind: z.string(), atMs: z.number(), detail: z.record(z.string(), z.unknown()) })).default([]),
  /** why the worker's run ended (final second only) */
  stoppedBy: z.string().optional(),
});
export type WorkerSecond = z.infer<typeof WorkerSecondSchema>;

/** The coordinator's answer to a second: `stop` ends the worker's run now; `breakReason` fires its stop-on-break rule. */
export const SecondReplySchema = z.object({ stop: z.boolean().optional(), breakReason: z.string().optional() });
export type SecondReply = z.infer<typeof SecondReplySchema>;

/** A sample's endpoints in the threads' wire form (encoded at once: the engine reuses the histograms after onSecond). */
export function sampleToWire(s: SecondSample): RecorderFlush {
  const endpoints: RecorderFlush['endpoints'] = {};
  for (const [name, e] of s.endpoints) {
    if (e.count === 0 && (e.cancelled ?? 0) === 0) continue;
    endpoints[name] = { method: e.method, count: e.count, errors: { ...e.errors }, bytes: e.bytes, cancelled: e.cancelled ?? 0, hist: encodeHistogram(e.hist) };
  }
  return { endpoints, failures: { ...s.failures }, droppedLate: s.droppedLate };
}

/** `total` split over `count`: the remainder goes to the lowest indices, so the shares sum to `total`. */
export const shareOf = (total: number, count: number, index: number): number => Math.floor(total / count) + (index < total % count ? 1 : 0);

/** Worker `index`'s part of the plan: users split (closed model) or rate split (open model), same times and phases. */
export function shareTimeline(tl: Timeline, count: number, index: number): Timeline {
  const out: Timeline = {
    steps: tl.steps.map((s) => ({ ...s, users: shareOf(s.users, count, index), ...(s.rateRps !== undefined && { rateRps: s.rateRps / count }) })),
    durationMs: tl.durationMs,
  };
  if (tl.open) out.open = { rateRps: tl.open.rateRps / count, maxInFlight: Math.max(1, shareOf(tl.open.maxInFlight, count, index)) };
  if (tl.recovery) out.recovery = { users: shareOf(tl.recovery.users, count, index), durationMs: tl.recovery.durationMs };
  return out;
}
