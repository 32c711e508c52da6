// `--engine docker` wired (#15, docs/DISTRIBUTED.md): the Docker engine reached (or started) from the environment
// like the stack's, the worker image built if its inputs changed, then the DockerEngine. The engine registry
// (`--engine NAME` → WorkerEngine) maps 'docker' to this.
import { join } from 'node:path';
import type { Env } from '../common/interpolate.ts';
import { PACKAGE_ROOT } from '../common/paths.ts';
import { DockerEngine, WORKER_IMAGE_REF } from '../load/fleet/docker-engine.ts';
import type { Fleet, FleetSpec, WorkerEngine } from '../load/fleet/port.ts';
import { ensureImages, imageBuildSettings } from '../stack/images/ensure.ts';
import { reapOrphans } from '../stack/reaper.ts';
import { connectEngine } from './stack-control.ts';

/** LABEL_PROJECT of worker containers: `loadscope ps` shows them under it. */
export const WORKER_PROJECT = 'loadscope-workers';

export interface DockerWorkersOptions {
  /** default: this process's environment (DOCKER_HOST, LOADSCOPE_IMAGE_BUILDER, …) */
  env?: Env;
  /** default: stderr, as the bootstrap logs */
  log?: (msg: string) => void;
  onOutput?: (index: number, line: string) => void;
}

export function dockerWorkerEngine(options: DockerWorkersOptions = {}): WorkerEngine {
  const o = { ...options, env: options.env ?? process.env, log: options.log ?? ((m: string) => void process.stderr.write(`loadscope: ${m}\n`)) };
  return {
    name: 'docker',
    async start(spec: FleetSpec): Promise<Fleet> {
      const runtime = await connectEngine(o.env, o.log);
      // as at the start of every stack: containers (workers too) of a run whose process died go first
      const reaped = await reapOrphans(runtime);
      if (reaped.length > 0) o.log(`removed ${reaped.length} leftover container(s) of crashed runs: ${reaped.join(', ')}`);
      const ensureImage = async (): Promise<void> => {
        const settings = imageBuildSettings(o.env);
        await ensureImages({ runtime, composeDir: join(PACKAGE_ROOT, 'compose'), ...settings, log: o.log, refs: [WORKER_IMAGE_REF] });
      };
      return new DockerEngine({ runtime, project: WORKER_PROJECT, ensureImage, onOutput: o.onOutput }).start(spec);
    },
  };
}
