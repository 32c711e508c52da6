// `loadscope analyze <run dir>` (analysis.json + report.html/md + junit.xml) and `loadscope compare <base> <run>`.
// Exit codes: pass 0, fail 1, invalid 1 (a run that cannot judge the SUT must not look green in CI),
// inconclusive 0 with a clear stderr line (or 1 with --strict), bad path or unsupported run format version 2.
import { REFERENCE_APP_NAME } from '../../config/defaults.ts';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.ts';
import { ExitCode, exitCodeForVerdict } from '../exit-codes.ts';

const positive = (flag: string, v: string): number => {
  const x = Number(v);
  if (!(x > 0) || !Number.isFinite(x)) throw new UsageError(`${flag} must be a positive number (got ${v})`);
  return x;
};

interface AnalyzeFlags {
  json?: boolean;
  strict?: boolean;
  generatorCores?: string;
  appName?: string;
}

export function registerAnalyzeCommands(program: Command, setCode: (c: number) => void): void {
  program
    .command('analyze')
    .description('analyse a run directory: writes analysis.json, report.html, report.md and junit.xml into it')
    .argument('<runDir>', 'run directory (e.g. results/latest)')
    .option('--json', 'print analysis.json to stdout instead of the summary')
    .option('--strict', 'exit 1 on an inconclusive verdict too')
    .option('--generator-cores <n>', 'cores of the load-generator host (default: from the manifest, else this machine)')
    .option('--app-name <name>', `application_name of the SUT DB pool (default ${REFERENCE_APP_NAME})`)
    .addHelpText(
      'after',
      '\nExit codes: 0 pass (or inconclusive without --strict), 1 fail or invalid, 2 not a run directory or a run format this version does not read.\n\nExamples:\n  loadscope analyze results/latest\n  loadscope analyze results/20261126-225152-normal-67c9 --strict\n  loadscope analyze results/latest --json | jq .verdict\n',
    )
    .action(async (runDir: string, flags: AnalyzeFlags) => {
      // loaded when the command runs: the other commands' start does not pay for the reader, the analysis and the report
      const { analyzeRunDir } = await import('../../run/analyze-run.ts');
      const r = analyzeRunDir(runDir, {
        ...(flags.generatorCores ? { generatorCores: positive('--generator-cores', flags.generatorCores) } : {}),
        ...(flags.appName ? { appName: flags.appName } : {}),
      });
      const a = r.analysis;
      if (flags.json) process.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
      else {
        const lines = [`verdict: ${a.verdict.toUpperCase()}${a.incomplete ? ' (incomplete run)' : ''}`, ...a.verdictReasons.map((x) => `  - ${x}`)];
        for (const s of a.slo) lines.push(`  SLO ${s.name}: ${s.observed ?? 'no data'} → ${s.status}`);
        lines.push(`report: ${r.files.html}`, `        ${r.files.markdown}`, `        ${r.files.junit}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      const code = exitCodeForVerdict(a.verdict, flags.strict);
      if (a.verdict === 'inconclusive')
        process.stderr.write(
          `loadscope: verdict inconclusive — not enough evidence; exit ${code}${flags.strict ? ' (--strict)' : ' (use --strict to fail)'}\n`,
        );
      setCode(code);
    });

  program
    .command('compare')
    .description('compare two runs per endpoint: latency/goodput deltas with a Mann–Whitney significance test, verdict changes')
    .argument('<baseRunDir>', 'the baseline run directory')
    .argument('<runDir>', 'the run to judge against it')
    .option('--json', 'print the comparison as JSON')
    .option('--alpha <p>', 'significance level', '0.01')
    .option('--min-effect <ratio>', 'smallest relative p95 change that counts (0.05 = 5 %)', '0.05')
    .addHelpText(
      'after',
      '\nExit codes: 0 no significant regression, 1 an endpoint regressed significantly or the verdict got worse, 2 bad path.\n\nExamples:\n  loadscope compare results/20261126-225152-normal-67c9 results/latest\n  loadscope compare base/ run/ --json --alpha 0.05\n',
    )
    .action(async (baseDir: string, runDir: string, flags: { json?: boolean; alpha: string; minEffect: string }) => {
      const [{ compareRunDirs }, { formatComparison }] = await Promise.all([import('../../run/compare-runs.ts'), import('../../report/compare-table.ts')]);
      const alpha = positive('--alpha', flags.alpha);
      const minEffect = Number(flags.minEffect);
      if (!(minEffect >= 0)) throw new UsageError(`--min-effect must be ≥ 0 (got ${flags.minEffect})`);
      const { comparison: c, labels } = compareRunDirs(baseDir, runDir, { alpha, minEffect });
      process.stdout.write(flags.json ? `${JSON.stringify(c, null, 2)}\n` : formatComparison(c, labels));
      const rank = { pass: 0, inconclusive: 1, fail: 2, invalid: 2 } as const;
      const worse = c.verdictChange !== null && rank[c.verdictChange.run] > rank[c.verdictChange.base];
      setCode(worse || c.endpoints.some((e) => e.change === 'regressed') ? ExitCode.VerdictFailed : ExitCode.Ok);
    });
}
