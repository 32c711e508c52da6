// `npm run bench`: a list of bench sections; each prints its own figures. The lead adds stack timings here.
import { loadBench } from './load-bench.ts';

const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);

const sections: { name: string; run: () => Promise<void> }[] = [
  {
    name: 'load engine vs autocannon vs wrk',
    run: async () => {
      const r = await loadBench({ connections: env('BENCH_CONNECTIONS', 50), durationS: env('BENCH_DURATION_S', 10), soakS: env('BENCH_SOAK_S', 30), log: (l) => console.log(`  ${l}`) });
      console.log(`  engine/autocannon = ${(r.engineRps / r.autocannonRps).toFixed(3)} (goal ≥ 0.95)`);
      if (r.wrkRps) console.log(`  engine/wrk        = ${(r.engineRps / r.wrkRps).toFixed(3)} (goal ≥ 0.85)`);
      console.log(`  compressed soak memory (s: rss MB / heap MB): ${r.soakMemory.map((m) => `${m.atS}: ${m.rssMB}/${m.heapMB}`).join(', ')}`);
    },
  },
];

for (const s of sections) {
  console.log(`== ${s.name}`);
  await s.run();
}
