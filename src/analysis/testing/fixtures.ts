// Shared synthetic runs for the analysis tests (pure, seeded).
import { normal, seededRng } from '../stats.ts';
import { buildRecord, type SecondSpec } from './build-record.ts';
import type { ContainerPoint, RunRecord } from '../types.ts';

export const container = (over: Partial<ContainerPoint> = {}): ContainerPoint => ({
  cpuCores: 0.5,
  cpuLimitUtilization: 0.5,
  cpuLimitCores: 1,
  throttledRatio: 0,
  memoryWorkingSetBytes: 300e6,
  memoryLimitBytes: 1e9,
  restarts: 0,
  oomKills: 0,
  ageMs: 100,
  ...over,
});

/**
 * Closed stepped run: 8 steps × 60 s, users 10..80, Z = 0, service time 20 ms and capacity 1000 rps, so
 * R = max(20 ms, N / 1000 rps) (Little's law holds); 5 % timeouts from 60 users on. With a 50 ms p95 SLO the
 * break is at 50 users.
 */
export function steppedRun(seed = 1, o: { spikeAtStep?: number; genCpu?: number } = {}): RunRecord {
  const rng = seededRng(seed);
  const specs: SecondSpec[] = [];
  for (let k = 1; k <= 8; k++) {
    const users = 10 * k;
    const rho = users / 60;
    const latMs = Math.max(20, users);
    for (let s = 0; s < 60; s++) {
      const rps = Math.round(users / (latMs / 1000));
      const spike = o.spikeAtStep === k && s >= 40 && s < 48;
      const lat = Array.from({ length: Math.max(1, rps) }, () => (spike ? 5000 : latMs) * Math.exp(0.05 * normal(rng)));
      const timeouts = rho >= 1 ? Math.round(0.05 * lat.length) : 0;
      specs.push({
        phase: `step-${k}:${users}`,
        users,
        latenciesMs: { api: lat },
        errors: { api: { timeout: timeouts } },
        cpuCores: o.genCpu ?? 0.3,
        containers: { app: container({ cpuLimitUtilization: Math.min(0.8, 0.1 * k) }) },
      });
    }
  }
  return buildRecord(specs);
}
