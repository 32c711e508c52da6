// `loadscope dashboards`: regenerates the Grafana dashboards and the recording rules they depend on.
import type { Command } from 'commander';
import { relative, resolve } from 'node:path';
import { DEFAULT_DASHBOARDS_DIR, RECORDING_RULES_PATH, writeGenerated } from '../../dashboards/generate.ts';

export function registerDashboardsCommand(program: Command, _setCode: (code: number) => void): void {
  program
    .command('dashboards')
    .description('Write the Grafana dashboards (Foundation SDK) and the Prometheus recording rules they read.')
    .option('--out <dir>', 'directory for the dashboard JSON files', DEFAULT_DASHBOARDS_DIR)
    .option('--rules <file>', 'recording rules file the dashboards rely on', RECORDING_RULES_PATH)
    .addHelpText('after', '\nExamples:\n  loadscope dashboards\n  loadscope dashboards --out /tmp/dash --rules /tmp/dash/recording.yml\n')
    .action((opts: { out: string; rules: string }) => {
      for (const path of writeGenerated(resolve(opts.out), resolve(opts.rules))) process.stdout.write(`wrote ${relative(process.cwd(), path) || path}\n`);
    });
}
