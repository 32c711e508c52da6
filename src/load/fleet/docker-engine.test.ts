import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../common/clock.ts';
import { loadImageSpecs } from '../../stack/images/spec.ts';
import { LABEL_MANAGED, LABEL_OWNER_PID, LABEL_PROJECT, LABEL_RUN, LABEL_SERVICE } from '../../stack/labels.ts';
import { reapOrphans } from '../../stack/reaper.ts';
import { FakeContainerRuntime } from '../../stack/testing/fake-runtime.ts';
import { DockerEngine, WORKER_IMAGE_REF, workerContainerName } from './docker-engine.ts';
import { FLEET_LABEL_ROLE, FLEET_ROLE_WORKER, WORKER_ARGS, workerEnv, type FleetSpec, type WorkerExit } from './port.ts';

const clock = (): FakeClock => new FakeClock();
const specFor = (c: FakeClock, count = 2): FleetSpec => ({
  runId: 'run-20261202-abc',
  count,
  coordinatorUrl: 'http://127.0.0.1:40123',
  token: 'secret-token',
  deadlineEpochMs: c.nowMs() + 60_000,
});
const setup = (c = clock()) => {
  const runtime = new FakeContainerRuntime({ images: [WORKER_IMAGE_REF] });
  return { runtime, c, engine: new DockerEngine({ runtime, project: 'demo', clock: c, deadlineGraceMs: 10_000 }) };
};
const runContainers = (runtime: FakeContainerRuntime) => [...runtime.containers.values()].filter((x) => x.spec.labels[LABEL_RUN] === 'run-20261202-abc');

