// Explicit shape registry; its keys are the shape kinds. Adding a shape = one file + one line here + one schema member.
import type { ShapeConfig } from '../../config/schema.ts';
import { constantRateShape } from './constant-rate.ts';
import { rampShape } from './ramp.ts';
import { spikeShape } from './spike.ts';
import { stepsShape } from './steps.ts';
import type { ShapeExecutor, Timeline } from './types.ts';

export const shapes = {
  ramp: rampShape,
  steps: stepsShape,
  spike: spikeShape,
  'constant-rate': constantRateShape,
} as const satisfies { [K in ShapeConfig['kind']]: ShapeExecutor<K> };

export type ShapeKind = keyof typeof shapes;

export function planShape(shape: ShapeConfig, timeScale = 1): Timeline {
  // the cast is safe: shapes[k] is keyed by the same discriminant
  return (shapes[shape.kind] as ShapeExecutor<typeof shape.kind>).plan(shape as never, timeScale);
}

export function describeShape(shape: ShapeConfig): string {
  return (shapes[shape.kind] as ShapeExecutor<typeof shape.kind>).describe(shape as never);
}

/** Desired users at time t (ms since start). */
export function usersAt(timeline: Timeline, tMs: number): { users: number; phase: string } {
  let cur = { users: 0, phase: timeline.steps[0]?.phase ?? 'end' };
  for (const s of timeline.steps) {
    if (s.atMs > tMs) break;
    cur = { users: s.users, phase: s.phase };
  }
  return cur;
}
