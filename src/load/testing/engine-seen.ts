// What the engine-clock tests read from each second the engine writes, and their one-task flow.
import type { FlowConfig } from '../../config/schema.ts';
import type { SecondSample } from '../engine.ts';

export const flow: FlowConfig = { onStart: [], tasks: [{ name: 'work', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] };

export interface Seen {
  elapsedS: number;
  final: boolean;
  phase: string;
  activeUsers: number;
  count: number;
  cancelled: number;
  histCount: number;
  /** when onSecond ran, relative to the second's own tick */
  lagMs: number;
}

export const see = (s: SecondSample): Seen => {
  const e = s.endpoints.get('work');
  return {
    elapsedS: s.elapsedS,
    final: s.final,
    phase: s.phase,
    activeUsers: s.activeUsers,
    count: e?.count ?? 0,
    cancelled: s.cancelled ?? 0,
    histCount: e?.hist.totalCount ?? 0,
    lagMs: Date.now() - s.tMs,
  };
};
