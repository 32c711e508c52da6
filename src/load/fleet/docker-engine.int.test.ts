// The docker engine on the real engine: the loadscope/loadscope image (built on demand, or present with the hash of
// its inputs), two labelled host-network worker containers, their exits as Docker saw them, kill, and nothing left.
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../common/paths.ts';
import { ensureImages, imageBuildSettings, type EnsuredImage } from '../../stack/images/ensure.ts';
import { LABEL_INPUTS_HASH, LABEL_MANAGED, LABEL_PROJECT, LABEL_RUN, LABEL_SERVICE } from '../../stack/labels.ts';
import type { ContainerRuntime } from '../../stack/runtime/port.ts';
import { freePort, leftovers, realRuntime, uniqueRunId } from '../../stack/testing/runtime.ts';
import { dockerWorkerEngine, WORKER_PROJECT } from '../../run/docker-workers.ts';
import { DockerEngine, WORKER_IMAGE_REF } from './docker-engine.ts';
import { FLEET_LABEL_ROLE, FLEET_ROLE_WORKER, workerEnv, type Fleet, type FleetSpec, type WorkerEngine, type WorkerExit } from './port.ts';

describe('docker worker engine (real Docker)', () => {
  let runtime: ContainerRuntime;
  let engine: DockerEngine;
  let ensured: EnsuredImage[];
  let coordinator: Server;
  let coordinatorUrl: string;
  const runIds: string[] = [];
  const fleets: Fleet[] = [];

  beforeAll(async () => {
    runtime = await realRuntime();
    // first build: debootstrap + Node .deb + npm ci, ~3 min on this 2-core machine; later ones only when src/ changed
    ensured = await ensureImages({
      runtime,
      composeDir: join(PACKAGE_ROOT, 'compose'),
      ...imageBuildSettings(process.env),
      log: () => undefined,
      refs: [WORKER_IMAGE_REF],
    });
    engine = new DockerEngine({ runtime, project: 'it-fleet', deadlineGraceMs: 5_000, stopTimeoutS: 2 });
    // a stand-in coordinator on the host's loopback that refuses every worker (401)
    coordinator = createServer((_req, res) => res.writeHead(401).end());
    const port = await freePort();
    await new Promise<void>((resolve) => coordinator.listen(port, '127.0.0.1', resolve));
    coordinatorUrl = `http://127.0.0.1:${port}`;
  }, 600_000);

  afterAll(async () => {
    for (const f of fleets) await f.stop();
    await new Promise((resolve) => coordinator?.close(resolve));
    for (const runId of runIds) expect(await leftovers(runtime, runId)).toEqual([]);
  });

  const start = async (count: number, using: WorkerEngine = engine): Promise<{ spec: FleetSpec; fleet: Fleet; exits: WorkerExit[] }> => {
    const runId = uniqueRunId('it-fleet');
    runIds.push(runId);
    // the deadline bounds the test: a worker still running 20 s + grace from now is removed by the engine
    const spec: FleetSpec = { runId, count, coordinatorUrl, token: `token-${runId}`, deadlineEpochMs: Date.now() + 20_000 };
    const fleet = await using.start(spec);
    fleets.push(fleet);
    const exits: WorkerExit[] = [];
    fleet.onExit((e) => exits.push(e));
    return { spec, fleet, exits };
  };

  it('has the image with the hash of its current inputs', async () => {
    expect(ensured).toMatchObject([{ ref: WORKER_IMAGE_REF }]);
    const info = await runtime.imageInfo(WORKER_IMAGE_REF);
    expect(info?.labels[LABEL_INPUTS_HASH]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('starts two host-network worker containers with labels and env; each exit is the one Docker recorded; stop leaves none', async () => {
    // as `--engine docker` wires it: engine from the environment, image ensured, output forwarded
    const output = new Map<number, string[]>();
    const onOutput = (i: number, line: string): void => void output.set(i, [...(output.get(i) ?? []), line]);
    const { spec, fleet } = await start(2, dockerWorkerEngine({ env: process.env, log: () => undefined, onOutput }));
    const rows = (await runtime.list({ [LABEL_RUN]: spec.runId, [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER })).sort((a, b) => a.name.localeCompare(b.name));
    expect(rows.map((r) => r.name)).toEqual(fleet.members.map((m) => m.name));
    rows.forEach((r, i) => {
      expect(r.image).toBe(WORKER_IMAGE_REF);
      expect(r.networkMode).toBe('host');
      expect(r.labels).toMatchObject({ [LABEL_MANAGED]: 'true', [LABEL_PROJECT]: WORKER_PROJECT, [LABEL_SERVICE]: `worker-${i}` });
      expect(r.env).toMatchObject(workerEnv(spec, i));
    });
    const ended = await fleet.ended;
    for (const exit of ended) {
      const seen = await runtime.inspect(fleet.members[exit.index]?.name ?? '');
      expect(seen?.state).toBe('exited');
      // the engine's code, as the port wants it: a signal death (128 + n) as its signal, any other as the code
      if (exit.signal) expect(seen?.exitCode).toBe(exit.signal === 'SIGKILL' ? 137 : 143);
      else expect(exit.exitCode).toBe(seen?.exitCode);
      expect(exit.reason).toContain(`(exit ${seen?.exitCode}`);
      // a worker that fails says why on stderr, and the coordinator's log gets it
      if (seen?.exitCode !== 0) expect(output.get(exit.index)?.length ?? 0).toBeGreaterThan(0);
    }
    await fleet.stop();
    expect(await leftovers(runtime, spec.runId)).toEqual([]);
  }, 120_000);

  it('kill(1) ends worker 1 by SIGKILL; stop ends the other and removes both', async () => {
    // killed right after start: node + tsx take seconds to reach the worker command here, so it is still running
    const { spec, fleet, exits } = await start(2);
    await fleet.kill(1);
    await expect.poll(() => exits.map((e) => e.index), { timeout: 30_000 }).toContain(1);
    expect(exits.find((e) => e.index === 1)).toMatchObject({ signal: 'SIGKILL', reason: 'exited (exit 137, SIGKILL)' });
    await fleet.stop();
    expect((await fleet.ended).map((e) => e.index)).toEqual([0, 1]);
    expect(await runtime.list({ [LABEL_MANAGED]: 'true', [LABEL_RUN]: spec.runId })).toEqual([]);
  }, 120_000);
});
