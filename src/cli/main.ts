import { Command, CommanderError } from 'commander';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import { LoadscopeError } from '../common/errors.ts';
import { registerStackCommands } from './commands/stack.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerDashboardsCommand } from './commands/dashboards.ts';
import { registerAnalyzeCommands } from './commands/analyze.ts';
import { registerScenariosCommand } from './commands/scenarios.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { registerK8sCommand } from './commands/k8s.ts';

/** Parses argv, runs one command and returns the exit code. Only cli/ writes to the terminal. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('loadscope')
    .description('Observability-centric load tests: bring up the system under test, drive real user flows, sample containers and Postgres, report why.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExamples:\n  loadscope scenarios\n  loadscope run normal --time-scale 0.1\n  loadscope demo\n  loadscope run --help\n\nExit codes: 0 pass, 1 a verdict failed, 2 usage/config, 3 infrastructure, 130 aborted. Docs: docs/LOAD_TESTING.md\n',
    );
  let code: number = ExitCode.Ok;
  const setCode = (c: number): void => {
    code = c;
  };
  registerStackCommands(program, setCode);
  registerRunCommand(program, setCode);
  registerDashboardsCommand(program, setCode);
  registerAnalyzeCommands(program, setCode);
  registerScenariosCommand(program, setCode);
  registerWorkerCommand(program, setCode);
  registerK8sCommand(program, setCode);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return ExitCode.Ok;
      return ExitCode.Usage;
    }
    process.stderr.write(`loadscope: ${err instanceof LoadscopeError ? `[${err.code}] ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodeFor(err);
  }
}
