// `loadscope up | down | ps`: the reference stack (or any supported Compose file) by hand.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEngine } from '../../stack/engine/engine.ts';
import { LABEL_MANAGED, LABEL_RUN, LABEL_SERVICE } from '../../stack/labels.ts';
import { loadComposeFile } from '../../stack/compose/load.ts';
import { downByLabel, startStack } from '../../stack/stack.ts';
import type { ContainerRuntime } from '../../stack/runtime/port.ts';

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A relative path is looked up in the working directory first, then in loadscope's own folder. */
export function resolveFromCwdOrPackage(path: string): string {
  const fromCwd = resolve(path);
  if (existsSync(fromCwd)) return fromCwd;
  const fromPackage = resolve(PACKAGE_ROOT, path);
  return existsSync(fromPackage) ? fromPackage : fromCwd;
}

export async function connectEngine(): Promise<ContainerRuntime> {
  const engine = await ensureEngine({
    dockerHost: process.env.DOCKER_HOST,
    logPath: process.env.LOADSCOPE_DOCKERD_LOG ?? '/var/log/loadscope/dockerd.log',
    isRoot: process.getuid?.() === 0,
    log: (m) => process.stderr.write(`loadscope: ${m}\n`),
  });
  return engine.runtime;
}

export function registerStackCommands(program: Command, _setCode: (code: number) => void): void {
  program
    .command('up')
    .description('Bring the stack up (create, start in dependency order, wait for health) and leave it running.')
    .option('-f, --compose <file>', 'Compose file', 'compose/stack.yml')
    .option('--run-id <id>', 'run id label for the containers', `manual-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    .option('--health-timeout <ms>', 'deadline per service to become healthy, in ms', '120000')
    .addHelpText('after', '\nExamples:\n  loadscope up\n  LOADSCOPE_APP_PORT=8001 loadscope up -f compose/stack.yml\n')
    .action(async (opts: { compose: string; runId: string; healthTimeout: string }) => {
      const project = loadComposeFile(resolveFromCwdOrPackage(opts.compose), process.env);
      const runtime = await connectEngine();
      const stack = await startStack({ runtime, project, runId: opts.runId, healthTimeoutMs: Number(opts.healthTimeout), detached: true });
      for (const s of stack.services) process.stdout.write(`${s.name}\t${s.containerId.slice(0, 12)}\thealthy\n`);
      process.stdout.write(`stack up (run ${opts.runId}); stop it with: loadscope down\n`);
      await stack.detach();
    });

  program
    .command('down')
    .description('Remove every loadscope-managed container, including orphans of a crashed run.')
    .option('--run-id <id>', 'only the containers of this run')
    .addHelpText('after', '\nExamples:\n  loadscope down\n  loadscope down --run-id manual-2026-01-01T00-00-00-000Z\n')
    .action(async (opts: { runId?: string }) => {
      const runtime = await connectEngine();
      const labels: Record<string, string> = { [LABEL_MANAGED]: 'true', ...(opts.runId ? { [LABEL_RUN]: opts.runId } : {}) };
      const removed = await downByLabel(runtime, labels);
      process.stdout.write(removed.length > 0 ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
    });

  program
    .command('ps')
    .description('List loadscope-managed containers with their run, service, state and health.')
    .addHelpText('after', '\nExample:\n  loadscope ps\n')
    .action(async () => {
      const runtime = await connectEngine();
      const rows = await runtime.list({ [LABEL_MANAGED]: 'true' });
      process.stdout.write('NAME\tRUN\tSERVICE\tSTATE\tHEALTH\n');
      for (const c of rows) {
        process.stdout.write(`${c.name}\t${c.labels[LABEL_RUN] ?? ''}\t${c.labels[LABEL_SERVICE] ?? ''}\t${c.state}\t${c.health}\n`);
      }
    });
}
