// The real StackProvider: the Compose file through src/stack on the Docker engine, with container
// events (die, OOM, restart) reported into the run as they happen.
import { DEFAULT_HEALTH_TIMEOUT_MS } from '../config/defaults.ts';
import { ensureEngine } from '../stack/engine/engine.ts';
import { loadComposeFile } from '../stack/compose/load.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';
import { startStack, type StackEvent } from '../stack/stack.ts';
import { reapOrphans } from '../stack/reaper.ts';
import type { StackHooks, StackProvider, UpStack } from './run-scenario.ts';

export interface DockerStackOptions {
  /** Environment for ${VAR} interpolation in the Compose file. */
  env: Readonly<Record<string, string | undefined>>;
  dockerHost: string | undefined;
  dockerdLogPath: string;
  isRoot: boolean;
  healthTimeoutMs?: number;
}

export function dockerStackProvider(o: DockerStackOptions): StackProvider & { connect(): Promise<ContainerRuntime> } {
  let runtime: ContainerRuntime | undefined;
  const connect = async (): Promise<ContainerRuntime> => {
    runtime ??= (await ensureEngine({ dockerHost: o.dockerHost, logPath: o.dockerdLogPath, isRoot: o.isRoot })).runtime;
    return runtime;
  };
  return {
    connect,
    async up(runId: string, runDir: string, composePath: string, hooks: StackHooks): Promise<UpStack> {
      // Parse before touching the engine: a bad Compose file is a config error, nothing started.
      const project = loadComposeFile(composePath, o.env);
      for (const w of project.warnings) hooks.onEvent('compose-warning', { message: w });
      const rt = await connect();
      if (hooks.beforeStart) {
        // orphans of a crashed run hold the same ports: reap them first (startStack's own reap then finds none)
        for (const name of await reapOrphans(rt)) hooks.onEvent('stack-warning', { message: `removed orphan container ${name} of a crashed run` });
        await hooks.beforeStart();
      }
      const onEvent = (e: StackEvent): void => {
        hooks.onEvent(
          `stack-${e.kind}`,
          {
            service: e.service,
            ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
            ...(e.oomKilled !== undefined ? { oomKilled: e.oomKilled } : {}),
            ...(e.message !== undefined ? { message: e.message } : {}),
          },
          e.timeMs,
        );
        if (e.kind === 'container-died' || e.kind === 'container-oom' || e.kind === 'container-restarted') hooks.onContainerTrouble?.(e);
      };
      const stack = await startStack({
        runtime: rt,
        project,
        runId,
        runDir,
        healthTimeoutMs: o.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
        onEvent,
        onWarning: (message) => hooks.onEvent('stack-warning', { message }),
      });
      return {
        runtime: rt,
        containers: stack.services.map((s) => ({ service: s.name, containerId: s.containerId })),
        down: () => stack.down(),
      };
    },
  };
}
