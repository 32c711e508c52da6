// A shape's plan is a pure timeline: at `atMs` the desired number of active users becomes `users`.
import type { ShapeConfig } from '../../config/schema.ts';

export interface TimelineStep {
  atMs: number;
  users: number;
  phase: string;
  /** open-model shapes: target request rate from this step on */
  rateRps?: number;
}

export interface Timeline {
  /** ordered by atMs; the last step has users 0 at durationMs */
  steps: TimelineStep[];
  durationMs: number;
  /** open model (constant-rate): users are in-flight slots, requests are paced by rateRps */
  open?: { rateRps: number; maxInFlight: number };
  /**
   * Recovery phase (ladders): after the ladder ends, or as soon as a stop-on-break rule fires, the engine holds
   * `users` for `durationMs` in phase RECOVERY_PHASE, then stops. A planned ladder's `steps` already end with it;
   * on a break the engine jumps to it instead of stopping.
   */
  recovery?: { users: number; durationMs: number };
  /** The users each ladder step holds, by phase name, recorded in the manifest so the analysis never parses a phase name. */
  levels?: { phase: string; users: number }[];
}

/** Phase name of the recovery hold after a ladder (see Timeline.recovery). */
export const RECOVERY_PHASE = 'recovery';

export type ShapeOf<K extends ShapeConfig['kind']> = Extract<ShapeConfig, { kind: K }>;

export interface ShapeExecutor<K extends ShapeConfig['kind']> {
  kind: K;
  plan(shape: ShapeOf<K>, timeScale: number): Timeline;
  describe(shape: ShapeOf<K>): string;
}

/** Linear ramp from `fromUsers` to `toUsers`, one step per user change, coalesced per ms. */
export function rampSteps(fromUsers: number, toUsers: number, startMs: number, rampMs: number, phase: string): TimelineStep[] {
  const steps: TimelineStep[] = [];
  const delta = toUsers - fromUsers;
  if (delta === 0) return [{ atMs: startMs, users: toUsers, phase }];
  if (rampMs <= 0) return [{ atMs: startMs, users: toUsers, phase }];
  const n = Math.abs(delta);
  const sign = Math.sign(delta);
  // user i (0-based) joins at i/n of the ramp, so the first joins at once and the last just before the ramp ends
  for (let i = 0; i < n; i++) {
    const atMs = startMs + Math.round((i * rampMs) / n);
    const users = fromUsers + sign * (i + 1);
    const last = steps[steps.length - 1];
    if (last && last.atMs === atMs) last.users = users;
    else steps.push({ atMs, users, phase });
  }
  return steps;
}

export const scaleMs = (ms: number, timeScale: number): number => Math.round(ms * timeScale);
