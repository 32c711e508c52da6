// Test helper (pure): a synthetic stepped stress run as run-directory file contents, so the store, the
// analyze-run pipeline and the browser test all read the same realistic data. Nothing here touches fs.
import type { ContainerPoint, PostgresPoint } from '../../analysis/types.ts';
import { normal, seededRng } from '../../analysis/stats.ts';
import { buildRecord, T0_MS, type SecondSpec } from '../../analysis/testing/build-record.ts';
import type { RunRecord } from '../../analysis/types.ts';
import type { RunManifest } from '../../store/run-format.ts';

export const HOSTILE_NAME = '</script><img src=x onerror="alert(1)">&amp;|*_`';

export interface SyntheticRunOptions {
  /** steps: 8 × 60 s stress run with a breaking point; soak: ramp + 10 min hold with a leaking app. */
  kind?: 'steps' | 'soak';
  secondsPerStep?: number;
  /** Endpoint + container names that try to break out of HTML/XML/Markdown. */
  hostile?: boolean;
  seed?: number;
}

const MIB = 1024 * 1024;
const THINK_MEAN_S = 1;

interface Second {
  phase: string;
  users: number;
  /** steady-state index used for the step number (1..8) or the hold. */
  k: number;
  leakMiB: number;
}

function timeline(o: SyntheticRunOptions): Second[] {
  const out: Second[] = [];
  if (o.kind === 'soak') {
    for (let s = 0; s < 30; s++) out.push({ phase: 'ramp-up', users: Math.max(1, Math.round(((s + 1) / 30) * 40)), k: 4, leakMiB: 0 });
    for (let s = 0; s < 600; s++) out.push({ phase: 'hold', users: 40, k: 4, leakMiB: s * 0.5 });
    return out;
  }
  for (let k = 1; k <= 8; k++) for (let s = 0; s < (o.secondsPerStep ?? 60); s++) out.push({ phase: `step-${k}:${10 * k}`, users: 10 * k, k, leakMiB: 0 });
  return out;
}

/**
 * Closed model, 1 s think time, service time 20 ms growing with the users: latency climbs past the 50 ms p95 SLO at
 * 50 users (the steps run's breaking point). The soak run's app memory grows 0.5 MiB/s (a leak); the app's
 * Postgres pool fills up with the load.
 */
export function syntheticRecord(o: SyntheticRunOptions = {}): RunRecord {
  const rng = seededRng(o.seed ?? 7);
  const api = o.hostile ? HOSTILE_NAME : 'lock_proof';
  const app = o.hostile ? `app${HOSTILE_NAME}` : 'app';
  const specs: SecondSpec[] = timeline(o).map(({ phase, users, k, leakMiB }) => {
    const latMs = Math.max(20, users);
    // Little's law with a 1 s mean think time: X = N / (R + Z), R the mix's mean (3 API : 1 health)
    const rps = users / ((0.75 * latMs + 0.25 * 2.5) / 1000 + THINK_MEAN_S);
    const lat = Array.from({ length: Math.max(1, Math.round(0.75 * rps)) }, () => latMs * Math.exp(0.08 * normal(rng)));
    const health = Array.from({ length: Math.max(1, Math.round(0.25 * rps)) }, () => 2 + rng());
    const timeouts = users >= 60 ? Math.round(0.05 * lat.length) : 0;
    const appC: ContainerPoint = {
      cpuCores: Math.min(1.9, 0.22 * k + 0.05 * rng()),
      cpuLimitUtilization: Math.min(0.95, 0.11 * k),
      cpuLimitCores: 2,
      throttledRatio: 0,
      memoryWorkingSetBytes: (300 + leakMiB + 4 * rng()) * MIB,
      memoryRssBytes: (260 + leakMiB + 4 * rng()) * MIB,
      memoryLimitBytes: 1024 * MIB,
      restarts: 0,
      oomKills: 0,
      ageMs: 300,
    };
    const pgC: ContainerPoint = {
      cpuCores: 0.05 * k + 0.02 * rng(),
      cpuLimitUtilization: 0.05 * k,
      cpuLimitCores: 1,
      throttledRatio: 0,
      memoryWorkingSetBytes: (120 + 2 * rng()) * MIB,
      memoryLimitBytes: 1024 * MIB,
      restarts: 0,
      oomKills: 0,
      ageMs: 300,
    };
    const active = Math.min(20, Math.round(users / 4 + rng() * 2));
    const postgres: PostgresPoint = {
      maxConnections: 100,
      connectionsByState: { active: active + 1, idle: 22 - active },
      connectionsByApp: { archiveorigin: { active, idle: 20 - active, 'idle in transaction': users >= 60 ? 1 : 0 } },
      waitingByType: {},
      ungrantedLocks: 0,
      blockedSessions: 0,
      idleInTransaction: users >= 60 ? 1 : 0,
      oldestIdleInTransactionSeconds: 0,
    };
    return {
      phase,
      users,
      latenciesMs: { [api]: lat, health },
      errors: { [api]: { timeout: timeouts, '5xx': users >= 70 ? 2 : 0 } },
      cpuCores: 0.3,
      containers: { [app]: appC, postgres: pgC },
      postgres,
    };
  });
  const rec = buildRecord(specs, [{ tMs: T0_MS, kind: 'phase', phase: specs[0]!.phase }]);
  // buildRecord leaves the display percentiles at 0; fill the total's like the run writer does
  rec.series.forEach((p, i) => {
    const all = Object.values(specs[i]!.latenciesMs)
      .flat()
      .sort((a, b) => a - b);
    const q = (f: number): number => Math.round(all[Math.min(all.length - 1, Math.floor(f * all.length))]! * 1000) / 1000;
    Object.assign(p.total, { p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99), maxMs: q(1) });
  });
  return rec;
}

