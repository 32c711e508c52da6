// The stress ladder's hard step alone, for profiling: 1,000 then 2,000 zero-think users (ramps and holds of the
// stress preset at time scale PROFILE_TIME_SCALE, default 0.05: 3 s ramps, 10 s holds) against a trivial
// loopback server, one line per second on stdout. Profile the workers too:
//   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof src/run/bench/profile-step.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../../load/engine.ts';
import { planShape } from '../../load/shapes/registry.ts';
import { startServer } from './load-bench.ts';
import { allowTarget } from '../../config/target.ts';

const timeScale = Number(process.env.PROFILE_TIME_SCALE ?? 0.05);
const dir = mkdtempSync(join(tmpdir(), 'loadscope-profile-'));
const { url, child } = await startServer(dir);
try {
  const timeline = planShape({ kind: 'steps', users: [1000, 2000], rampUpMs: 60_000, holdMs: 200_000, recoveryMs: 0 }, timeScale);
  const t0 = Date.now();
  const res = await runLoad({
    flow: { onStart: [], tasks: [{ name: 'root', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] },
    target: allowTarget(url, [], 'bench'),
    timeline,
    thinkMinMs: 0,
    thinkMaxMs: 0,
    requestTimeoutMs: 10_000,
    onSecond: (s) =>
      console.log(
        JSON.stringify({
          elapsedS: s.elapsedS,
          phase: s.phase,
          users: s.activeUsers,
          completed: s.endpoints.get('root')?.count ?? 0,
          cancelled: s.cancelled,
          cpuCores: s.cpuCores,
          final: s.final,
        }),
      ),
  });
  console.log(JSON.stringify({ plannedMs: timeline.durationMs, tookMs: Date.now() - t0, stoppedBy: res.stoppedBy }));
} finally {
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
