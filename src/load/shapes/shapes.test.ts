import { describe, expect, it } from 'vitest';
import { planShape, usersAt } from './registry.ts';
import { RECOVERY_PHASE } from './types.ts';
import { MIN_LEVEL_S } from '../../analysis/windows.ts';

describe('shape plans', () => {
  it('ramp: one user per step over rampUp, then hold, then end', () => {
    expect(planShape({ kind: 'ramp', users: 4, rampUpMs: 1000, durationMs: 3000 })).toEqual({
      durationMs: 3000,
      steps: [
        { atMs: 0, users: 1, phase: 'ramp-up' },
        { atMs: 250, users: 2, phase: 'ramp-up' },
        { atMs: 500, users: 3, phase: 'ramp-up' },
        { atMs: 750, users: 4, phase: 'ramp-up' },
        { atMs: 1000, users: 4, phase: 'hold' },
        { atMs: 3000, users: 0, phase: 'end' },
      ],
    });
  });

  it('ramp: time scale multiplies every duration; users per ms are coalesced', () => {
    expect(planShape({ kind: 'ramp', users: 4, rampUpMs: 100, durationMs: 8 * 3_600_000 }, 0.01)).toEqual({
      durationMs: 288_000,
      steps: [
        { atMs: 0, users: 2, phase: 'ramp-up' },
        { atMs: 1, users: 4, phase: 'ramp-up' },
        { atMs: 1, users: 4, phase: 'hold' },
        { atMs: 288_000, users: 0, phase: 'end' },
      ],
    });
  });

  it('ramp without ramp-up starts everyone at once', () => {
    expect(planShape({ kind: 'ramp', users: 3, rampUpMs: 0, durationMs: 500 }).steps).toEqual([
      { atMs: 0, users: 3, phase: 'ramp-up' },
      { atMs: 0, users: 3, phase: 'hold' },
      { atMs: 500, users: 0, phase: 'end' },
    ]);
  });

  it('steps: each level ramps from the previous then holds; phases step-k:users', () => {
    expect(planShape({ kind: 'steps', users: [2, 4], rampUpMs: 100, holdMs: 400, recoveryMs: 0 })).toEqual({
      durationMs: 1000,
      levels: [
        { phase: 'step-1:2', users: 2 },
        { phase: 'step-2:4', users: 4 },
      ],
      steps: [
        { atMs: 0, users: 1, phase: 'step-1:2' },
        { atMs: 50, users: 2, phase: 'step-1:2' },
        { atMs: 500, users: 3, phase: 'step-2:4' },
        { atMs: 550, users: 4, phase: 'step-2:4' },
        { atMs: 1000, users: 0, phase: 'end' },
      ],
    });
  });

  it('steps: the plan ladder 100…2000 with 1m ramp and 5m hold lasts 30 min, then 1 min of recovery at 100 users', () => {
    const tl = planShape({ kind: 'steps', users: [100, 200, 500, 1000, 2000], rampUpMs: 60_000, holdMs: 300_000, recoveryMs: 60_000 });
    expect(tl.durationMs).toBe(1_860_000);
    expect(tl.recovery).toEqual({ users: 100, durationMs: 60_000 });
    expect(usersAt(tl, 60_000 + 1)).toEqual({ users: 100, phase: 'step-1:100' });
    expect(usersAt(tl, 4 * 360_000 + 60_000)).toEqual({ users: 2000, phase: 'step-5:2000' });
    expect(usersAt(tl, 1_800_000)).toEqual({ users: 100, phase: RECOVERY_PHASE });
    expect(usersAt(tl, 1_860_000)).toEqual({ users: 0, phase: 'end' });
  });

  it('steps: the recovery phase holds the FIRST step’s users, is scaled by the time scale, and appends after the last step', () => {
    expect(planShape({ kind: 'steps', users: [3, 6], rampUpMs: 0, holdMs: 1000, recoveryMs: 240_000 }, 0.5)).toEqual({
      durationMs: 121_000,
      levels: [
        { phase: 'step-1:3', users: 3 },
        { phase: 'step-2:6', users: 6 },
      ],
      recovery: { users: 3, durationMs: 120_000 },
      steps: [
        { atMs: 0, users: 3, phase: 'step-1:3' },
        { atMs: 500, users: 6, phase: 'step-2:6' },
        { atMs: 1000, users: 3, phase: RECOVERY_PHASE },
        { atMs: 121_000, users: 0, phase: 'end' },
      ],
    });
  });

  it('steps: a time-scaled recovery hold never drops below 60 s (or the configured hold when shorter)', () => {
    // the plan's stress ladder at ×0.05: 1 min × 0.05 = 3 s would be too short to see any recovery
    expect(planShape({ kind: 'steps', users: [100, 200], rampUpMs: 60_000, holdMs: 300_000, recoveryMs: 60_000 }, 0.05).recovery).toEqual({
      users: 100,
      durationMs: 60_000,
    });
    expect(planShape({ kind: 'steps', users: [3, 6], rampUpMs: 0, holdMs: 200_000, recoveryMs: 10_000 }, 0.1).recovery).toEqual({
      users: 3,
      durationMs: 10_000,
    });
  });

  it('steps: no floor when the scaled first step is too short for a band (no recovery verdict possible): plainly scaled', () => {
    // the README's `run stress --time-scale 0.004`: 5 min × 0.004 = 1.2 s of first step, under MIN_LEVEL_S; the floor
    // made it 60 s of load whose recovery read "the first step has no steady part to draw the band from"
    const squeezed = planShape({ kind: 'steps', users: [100, 200, 500, 1000, 2000], rampUpMs: 60_000, holdMs: 300_000, recoveryMs: 60_000 }, 0.004);
    expect(squeezed.recovery).toEqual({ users: 100, durationMs: 240 });
    expect(squeezed.durationMs).toBe(7_200 + 240);
    // the first step exactly MIN_LEVEL_S long: the floor applies
    expect(planShape({ kind: 'steps', users: [3, 6], rampUpMs: 0, holdMs: MIN_LEVEL_S * 1000, recoveryMs: 60_000 }, 1).recovery?.durationMs).toBe(60_000);
    expect(planShape({ kind: 'steps', users: [3, 6], rampUpMs: 0, holdMs: 2 * MIN_LEVEL_S * 1000, recoveryMs: 60_000 }, 0.5).recovery?.durationMs).toBe(60_000);
    expect(planShape({ kind: 'steps', users: [3, 6], rampUpMs: 0, holdMs: 2 * MIN_LEVEL_S * 1000 - 2, recoveryMs: 60_000 }, 0.5).recovery?.durationMs).toBe(
      30_000,
    );
  });

  it('steps: recovery 0 turns the phase off (no timeline.recovery for the engine to jump to)', () => {
    const tl = planShape({ kind: 'steps', users: [3, 6], rampUpMs: 0, holdMs: 1000, recoveryMs: 0 });
    expect(tl.recovery).toBeUndefined();
    expect(tl.steps.map((s) => s.phase)).not.toContain(RECOVERY_PHASE);
    expect(tl.durationMs).toBe(2000);
  });

  it('spike: base, spikes every `every` for spikeFor, cut at duration', () => {
    expect(planShape({ kind: 'spike', baseUsers: 100, spikeUsers: 500, spikeForMs: 120_000, everyMs: 180_000, durationMs: 600_000 })).toEqual({
      durationMs: 600_000,
      steps: [
        { atMs: 0, users: 100, phase: 'base' },
        { atMs: 180_000, users: 500, phase: 'spike-1' },
        { atMs: 300_000, users: 100, phase: 'base' },
        { atMs: 360_000, users: 500, phase: 'spike-2' },
        { atMs: 480_000, users: 100, phase: 'base' },
        { atMs: 540_000, users: 500, phase: 'spike-3' },
        { atMs: 600_000, users: 0, phase: 'end' },
      ],
    });
  });

  it('spike with baseFor: the first spike after baseFor, the next ones `every` later; time-scaled like the rest', () => {
    expect(
      planShape({ kind: 'spike', baseUsers: 10, spikeUsers: 30, spikeForMs: 15_000, everyMs: 75_000, baseForMs: 30_000, durationMs: 180_000 }, 0.5),
    ).toEqual({
      durationMs: 90_000,
      steps: [
        { atMs: 0, users: 10, phase: 'base' },
        { atMs: 15_000, users: 30, phase: 'spike-1' },
        { atMs: 22_500, users: 10, phase: 'base' },
        { atMs: 52_500, users: 30, phase: 'spike-2' },
        { atMs: 60_000, users: 10, phase: 'base' },
        { atMs: 90_000, users: 0, phase: 'end' },
      ],
    });
  });

  it('constant-rate: open model with rate and in-flight cap', () => {
    expect(planShape({ kind: 'constant-rate', rateRps: 200, durationMs: 10_000, maxInFlight: 50 }, 0.5)).toEqual({
      durationMs: 5000,
      open: { rateRps: 200, maxInFlight: 50 },
      steps: [
        { atMs: 0, users: 50, phase: 'constant-rate', rateRps: 200 },
        { atMs: 5000, users: 0, phase: 'end' },
      ],
    });
  });
});
