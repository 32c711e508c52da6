// `loadscope up | down | ps`: the reference stack (or any supported Compose file) by hand. Parses, calls run/, prints.
import type { Command } from 'commander';
import { DEFAULT_COMPOSE_PATH, DEFAULT_HEALTH_TIMEOUT_MS } from '../../config/defaults.ts';

/** Loaded when a stack command runs (Docker's client is heavy to load for every other command). */
const stackControl = (): Promise<typeof import('../../run/stack-control.ts')> => import('../../run/stack-control.ts');

const log = (m: string): void => void process.stderr.write(`loadscope: ${m}\n`);

export function registerStackCommands(program: Command, _setCode: (code: number) => void): void {
  program
    .command('up')
    .description('Bring the stack up (create, start in dependency order, wait for health) and leave it running.')
    .option('-f, --compose <file>', 'Compose file', DEFAULT_COMPOSE_PATH)
    .option('--run-id <id>', 'run id label for the containers', `manual-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    .option('--health-timeout <ms>', 'deadline per service to become healthy, in ms', String(DEFAULT_HEALTH_TIMEOUT_MS))
    .addHelpText('after', '\nExamples:\n  loadscope up\n  LOADSCOPE_APP_PORT=8001 loadscope up -f compose/stack.yml\n')
    .action(async (opts: { compose: string; runId: string; healthTimeout: string }) => {
      const services = await (
        await stackControl()
      ).stackUp({ composePath: opts.compose, runId: opts.runId, healthTimeoutMs: Number(opts.healthTimeout), env: process.env, log });
      for (const s of services) process.stdout.write(`${s.name}\t${s.containerId.slice(0, 12)}\thealthy\n`);
      process.stdout.write(`stack up (run ${opts.runId}); stop it with: loadscope down\n`);
    });

  program
    .command('down')
    .description('Remove every loadscope-managed container, including orphans of a crashed run.')
    .option('--run-id <id>', 'only the containers of this run')
    .addHelpText('after', '\nExamples:\n  loadscope down\n  loadscope down --run-id manual-2026-01-01T00-00-00-000Z\n')
    .action(async (opts: { runId?: string }) => {
      const removed = await (await stackControl()).stackDown({ ...(opts.runId ? { runId: opts.runId } : {}), env: process.env, log });
      process.stdout.write(removed.length > 0 ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
    });

  program
    .command('ps')
    .description('List loadscope-managed containers with their run, service, state and health.')
    .addHelpText('after', '\nExample:\n  loadscope ps\n')
    .action(async () => {
      const rows = await (await stackControl()).stackPs({ env: process.env, log });
      process.stdout.write('NAME\tRUN\tSERVICE\tSTATE\tHEALTH\n');
      for (const c of rows) process.stdout.write(`${c.name}\t${c.run}\t${c.service}\t${c.state}\t${c.health}\n`);
    });
}
