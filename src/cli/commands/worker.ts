// `loadscope worker`: one share of a distributed run, started by an engine with its coordinator in the environment
// (load/fleet/port.ts). Exit 0 when its seconds reached the coordinator, 3 when the coordinator stopped answering.
import type { Command } from 'commander';
import { WORKER_COORDINATOR_ENV, WORKER_INDEX_ENV, WORKER_TOKEN_ENV } from '../../load/fleet/port.ts';
import { ExitCode } from '../exit-codes.ts';

export function registerWorkerCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('worker')
    .description(
      `run one worker of a distributed run (started by \`loadscope run --workers N\`; reads ${WORKER_COORDINATOR_ENV}, ${WORKER_INDEX_ENV}, ${WORKER_TOKEN_ENV})`,
    )
    .action(async () => {
      // stderr is often a pipe to the coordinator's engine: once that is gone, writes fail (EPIPE). The worker's
      // log must not end its load: it stops by its plan or deadline (docs/DISTRIBUTED.md)
      process.stderr.on('error', () => {});
      const { runWorker } = await import('../../run/fleet-worker.ts');
      const out = await runWorker(process.env, (line) => process.stderr.write(`${line}\n`));
      if (!out.turnedAway) process.stderr.write(`worker ${out.index}: stopped by ${out.stoppedBy ?? '?'}${out.delivered ? '' : ' (coordinator gone)'}\n`);
      setCode(out.delivered ? ExitCode.Ok : ExitCode.Infrastructure);
    });
}