export function syntheticManifest(o: { complete: boolean; kind?: 'steps' | 'soak' }): RunManifest {
  const soak = o.kind === 'soak';
  const scenario = soak ? 'soak' : 'stress';
  const startedAt = new Date(T0_MS).toISOString();
  return {
    runId: `20231114-221320-${scenario}-beef`,
    scenario,
    shape: soak ? 'ramp to 40 users over 30s, run 10m30s' : 'steps 10→80 users, hold 1m each',
    timeScale: 1,
    mode: 'attach',
    target: 'http://127.0.0.1:8000',
    host: 'ci',
    generatorCores: 8,
    versions: { node: 'v20.20.2', loadscope: '0.1.0' },
    startedAt,
    endedAt: o.complete ? new Date(T0_MS + (soak ? 631_000 : 481_000)).toISOString() : null,
    stoppedBy: o.complete ? 'completed' : null,
    config: {
      scenarios: {
        [scenario]: {
          shape: soak
            ? { kind: 'ramp', users: 40, rampUpMs: 30_000, durationMs: 630_000 }
            : { kind: 'steps', users: [10, 20, 30, 40, 50, 60, 70, 80], rampUpMs: 0, holdMs: 60_000 },
          thinkTime: { minMs: 500, maxMs: 1500 },
          slo: { p95Ms: 50, errorRatio: 0.01 },
          stopOnBreak: false,
        },
      },
    },
  };
}

const ndjson = (xs: readonly unknown[]): string => xs.map((x) => `${JSON.stringify(x)}\n`).join('');

/**
 * File name → content of a run directory. `killed`: no summary, no end time, and series/histograms end with
 * half a line, as after kill -9 mid-write.
 */
export function syntheticRunFiles(o: SyntheticRunOptions & { killed?: boolean } = {}): Record<string, string> {
  const rec = syntheticRecord(o);
  const files: Record<string, string> = {
    'manifest.json': `${JSON.stringify(syntheticManifest({ complete: !o.killed, kind: o.kind }), null, 2)}\n`,
    'series.ndjson': ndjson(rec.series),
    'histograms.ndjson': ndjson(rec.histograms),
    'events.ndjson': ndjson(rec.events),
  };
  if (o.killed) {
    const torn = (s: string): string => s.slice(0, s.length - Math.floor(s.split('\n').at(-2)!.length / 2) - 1);
    files['series.ndjson'] = torn(files['series.ndjson']!);
    files['histograms.ndjson'] = torn(files['histograms.ndjson']!);
  } else files['summary.json'] = `${JSON.stringify({ durationS: rec.series.length }, null, 2)}\n`;
  return files;
}
