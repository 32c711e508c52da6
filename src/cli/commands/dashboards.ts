// `loadscope dashboards`: regenerates the Grafana dashboards and the recording rules they depend on.
import type { Command } from 'commander';
import { relative, resolve } from 'node:path';
import { DEFAULT_DASHBOARDS_DIR, RECORDING_RULES_PATH } from '../../dashboards/paths.ts';

export function registerDashboardsCommand(program: Command, _setCode: (code: number) => void): void {
  program
    .command('dashboards')
    .description('Write the Grafana dashboards (Foundation SDK) and the Prometheus recording rules they read.')
    .option('--out <dir>', 'directory for the dashboard JSON files', DEFAULT_DASHBOARDS_DIR)
    .option('--rules <file>', 'recording rules file the dashboards rely on', RECORDING_RULES_PATH)
    .addHelpText('after', '\nExamples:\n  loadscope dashboards\n  loadscope dashboards --out /tmp/dash --rules /tmp/dash/recording.yml\n')
    .action(async (opts: { out: string; rules: string }) => {
      // the builders load only for this command (the Foundation SDK is heavy for every other one)
      const { writeGenerated } = await import('../../dashboards/generate.ts');
      for (const path of writeGenerated(resolve(opts.out), resolve(opts.rules))) process.stdout.write(`wrote ${relative(process.cwd(), path) || path}\n`);
    });
}
