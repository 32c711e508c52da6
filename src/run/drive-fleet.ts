// The load stage on a fleet of worker processes (#15, docs/DISTRIBUTED.md): driveLoad's LoadFn with the
// coordinator in place of the in-process engine. Writes each merged second's per-worker figures (`workers` section
// of the series line) and the fleet (members, barrier skew, lost workers) into the manifest.
import type { MergedSecond } from '../load/fleet/merge.ts';
import { runFleetLoad, type FleetReport } from '../load/fleet/fleet-load.ts';
import type { WorkerEngine } from '../load/fleet/port.ts';
import type { LoadFn } from './drive-load.ts';

export interface FleetRequest {
  engine: WorkerEngine;
  count: number;
  allowTargets: readonly string[];
  /** where the coordinator listens; default loopback */
  bindHost?: string;
  /** its port (default a free one) and the run's token (default a fresh one): for workers started by someone else */
  port?: number;
  token?: string;
}

/** The generator's cores: each distinct worker host once (local workers share this machine's). */
export function fleetCores(fleet: FleetReport): number | undefined {
  const byHost = new Map<string, number>();
  for (const m of fleet.members) if (m.host !== undefined && m.hostCores !== undefined) byHost.set(m.host, m.hostCores);
  return byHost.size ? [...byHost.values()].reduce((a, b) => a + b, 0) : undefined;
}

export function fleetLoad(req: FleetRequest): LoadFn {
  return async (o, run) => {
    let current: MergedSecond | undefined;
    run.writer.addSection('workers', () => current?.workers);
    run.manifest.fleet = { engine: req.engine.name, count: req.count };
    const r = await runFleetLoad(o, {
      runId: run.runId,
      engine: req.engine,
      count: req.count,
      allowTargets: req.allowTargets,
      bindHost: req.bindHost,
      port: req.port,
      token: req.token,
      onMerged: (m) => (current = m),
    });
    const cores = fleetCores(r.fleet);
    Object.assign(run.manifest, { fleet: r.fleet, ...(cores !== undefined && { generatorCores: cores }) });
    run.log(`fleet: ${r.fleet.count} ${r.fleet.engine} workers, barrier skew ${r.fleet.barrierSkewMs ?? '?'} ms`);
    for (const l of r.fleet.lost) run.log(`partial run: worker ${l.index} (${l.name}) lost: ${l.reason}`);
    return r;
  };
}
