import { MIN_LEVEL_S } from '../../analysis/windows.ts';
import { formatDurationMs } from '../../config/duration.ts';
import { RECOVERY_PHASE, rampSteps, scaleMs, type ShapeExecutor, type TimelineStep } from './types.ts';

/**
 * Ladder: each level ramps from the previous one over rampUp, then holds `hold`. Phases `step-<k>:<users>`. Then, unless
 * `recovery` is 0, the first step's users for `recovery` in phase RECOVERY_PHASE, where recovery is measured
 * (docs/ANALYSIS.md, Recovery); a break jumps straight to it (Timeline.recovery).
 */
/** Shortest recovery hold a time-scaled ladder gets when its first step can give a band (docs/ANALYSIS.md, Recovery). */
export const MIN_SCALED_RECOVERY_MS = 60_000;

export const stepsShape: ShapeExecutor<'steps'> = {
  kind: 'steps',
  plan(shape, timeScale) {
    const rampMs = scaleMs(shape.rampUpMs, timeScale);
    const holdMs = scaleMs(shape.holdMs, timeScale);
    const steps: TimelineStep[] = [];
    const levels: { phase: string; users: number }[] = [];
    let atMs = 0;
    let prev = 0;
    shape.users.forEach((users, i) => {
      const phase = `step-${i + 1}:${users}`;
      steps.push(...rampSteps(prev, users, atMs, rampMs, phase));
      levels.push({ phase, users });
      prev = users;
      atMs += rampMs + holdMs;
    });
    // The system's recovery does not speed up with --time-scale (like think time): the hold is scaled, but never below
    // MIN_SCALED_RECOVERY_MS (or the configured hold, when shorter), so a squeezed ladder can still show a recovery —
    // where it can be judged at all: the band comes from the first step's steady part, and a first step held less
    // than MIN_LEVEL_S has none (docs/ANALYSIS.md, Recovery), so a longer phase would only be load with no verdict.
    const scaledMs = scaleMs(shape.recoveryMs, timeScale);
    const bandPossible = holdMs >= MIN_LEVEL_S * 1000;
    const recoveryMs = shape.recoveryMs > 0 ? (bandPossible ? Math.max(scaledMs, Math.min(shape.recoveryMs, MIN_SCALED_RECOVERY_MS)) : scaledMs) : 0;
    const recoveryUsers = shape.users[0]!;
    if (recoveryMs > 0) {
      steps.push({ atMs, users: recoveryUsers, phase: RECOVERY_PHASE });
      atMs += recoveryMs;
    }
    steps.push({ atMs, users: 0, phase: 'end' });
    return { steps, durationMs: atMs, levels, ...(recoveryMs > 0 ? { recovery: { users: recoveryUsers, durationMs: recoveryMs } } : {}) };
  },
  describe: (s) =>
    `steps ${s.users.join('→')} users, ${formatDurationMs(s.rampUpMs)} ramp + ${formatDurationMs(s.holdMs)} hold each${s.recoveryMs > 0 ? `, then ${s.users[0]} users for ${formatDurationMs(s.recoveryMs)} (recovery)` : ''}`,
};
