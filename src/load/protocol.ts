// Messages between the engine (main thread) and its load workers.
import type { FlowConfig } from '../config/schema.ts';
import type { RecorderFlush } from './recorder.ts';

export interface WorkerInit {
  flow: FlowConfig;
  /** the origin of the engine's AllowedTarget (checked once by the run plan; a thread boundary carries only text) */
  target: string;
  requestTimeoutMs: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  deadlineEpochMs: number;
  /** Int32Array view, [0] !== 0 once the engine stopped the run (set before 'stop' is posted) */
  stopFlag: SharedArrayBuffer;
  keepRaw: boolean;
  /** the run's seed (docs/CONFIG.md, seed) and this thread's index among the engine's load threads */
  seed: number;
  threadIndex: number;
  /** open model share of this worker; absent for closed-model (user) shapes */
  open?: { rateRps: number; maxInFlight: number };
}

export type ToWorker =
  /** the timeline starts now: an open-model worker's arrivals begin (not at start-up, which may wait at a fleet's barrier) */
  | { type: 'begin' }
  | { type: 'add'; ids: number[] }
  | { type: 'remove'; count: number }
  | { type: 'flush'; seq: number }
  | { type: 'stop' }
  /** test hook: keep this worker's event loop busy for `ms`, like an overloaded users' loop */
  | { type: 'stall'; ms: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'flushed'; seq: number; data: RecorderFlush; activeUsers: number }
  | { type: 'event'; kind: string; detail: Record<string, unknown> }
  | { type: 'stopped'; data: RecorderFlush }
  | { type: 'fatal'; message: string; code?: string };
