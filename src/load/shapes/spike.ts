import { formatDurationMs } from '../../config/duration.ts';
import { scaleMs, type ShapeExecutor, type TimelineStep } from './types.ts';

/**
 * `baseUsers` from the start; the first spike at baseFor (default: every), then one every `every`; each holds
 * spikeUsers for spikeFor (cut at duration).
 */
export const spikeShape: ShapeExecutor<'spike'> = {
  kind: 'spike',
  plan(shape, timeScale) {
    const everyMs = scaleMs(shape.everyMs, timeScale);
    const spikeMs = scaleMs(shape.spikeForMs, timeScale);
    const durationMs = scaleMs(shape.durationMs, timeScale);
    const firstMs = shape.baseForMs === undefined ? everyMs : scaleMs(shape.baseForMs, timeScale);
    const steps: TimelineStep[] = [{ atMs: 0, users: shape.baseUsers, phase: 'base' }];
    for (let k = 1; everyMs > 0 && firstMs + (k - 1) * everyMs < durationMs; k++) {
      const startMs = firstMs + (k - 1) * everyMs;
      steps.push({ atMs: startMs, users: shape.spikeUsers, phase: `spike-${k}` });
      const endMs = startMs + spikeMs;
      if (endMs < durationMs) steps.push({ atMs: endMs, users: shape.baseUsers, phase: `base` });
    }
    steps.push({ atMs: durationMs, users: 0, phase: 'end' });
    return { steps, durationMs };
  },
  describe: (s) =>
    `${s.baseUsers} users, spikes to ${s.spikeUsers} for ${formatDurationMs(s.spikeForMs)} every ${formatDurationMs(s.everyMs)}` +
    `${s.baseForMs === undefined ? '' : ` (the first after ${formatDurationMs(s.baseForMs)})`}, run ${formatDurationMs(s.durationMs)}`,
};
