import { formatDurationMs } from '../../config/duration.ts';
import { rampSteps, scaleMs, type ShapeExecutor, type TimelineStep } from './types.ts';

/** Ladder: each level ramps from the previous one over rampUp, then holds `hold`. Phases `step-<k>:<users>`. */
export const stepsShape: ShapeExecutor<'steps'> = {
  kind: 'steps',
  plan(shape, timeScale) {
    const rampMs = scaleMs(shape.rampUpMs, timeScale);
    const holdMs = scaleMs(shape.holdMs, timeScale);
    const steps: TimelineStep[] = [];
    let atMs = 0;
    let prev = 0;
    shape.users.forEach((users, i) => {
      const phase = `step-${i + 1}:${users}`;
      steps.push(...rampSteps(prev, users, atMs, rampMs, phase));
      prev = users;
      atMs += rampMs + holdMs;
    });
    steps.push({ atMs, users: 0, phase: 'end' });
    return { steps, durationMs: atMs };
  },
  describe: (s) => `steps ${s.users.join('→')} users, ${formatDurationMs(s.rampUpMs)} ramp + ${formatDurationMs(s.holdMs)} hold each`,
};
