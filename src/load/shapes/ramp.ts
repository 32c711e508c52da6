import { formatDurationMs } from '../../config/duration.ts';
import { rampSteps, scaleMs, type ShapeExecutor } from './types.ts';

/** Closed model: ramp linearly to `users` over rampUp, hold until duration. */
export const rampShape: ShapeExecutor<'ramp'> = {
  kind: 'ramp',
  plan(shape, timeScale) {
    const rampMs = scaleMs(shape.rampUpMs, timeScale);
    const durationMs = scaleMs(shape.durationMs, timeScale);
    const steps = rampSteps(0, shape.users, 0, rampMs, 'ramp-up');
    if (rampMs < durationMs) steps.push({ atMs: rampMs, users: shape.users, phase: 'hold' });
    steps.push({ atMs: durationMs, users: 0, phase: 'end' });
    return { steps, durationMs };
  },
  describe: (s) => `ramp to ${s.users} users over ${formatDurationMs(s.rampUpMs)}, run ${formatDurationMs(s.durationMs)}`,
};
