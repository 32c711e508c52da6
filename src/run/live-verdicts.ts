// Verdicts while the run is going, for Grafana: the SLOs over the run so far, each service's working-set
// slope (Theil–Sen over a bounded, thinned history), and the breaking point once the stop rule fires.
import { pairwiseSlopes } from '../analysis/stats.ts';
import type { Scenario } from '../config/schema.ts';
import type { RunSummary } from '../store/run-writer.ts';
import { checkSlo } from './slo.ts';

export interface LiveVerdicts {
  slo: { name: string; pass: boolean }[];
  leakSlopeBytesPerHour: Record<string, number>;
  breakingPointUsers: number | null;
}

// Bounded memory whatever the run length: halve the history (keep every other point) when full.
const MAX_POINTS = 240;
// Half a minute of working set before a live slope is shown: a rough early signal, the post-mortem decides.
const MIN_SPAN_S = 30;

export class LiveVerdictTracker {
  private readonly points = new Map<string, { tS: number[]; bytes: number[]; strideS: number; lastS: number }>();
  private breakingPointUsers: number | null = null;

  constructor(private readonly scenario: Scenario) {}

  noteWorkingSet(service: string, tS: number, bytes: number | null | undefined): void {
    if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return;
    let p = this.points.get(service);
    if (!p) {
      p = { tS: [], bytes: [], strideS: 1, lastS: -Infinity };
      this.points.set(service, p);
    }
    if (tS - p.lastS < p.strideS) return;
    p.tS.push(tS);
    p.bytes.push(bytes);
    p.lastS = tS;
    if (p.tS.length >= MAX_POINTS) {
      p.tS = p.tS.filter((_, i) => i % 2 === 0);
      p.bytes = p.bytes.filter((_, i) => i % 2 === 0);
      p.strideS *= 2;
    }
  }

  noteBreak(users: number): void {
    this.breakingPointUsers ??= users;
  }

  verdicts(summary: RunSummary): LiveVerdicts {
    const leakSlopeBytesPerHour: Record<string, number> = {};
    for (const [service, p] of this.points) {
      const n = p.tS.length;
      if (n < 10 || (p.tS[n - 1] ?? 0) - (p.tS[0] ?? 0) < MIN_SPAN_S) continue;
      const slopes = pairwiseSlopes(p.tS, p.bytes);
      const median = slopes[Math.floor(slopes.length / 2)];
      if (median !== undefined) leakSlopeBytesPerHour[service] = median * 3600;
    }
    return {
      slo: checkSlo(this.scenario, summary).map((c) => ({ name: c.name, pass: c.pass })),
      leakSlopeBytesPerHour,
      breakingPointUsers: this.breakingPointUsers,
    };
  }
}
