// The live view on synthetic seconds: the TTY block is redrawn in place (cursor up + clear line) with the newest
// numbers, progress lines go above it, plain mode prints one escape-free line every N seconds and on phase changes,
// and the run's own per-second log lines are recognised (the view replaces them).
import { describe, expect, it } from 'vitest';
import type { EndpointSecond, SecondSample } from '../load/engine.ts';
import { createLatencyHistogram, recordLatencyUs } from '../load/histogram.ts';
import { zeroErrors } from '../load/recorder.ts';
import type { ContainerSample, SampleSnapshot } from '../samplers/types.ts';
import type { RunScenarioResult } from '../run/run-scenario.ts';
import { CURSOR_UP, LiveView, isPerSecondLogLine, jsonResult, startLiveView } from './live-view.ts';

function second(elapsedS: number, phase: string, users: number, latMs: number[], errors5xx = 0, final = false): SecondSample {
  const hist = createLatencyHistogram();
  for (const ms of latMs) recordLatencyUs(hist, ms * 1000);
  const e: EndpointSecond = { method: 'GET', count: latMs.length, errors: { ...zeroErrors(), '5xx': errors5xx }, bytes: 0, hist };
  return {
    startMs: 1_700_000_000_000,
    tMs: 1_700_000_000_000 + elapsedS * 1000,
    elapsedS,
    phase,
    activeUsers: users,
    endpoints: new Map([['health', e]]),
    failures: {},
    droppedLate: 0,
    cpuCores: 0.1,
    final,
  };
}

