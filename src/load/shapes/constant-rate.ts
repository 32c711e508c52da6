import { formatDurationMs } from '../../config/duration.ts';
import { scaleMs, type ShapeExecutor } from './types.ts';

/** Open model: requests start at rateRps whatever the latency; at most maxInFlight at once, the rest count as dropped/late. */
export const constantRateShape: ShapeExecutor<'constant-rate'> = {
  kind: 'constant-rate',
  plan(shape, timeScale) {
    const durationMs = scaleMs(shape.durationMs, timeScale);
    return {
      steps: [
        { atMs: 0, users: shape.maxInFlight, phase: 'constant-rate', rateRps: shape.rateRps },
        { atMs: durationMs, users: 0, phase: 'end' },
      ],
      durationMs,
      open: { rateRps: shape.rateRps, maxInFlight: shape.maxInFlight },
    };
  },
  describe: (s) => `${s.rateRps} req/s (max ${s.maxInFlight} in flight) for ${formatDurationMs(s.durationMs)}`,
};
