// `npm run bench`: a list of bench sections; each prints its own figures as ratios or against goals.
import { cpus } from 'node:os';
import { engineBench, engineBenchLines } from './engine-bench.ts';
import { loadBench } from './load-bench.ts';
import { median, stackBench } from './stack-bench.ts';
import { READ_BACK_GOAL, readBackBench } from './read-back-bench.ts';
import { samplerOverheadBench, samplerSoakMemoryBench } from './sampler-bench.ts';
import { workersBench } from './workers-bench.ts';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);

const sections: { name: string; run: () => Promise<void> }[] = [
  {
    name: 'reference stack: up-to-healthy and teardown (images present)',
    run: async () => {
      const r = await stackBench({ rounds: env('BENCH_STACK_ROUNDS', 3), log: (l) => console.log(`  ${l}`) });
      console.log(
        `  median up-to-healthy ${(median(r.upMs) / 1000).toFixed(2)} s (goal ≤ 10 s), teardown ${(median(r.downMs) / 1000).toFixed(2)} s (goal ≤ 5 s)`,
      );
    },
  },
  {
    name: 'load generator vs wrk at 50, 500, 2,000 connections; 1,000→2,000 zero-think step',
    run: async () => {
      const connections = (process.env.BENCH_ENGINE_CONNECTIONS ?? '50,500,2000').split(',').map(Number);
      const r = await engineBench({
        connections,
        durationS: env('BENCH_DURATION_S', 10),
        holdS: env('BENCH_STEP_HOLD_S', 8),
        rounds: env('BENCH_ROUNDS', 3),
        log: (l) => console.log(`  ${l}`),
      });
      for (const l of engineBenchLines(r)) console.log(`  ${l}`);
    },
  },
  {
    name: 'load engine vs autocannon vs wrk',
    run: async () => {
      const r = await loadBench({
        connections: env('BENCH_CONNECTIONS', 50),
        durationS: env('BENCH_DURATION_S', 10),
        soakS: env('BENCH_SOAK_S', 30),
        log: (l) => console.log(`  ${l}`),
      });
      console.log(`  engine/autocannon = ${(r.engineRps / r.autocannonRps).toFixed(3)} (goal ≥ 0.95)`);
      if (r.wrkRps) console.log(`  engine/wrk        = ${(r.engineRps / r.wrkRps).toFixed(3)} (goal ≥ 0.85)`);
      console.log(`  compressed soak memory (s: rss MB / heap MB): ${r.soakMemory.map((m) => `${m.atS}: ${m.rssMB}/${m.heapMB}`).join(', ')}`);
    },
  },
  {
    name: 'sampler overhead (1 Hz, 3 containers + Postgres + host) and compressed 8 h sampler memory',
    run: async () => {
      const log = (l: string): void => console.log(`  ${l}`);
      const o = await samplerOverheadBench({ durationS: env('BENCH_SAMPLER_S', 20), log });
      console.log(
        `  sampling overhead = ${o.overheadCorePct.toFixed(2)} % of one core (sampling ${o.samplingCorePct} % − idle ${o.idleCorePct} %; goal ≤ 3 %)`,
      );
      console.log(
        `  mean sampler time per tick (ms): ${Object.entries(o.meanTimingsMs)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      const m = await samplerSoakMemoryBench({ ticks: env('BENCH_SAMPLER_TICKS', 28_800), log });
      console.log(
        `  memory over ${m.ticks} ticks: rss ${m.before.rssMB} → ${m.after.rssMB} MB (${m.rssGrowthMB >= 0 ? '+' : ''}${m.rssGrowthMB}), heap ${m.before.heapMB} → ${m.after.heapMB} MB (${m.heapGrowthMB >= 0 ? '+' : ''}${m.heapGrowthMB}); goal growth ≤ 5 MB`,
      );
    },
  },
  {
    name: 'workers: 1 vs 2 local worker processes, merged (loadscope run --workers)',
    run: async () => {
      const r = await workersBench({
        users: env('BENCH_WORKERS_USERS', 100),
        durationS: env('BENCH_WORKERS_DURATION_S', 10),
        log: (l) => console.log(`  ${l}`),
      });
      console.log(`  2 workers / 1 worker = ${(r.rps[2]! / r.rps[1]!).toFixed(3)} (on ${cpus().length} cores, shared with the target)`);
    },
  },
  {
    name: 'read-back: loadscope analyze on an 8 h, 1 Hz run directory',
    run: async () => {
      const r = readBackBench({ seconds: env('BENCH_READ_BACK_S', 28_800), log: (l) => console.log(`  ${l}`) });
      console.log(`  analyse + report ${r.wallS.toFixed(2)} s wall, ${r.cpuS.toFixed(2)} s CPU, peak RSS ${r.peakRssMB} MB; verdict ${r.verdict}`);
      const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
      // wall time is the goal; on a shared machine it includes waiting for a core, so the CPU time is printed beside it
      console.log(
        `  goal ≤ ${READ_BACK_GOAL.wallS} s: ${met(r.wallS <= READ_BACK_GOAL.wallS)} (CPU ${met(r.cpuS <= READ_BACK_GOAL.wallS)}); goal ≤ ${READ_BACK_GOAL.peakRssMB} MB: ${met(r.peakRssMB <= READ_BACK_GOAL.peakRssMB)}`,
      );
    },
  },
];

// BENCH_ONLY=<words>: run just the sections whose name contains them
const only = process.env.BENCH_ONLY?.toLowerCase();
for (const s of sections.filter((x) => !only || x.name.toLowerCase().includes(only))) {
  console.log(`== ${s.name}`);
  await s.run();
}
