// The load generator against wrk on one trivial loopback server: throughput ratio at 50, 500 and 2,000
// connections, its own CPU per request at each, and a 1,000 → 2,000 zero-think step counted for empty
// seconds. All figures are ratios or counts measured in the same run, so a busy machine shifts both sides.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowConfig } from '../../config/schema.ts';
import { runLoad } from '../../load/engine.ts';
import { planShape } from '../../load/shapes/registry.ts';
import { engineRun, median, startServer, wrkRun } from './load-bench.ts';
import { allowTarget } from '../../config/target.ts';

export interface ConcurrencyFigures {
  connections: number;
  /** medians over the rounds */
  wrkRps?: number;
  /** wrk's own CPU per request: the reference for how the cost per request grows with connections here */
  wrkCpuUsPerReq?: number;
  engineRps: number;
  engineCpuUsPerReq: number;
  /** median over the rounds of engine ÷ wrk measured back to back (robust to a neighbour's load) */
  rpsRatio?: number;
  /** median over the rounds of engine CPU per request ÷ the lowest level's, same round */
  cpuPerReqRatio?: number;
}

export interface StepFigures {
  /** whole seconds after the first with no completion, while the target was up */
  zeroSeconds: number;
  seconds: number;
  /** the engine's whole-process CPU, median over the seconds, in cores */
  medianCpuCores: number;
  minRps: number;
}

export interface EngineBenchResult {
  levels: ConcurrencyFigures[];
  steps: StepFigures[];
}

const FLOW: FlowConfig = { onStart: [], tasks: [{ name: 'root', method: 'GET', path: '/', headers: {}, capture: {}, weight: 1 }] };

/** 1,000 zero-think users, then 2,000: 3 s ramps, `holdS` holds. */
async function stepRun(url: string, holdS: number): Promise<StepFigures> {
  const counts: number[] = [];
  const cpu: number[] = [];
  await runLoad({
    flow: FLOW,
    target: allowTarget(url, [], 'bench'),
    timeline: planShape({ kind: 'steps', users: [1000, 2000], rampUpMs: 3_000, holdMs: holdS * 1000, recoveryMs: 0 }),
    thinkMinMs: 0,
    thinkMaxMs: 0,
    requestTimeoutMs: 10_000,
    onSecond: (s) => {
      if (s.final) return;
      counts.push(s.endpoints.get('root')?.count ?? 0);
      cpu.push(s.cpuCores);
    },
  });
  const judged = counts.slice(1);
  return { zeroSeconds: judged.filter((n) => n === 0).length, seconds: counts.length, medianCpuCores: median(cpu), minRps: Math.min(...judged) };
}

export async function engineBench(opts: {
  connections: number[];
  durationS: number;
  holdS: number;
  rounds: number;
  log: (l: string) => void;
}): Promise<EngineBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-engine-bench-'));
  const { url, child } = await startServer(dir);
  try {
    const raw = new Map<number, { wrk: number[]; wrkCpu: number[]; rps: number[]; cpu: number[]; ratio: number[]; cpuRatio: number[] }>(
      opts.connections.map((c) => [c, { wrk: [], wrkCpu: [], rps: [], cpu: [], ratio: [], cpuRatio: [] }]),
    );
    const steps: StepFigures[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      // interleaved: each round measures every level with both tools back to back
      for (const c of opts.connections) {
        const r = raw.get(c)!;
        const wrk = await wrkRun(url, c, opts.durationS);
        const e = await engineRun(url, c, opts.durationS);
        if (wrk) r.wrk.push(wrk.rps);
        if (wrk) r.ratio.push(e.rps / wrk.rps);
        const base = raw.get(opts.connections[0] ?? c)!.cpu[i];
        if (base) r.cpuRatio.push(e.cpuUsPerReq / base);
        if (wrk?.cpuUsPerReq !== undefined) r.wrkCpu.push(wrk.cpuUsPerReq);
        r.rps.push(e.rps);
        r.cpu.push(e.cpuUsPerReq);
        opts.log(
          `[${i + 1}] ${c} connections: wrk ${wrk?.rps.toFixed(0) ?? 'n/a'} req/s (${wrk?.cpuUsPerReq?.toFixed(1) ?? 'n/a'} µs CPU/req), engine ${e.rps.toFixed(0)} req/s (first second ${e.perSecond[0] ?? 0}, not counted), ${e.cpuUsPerReq.toFixed(1)} µs CPU/req`,
        );
      }
      const st = await stepRun(url, opts.holdS);
      steps.push(st);
      opts.log(
        `[${i + 1}] 1,000→2,000 step: ${st.zeroSeconds} of ${st.seconds} s with 0 completions, min ${st.minRps} req/s, median generator CPU ${st.medianCpuCores.toFixed(2)} cores`,
      );
    }
    const levels = opts.connections.map((c) => {
      const r = raw.get(c)!;
      return {
        connections: c,
        wrkRps: r.wrk.length ? median(r.wrk) : undefined,
        wrkCpuUsPerReq: r.wrkCpu.length ? median(r.wrkCpu) : undefined,
        engineRps: median(r.rps),
        engineCpuUsPerReq: median(r.cpu),
        rpsRatio: r.ratio.length ? median(r.ratio) : undefined,
        cpuPerReqRatio: r.cpuRatio.length ? median(r.cpuRatio) : undefined,
      };
    });
    return { levels, steps };
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lines `npm run bench` prints for the goals. */
export function engineBenchLines(r: EngineBenchResult): string[] {
  const lines = r.levels.map(
    (l) =>
      `engine/wrk at ${l.connections} connections = ${l.rpsRatio?.toFixed(3) ?? 'n/a (no wrk)'} (goal ≥ 0.95; median of per-round ratios; medians ${l.engineRps.toFixed(0)} / ${l.wrkRps?.toFixed(0) ?? 'n/a'} req/s); CPU/req engine ${l.engineCpuUsPerReq.toFixed(1)} µs, wrk ${l.wrkCpuUsPerReq?.toFixed(1) ?? 'n/a'} µs`,
  );
  const lo = r.levels[0];
  const hi = r.levels.at(-1);
  if (lo && hi && lo !== hi) {
    const wrkRatio = lo.wrkCpuUsPerReq && hi.wrkCpuUsPerReq ? (hi.wrkCpuUsPerReq / lo.wrkCpuUsPerReq).toFixed(3) : 'n/a';
    lines.push(
      `engine CPU per request ${hi.connections} ÷ ${lo.connections} connections = ${hi.cpuPerReqRatio?.toFixed(3) ?? 'n/a'} (goal within 20 %: 0.8–1.2; wrk's own: ${wrkRatio})`,
    );
  }
  lines.push(`1,000→2,000 zero-think step: seconds with 0 completions per round = ${r.steps.map((s) => s.zeroSeconds).join(', ')} (goal 0)`);
  return lines;
}
