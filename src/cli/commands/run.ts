// `loadscope run <scenario>`: flags → runScenario; SIGINT/SIGTERM stop the load and still write what ran.
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.ts';
import { DEFAULT_CONFIG_PATH } from '../../config/load.ts';
import { formatSummary } from '../../run/format-summary.ts';
import { runScenario, type StackProvider } from '../../run/run-scenario.ts';
import { ExitCode } from '../exit-codes.ts';

interface RunFlags {
  config: string;
  target?: string;
  timeScale: string;
  out: string;
  keepStack?: boolean;
}

/** `stack` is the real Docker stack provider (plugged in by the lead); without it only attach mode works. */
export function registerRunCommand(program: Command, setCode: (c: number) => void, stack?: StackProvider): void {
  program
    .command('run')
    .description('run one scenario of the config against the stack (or an attached --target)')
    .argument('<scenario>', 'scenario name from the config (normal, peak, stress, soak, spike, …)')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--target <url>', 'attach to a running system instead of starting the stack (loopback unless in allowTargets)')
    .option('--time-scale <factor>', 'multiply every duration (0.01 turns 8h into 4.8 min)', '1')
    .option('--out <dir>', 'results directory', 'results')
    .option('--keep-stack', 'leave the stack running afterwards')
    .action(async (scenario: string, flags: RunFlags) => {
      const timeScale = Number(flags.timeScale);
      if (!(timeScale > 0)) throw new UsageError(`--time-scale must be a positive number (got ${flags.timeScale})`);
      const ac = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        process.stderr.write(`\n${sig}: stopping load, writing results…\n`);
        ac.abort(sig);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const result = await runScenario({
          scenario,
          configPath: flags.config,
          target: flags.target,
          timeScale,
          outDir: flags.out,
          keepStack: flags.keepStack,
          stack,
          signal: ac.signal,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(formatSummary(result));
        setCode(result.stoppedBy === 'signal' ? ExitCode.Aborted : ExitCode.Ok);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