describe('DockerEngine', () => {
  it('starts N worker containers: host network, managed + role labels, workerEnv, the worker command', async () => {
    const { runtime, c, engine } = setup();
    const spec = specFor(c, 3);
    const fleet = await engine.start(spec);
    expect(fleet.members.map((m) => m.name)).toEqual([0, 1, 2].map((i) => workerContainerName(spec.runId, i)));
    const made = runContainers(runtime);
    expect(made.map((x) => x.state)).toEqual(['running', 'running', 'running']);
    made.forEach((x, i) => {
      expect(x.spec).toMatchObject({ image: WORKER_IMAGE_REF, networkMode: 'host', cmd: [...WORKER_ARGS], env: workerEnv(spec, i), binds: [] });
      expect(x.spec.labels).toMatchObject({
        [LABEL_MANAGED]: 'true',
        [LABEL_RUN]: spec.runId,
        [LABEL_PROJECT]: 'demo',
        [LABEL_SERVICE]: `worker-${i}`,
        [LABEL_OWNER_PID]: String(process.pid),
        [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER,
      });
    });
    await fleet.stop();
  });

  it('reports each exit once, with its code; OOM and signal deaths named', async () => {
    const { runtime, c, engine } = setup();
    const fleet = await engine.start(specFor(c, 3));
    const exits: WorkerExit[] = [];
    fleet.onExit((e) => exits.push(e));
    const [w0, w1, w2] = fleet.members.map((m) => m.name);
    runtime.kill(w0 as string, 3);
    runtime.kill(w1 as string, 137, { oom: true });
    runtime.kill(w2 as string, 0);
    const ended = await fleet.ended;
    expect(exits).toHaveLength(3);
    expect(ended).toEqual([
      { index: 0, exitCode: 3, reason: 'exited (exit 3)', atMs: c.nowMs() },
      { index: 1, signal: 'SIGKILL', reason: 'OOMKilled (exit 137, SIGKILL)', atMs: c.nowMs() },
      { index: 2, exitCode: 0, reason: 'exited (exit 0)', atMs: c.nowMs() },
    ]);
    await fleet.stop();
    expect(exits).toHaveLength(3);
  });

  it('a worker found dead right after start is reported though no event came for it', async () => {
    const { runtime, c, engine } = setup();
    const spec = specFor(c);
    // the fake turns it "exited" on the first inspect after start, the way a fast crash looks to a late subscriber
    runtime.script(workerContainerName(spec.runId, 0), { exitOnInspect: 1, exitCode: 9 });
    const fleet = await engine.start(spec);
    const exits: WorkerExit[] = [];
    fleet.onExit((e) => exits.push(e));
    await vi.waitFor(() => expect(exits).toMatchObject([{ index: 0, exitCode: 9 }]));
    await fleet.stop();
  });

  it('kill(index) ends that worker only; an unknown index is a no-op', async () => {
    const { runtime, c, engine } = setup();
    const fleet = await engine.start(specFor(c));
    const exits: WorkerExit[] = [];
    fleet.onExit((e) => exits.push(e));
    await fleet.kill(7);
    await fleet.kill(1);
    await vi.waitFor(() => expect(exits).toMatchObject([{ index: 1, signal: 'SIGKILL', reason: 'exited (exit 137, SIGKILL)' }]));
    expect(runContainers(runtime).map((x) => x.state)).toEqual(['running', 'exited']);
    await fleet.stop();
  });

  it('stop() ends and removes every container, resolves ended, and is idempotent', async () => {
    const { runtime, c, engine } = setup();
    const fleet = await engine.start(specFor(c));
    await Promise.all([fleet.stop(), fleet.stop()]);
    expect(runContainers(runtime)).toEqual([]);
    expect((await fleet.ended).map((e) => e.index)).toEqual([0, 1]);
    expect(runtime.calls.filter((x) => x.startsWith('remove'))).toHaveLength(2);
  });

  it('a failed create removes what was made and rethrows', async () => {
    const { runtime, c, engine } = setup();
    const spec = specFor(c, 3);
    runtime.script(workerContainerName(spec.runId, 1), { failCreate: 'no space left' });
    await expect(engine.start(spec)).rejects.toThrow('no space left');
    expect(runContainers(runtime)).toEqual([]);
  });

  it("forwards each worker's output lines with its index", async () => {
    const c = clock();
    const runtime = new FakeContainerRuntime({ images: [WORKER_IMAGE_REF] });
    const spec = specFor(c);
    runtime.script(workerContainerName(spec.runId, 1), { logs: ['starting', { stream: 'stderr', line: 'no assignment: 401' }] });
    const lines: string[] = [];
    const fleet = await new DockerEngine({ runtime, project: 'demo', clock: c, onOutput: (i, l) => lines.push(`${i}: ${l}`) }).start(spec);
    await vi.waitFor(() => expect(lines).toEqual(['1: starting', '1: no assignment: 401']));
    await fleet.stop();
  });

  it('ensures the image before the first container', async () => {
    const runtime = new FakeContainerRuntime();
    const c = clock();
    const engine = new DockerEngine({ runtime, project: 'demo', clock: c, ensureImage: async () => runtime.addImage(WORKER_IMAGE_REF) });
    const fleet = await engine.start(specFor(c));
    expect(runContainers(runtime)).toHaveLength(2);
    await fleet.stop();
  });

  it('removes workers still running past deadline + grace', async () => {
    const { runtime, c, engine } = setup();
    const fleet = await engine.start(specFor(c));
    await c.advance(60_000 + 9_999);
    expect(runContainers(runtime)).toHaveLength(2);
    await c.advance(1);
    await vi.waitFor(() => expect(runContainers(runtime)).toEqual([]));
    // exit 0: the fake's stop; the die event or the inspect after it may tell first
    for (const e of await fleet.ended) expect(e).toMatchObject({ exitCode: 0, reason: expect.stringMatching(/\(exit 0\)$/) });
  });

  it('a build in start() moves the reap deadline by its duration', async () => {
    const c = clock();
    const runtime = new FakeContainerRuntime();
    const ensureImage = async (): Promise<void> => {
      await c.advance(120_000);
      runtime.addImage(WORKER_IMAGE_REF);
    };
    const spec = specFor(c);
    const fleet = await new DockerEngine({ runtime, project: 'demo', clock: c, ensureImage, deadlineGraceMs: 10_000 }).start(spec);
    await c.advance(60_000 + 9_999);
    expect(runContainers(runtime)).toHaveLength(2);
    await c.advance(1);
    await vi.waitFor(() => expect(runContainers(runtime)).toEqual([]));
    await fleet.ended;
  });

  it('leftover workers of a dead coordinator are orphans to the reaper (`loadscope down`)', async () => {
    const { runtime, c, engine } = setup();
    await engine.start(specFor(c));
    const reaped = await reapOrphans(runtime, () => false);
    expect(reaped.sort()).toEqual([0, 1].map((i) => workerContainerName('run-20261202-abc', i)));
    expect(runContainers(runtime)).toEqual([]);
  });

  it('WORKER_IMAGE_REF is the ref compose/images/loadscope/image.json builds, on demand only', () => {
    const composeDir = fileURLToPath(new URL('../../../compose', import.meta.url));
    const spec = loadImageSpecs(composeDir).find((s) => s.ref === WORKER_IMAGE_REF);
    expect(spec?.onDemand).toBe(true);
    expect(spec?.entrypoint).toEqual(['node', '/app/src/cli/loadscope.mjs']);
  });
});