function snapshot(cpu: number, wsMiB: number, active: number, idle: number): SampleSnapshot {
  const c = { service: 'app', cpuCores: cpu, memoryWorkingSetBytes: wsMiB * 1048576, memoryLimitBytes: 512 * 1048576 } as ContainerSample;
  return {
    tMs: 0,
    containers: { app: c, postgres: { ...c, service: 'postgres', cpuCores: 0.05 } },
    postgres: { connectionsByApp: { archiveorigin: { active, idle }, psql: { idle: 1 } } } as unknown as SampleSnapshot['postgres'],
    host: {} as SampleSnapshot['host'],
    generator: { cpuCores: 0, memoryRssBytes: 0 },
    sampler: { lagMs: 0, skippedTicks: 0, timings: {} },
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/;

describe('LiveView', () => {
  it('redraws one block in place on a TTY with the newest numbers', () => {
    const out: string[] = [];
    const v = new LiveView({ write: (s) => out.push(s), tty: true, scenario: 'normal', plannedS: 60, columns: 200 });
    v.onSample(snapshot(0.5, 100, 3, 7));
    v.onSecond(second(1, 'ramp-up', 10, [10, 20, 30]));
    v.onSample(snapshot(0.75, 120, 5, 5));
    v.onSecond(second(2, 'ramp-up', 20, [40, 50, 60, 70], 1));
    expect(out).toHaveLength(2);
    expect(out[0]).not.toContain(CURSOR_UP(3));
    expect(out[1]!.startsWith(CURSOR_UP(3))).toBe(true);
    expect(out[1]).toContain('\x1b[2K');
    expect(out[0]).toContain('req/s 3');
    expect(out[1]).toContain('req/s 4');
    expect(out[1]).toContain('users 20');
    expect(out[1]).toMatch(/p95 70(\.\d+)? ms/);
    expect(out[1]).toContain('errors 1 (14.29%)');
    expect(out[1]).toContain('elapsed 0:02 / 1:00  remaining 0:58');
    expect(out[1]).toContain('CPU 0.75 cores');
    expect(out[1]).toContain('memory 120.0 MiB of 512.0 MiB');
    expect(out[1]).toContain('pool 5/10 active/total (archiveorigin)');
    expect(v.latestSample?.containers.app?.cpuCores).toBe(0.75);
  });

  it('prints progress lines above the block and redraws it below', () => {
    const out: string[] = [];
    const v = new LiveView({ write: (s) => out.push(s), tty: true });
    v.log('before any frame');
    v.onSecond(second(1, 'hold', 5, [5]));
    v.log('phase: {"phase":"hold"}');
    expect(out[0]).toBe('before any frame\n');
    expect(out[2]!.startsWith(`${CURSOR_UP(3)}\x1b[J`)).toBe(true);
    expect(out[2]).toContain('phase: {"phase":"hold"}\n');
    expect(out[3]!.startsWith('\x1b[2K')).toBe(true); // redrawn from where the log line left the cursor
    expect(v.frames).toBe(2);
  });

  it('cuts block lines to the terminal width', () => {
    const out: string[] = [];
    const v = new LiveView({ write: (s) => out.push(s), tty: true, columns: 30, scenario: 'a-very-long-scenario-name-indeed' });
    v.onSecond(second(1, 'hold', 5, [5]));
    for (const l of out[0]!.split('\n').filter(Boolean)) expect(l.replace('\x1b[2K', '').length).toBeLessThanOrEqual(29);
  });

  it('prints plain lines without escapes: the first second, every N seconds, phase changes and the last second', () => {
    const out: string[] = [];
    const v = new LiveView({ write: (s) => out.push(s), tty: false, plainEveryS: 5, plannedS: 12 });
    v.onSample(snapshot(0.25, 64, 2, 8));
    for (let s = 1; s <= 12; s++) v.onSecond(second(s, s <= 7 ? 'ramp-up' : 'hold', s * 10, [10], 0, s === 12));
    const text = out.join('');
    expect(text).not.toMatch(ANSI);
    const lines = text.trim().split('\n');
    expect(lines.map((l) => /^\[(\d+)s/.exec(l)?.[1])).toEqual(['1', '6', '8', '12']);
    expect(lines[2]).toBe('[8s/12s] hold users=80 rps=1 p95=10ms errors=0 (0.00%) cpu=0.25 mem=64.0MiB pool=2/10');
  });

  it('shows n/a until the samplers report, and picks a non-database container in attach mode', () => {
    const out: string[] = [];
    const v = new LiveView({ write: (s) => out.push(s), tty: true });
    v.onSecond(second(1, 'hold', 5, [5]));
    expect(out[0]).toContain('CPU n/a  memory n/a  pool n/a');
    const snap = snapshot(1.5, 10, 1, 1);
    snap.containers = { 'shop-db-1': snap.containers.postgres!, 'shop-api-1': { ...snap.containers.app!, service: 'shop-api-1' } };
    snap.postgres = { connectionsByApp: { '': { idle: 3 }, myapi: { active: 4, idle: 2 } } } as unknown as SampleSnapshot['postgres'];
    v.onSample(snap);
    v.onSecond(second(2, 'hold', 5, [5]));
    expect(out[1]).toContain('shop-api-1: CPU 1.50 cores');
    expect(out[1]).toContain('pool 4/6 active/total (myapi)');
  });
});

describe('startLiveView', () => {
  it('is plain when the stream is not a TTY or LOADSCOPE_PLAIN is set, and drops the per-second log lines', () => {
    const out: string[] = [];
    const tty = startLiveView({ scenario: 'normal' }, { write: (s) => out.push(s), isTTY: true, columns: 100 }, { LOADSCOPE_PLAIN: '1' });
    tty.runOptions.onSecond!(second(1, 'hold', 5, [5]));
    tty.runOptions.log!('    1s hold           users=    5 rps=     1 err=0 p95=5ms cpu=0.1');
    tty.runOptions.log!('phase: {"phase":"hold"}');
    expect(out.join('')).not.toMatch(ANSI);
    expect(out).toHaveLength(2);
    expect(out[1]).toBe('phase: {"phase":"hold"}\n');
  });

  it('recognises the per-second progress line of runScenario', () => {
    // the exact format of run-scenario.ts's log line
    const elapsed = 12;
    const line = `${elapsed.toFixed(0).padStart(5)}s ${'step-1:100'.padEnd(14)} users=${String(100).padStart(5)} rps=${String(321).padStart(6)} err=0 p95=12ms cpu=0.4`;
    expect(isPerSecondLogLine(line)).toBe(true);
    expect(isPerSecondLogLine('run 20260101-normal-abcd: normal — ramp to 100 users')).toBe(false);
    expect(isPerSecondLogLine('phase: {"phase":"hold"}')).toBe(false);
  });
});

describe('jsonResult', () => {
  it('carries the fields of `run --json`', () => {
    const r = {
      runId: 'r',
      runDir: 'results/r',
      summary: { durationS: 1 },
      slo: [],
      stoppedBy: 'completed',
      plannedDurationMs: 1000,
    } as unknown as RunScenarioResult;
    expect(Object.keys(jsonResult(r))).toEqual(expect.arrayContaining(['runId', 'runDir', 'reportPath', 'verdict', 'slo', 'capacity', 'leaks', 'summary']));
    expect(jsonResult(r).verdict).toBeNull();
  });
});
