// `loadscope run <scenario>`: flags → runScenario; SIGINT/SIGTERM stop the load and still write what ran.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, DEFAULT_METRICS } from '../../config/defaults.ts';
import type { StackProvider } from '../../run/run-scenario.ts';
import { DEFAULT_COORDINATOR_PORT, DEFAULT_ENGINE, ENGINE_NAMES, WORKER_TOKEN_ENV } from '../../load/fleet/port.ts';
import { fleetFlags, type FleetFlags } from '../fleet-flags.ts';
import { ExitCode, exitCodeForVerdict } from '../exit-codes.ts';

interface RunFlags extends FleetFlags {
  config: string;
  target?: string;
  timeScale: string;
  out: string;
  keepStack?: boolean;
  metricsHost: string;
  metricsPort: string;
  remoteWrite?: string;
  metrics: boolean;
  json?: boolean;
  strict?: boolean;
}

const RUN_EXAMPLES =
  '\nExamples:\n  loadscope run normal --time-scale 0.2\n  loadscope run peak --time-scale 0.05 --json > peak.json\n  loadscope run stress -c compose/loadscope.yaml --out results\n  loadscope run normal --target http://127.0.0.1:8000\n  loadscope run normal --remote-write http://127.0.0.1:9090/api/v1/write\n  loadscope run peak --workers 3            # 3 worker processes, merged into one result\n';

/** Options shared by `run` and `demo`. */
function withRunOptions(cmd: Command, timeScaleDefault: string): Command {
  return cmd
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--target <url>', 'attach to a running system instead of starting the stack (loopback unless in allowTargets)')
    .option('--time-scale <factor>', 'multiply every duration (0.01 turns 8h into 4.8 min)', timeScaleDefault)
    .option('--out <dir>', 'results directory', 'results')
    .option('--keep-stack', 'leave the stack running afterwards')
    .option('--metrics-host <host>', 'address of the Prometheus endpoint (loopback unless you ask otherwise)', DEFAULT_METRICS.host)
    .option('--metrics-port <port>', 'port of the Prometheus endpoint', String(DEFAULT_METRICS.port))
    .option('--no-metrics', 'do not serve /metrics during the run')
    .option(
      '--remote-write <url>',
      'also push the metrics to this Prometheus remote-write endpoint (e.g. http://127.0.0.1:9090/api/v1/write; loopback unless in allowTargets); replaces remoteWrite.url of the config',
    )
    .option(
      '--strict',
      'no soft outcomes: an SLO the scenario cannot produce by design (e.g. more req/s than its users can send) is an error (exit 2 before anything starts), and an inconclusive verdict exits 1 as with analyze --strict',
    )
    .option('--workers <n>', 'split the load over N worker processes (users or rate split), merged exactly into one result (docs/DISTRIBUTED.md)')
    .option('--engine <name>', `where the --workers run: ${ENGINE_NAMES.join(', ')} (default ${DEFAULT_ENGINE})`)
    .option(
      '--coordinator-host <addr>',
      'address the coordinator of --workers listens on and gives its workers (default 127.0.0.1; another address only when workers run elsewhere, e.g. in a cluster)',
    )
    .option(
      '--coordinator-port <port>',
      `port the coordinator listens on (--engine external: workers started by someone else, told this port; the token is read from $${WORKER_TOKEN_ENV}; default ${DEFAULT_COORDINATOR_PORT})`,
    )
    .option('--run-id <id>', 'run id, as the workers and manifests of --engine external name it (default: a new one)')
    .option('--namespace <ns>', 'namespace of the worker Job (--engine kubernetes; default "default")')
    .option('--image <ref>', 'worker image the Job runs (--engine kubernetes; default loadscope/loadscope:dev)')
    .option('--json', 'print a JSON summary (runId, runDir, reportPath, verdict, slo, capacity, leaks, summary) on stdout; progress goes to stderr');
}

/** `stack` replaces the real Docker stack provider (tests); without a stack in the config only attach mode is used. */
export function registerRunCommand(program: Command, setCode: (c: number) => void, stack?: StackProvider): void {
  withRunOptions(program.command('run'), '1')
    .description('run one scenario of the config against the stack (or an attached --target)')
    .argument('<scenario>', 'scenario name from the config (normal, peak, stress, soak, spike, …)')
    .addHelpText('after', RUN_EXAMPLES)
    .action((scenario: string, flags: RunFlags) => runCommand(scenario, flags, setCode, stack));
  withRunOptions(program.command('demo'), String(DEMO_TIME_SCALE))
    .description('the first-run tour: bring the reference stack up, run the normal preset squeezed to about a minute, summarise, tear down')
    .addHelpText('after', '\nExamples:\n  loadscope demo\n  loadscope demo --time-scale 1      # the real 5-minute normal-load test\n')
    .action((flags: RunFlags) => runCommand('normal', flags, setCode, stack, { verdictDecidesExit: false }));
}

// normal = 1 min ramp + 5 min hold: ×0.17 ≈ 61 s.
const DEMO_TIME_SCALE = 0.17;

/**
 * `run` exits with the verdict (CI gates on it); `demo` is a tour: it exits 0 when the run completed and was
 * analysed, whatever the verdict, which it prints.
 */
async function runCommand(
  scenario: string,
  flags: RunFlags,
  setCode: (c: number) => void,
  stack?: StackProvider,
  mode = { verdictDecidesExit: true },
): Promise<void> {
  // loaded when a run starts: the load, sampler and stack modules cost every other command ~1 s of start-up
  const [
    { formatSummary },
    { preflight },
    { runPlanned },
    { stackProviderFromEnv },
    { jsonResult, startLiveView },
    { fleetLoad },
    { workerEngine },
    { kubernetesPlacement },
  ] = await Promise.all([
    import('../../run/format-summary.ts'),
    import('../../run/plan.ts'),
    import('../../run/run-scenario.ts'),
    import('../../run/stack-control.ts'),
    import('../live-view.ts'),
    import('../../run/drive-fleet.ts'),
    import('../../run/fleet-engines.ts'),
    import('../../run/k8s-manifest.ts'),
  ]);
  const provider = stack ?? stackProviderFromEnv(process.env);
  const fleet = fleetFlags(flags, process.env, workerEngine, kubernetesPlacement);
  // every input problem at once (exit 2) before the live view, the signal handlers or anything else starts
  const plan = await preflight({
    scenario,
    configPath: flags.config,
    env: process.env,
    metrics: flags.metrics ? { host: flags.metricsHost, port: Number(flags.metricsPort), scrapeIntervalMs: DEFAULT_METRICS.scrapeIntervalMs } : null,
    metricsPortFlag: Number(flags.metricsPort),
    target: flags.target,
    timeScale: Number(flags.timeScale),
    strict: flags.strict,
    remoteWriteUrl: flags.remoteWrite,
    hasStackProvider: true,
  });
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping load, writing results…\n`);
    ac.abort(sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const live = startLiveView({ scenario, plannedS: plan.timeline.durationMs / 1000 }, process.stderr);
  try {
    const load = fleet && fleetLoad({ ...fleet, allowTargets: plan.config.allowTargets });
    const runId = fleet?.runId;
    const result = await runPlanned(plan, {
      outDir: flags.out,
      keepStack: flags.keepStack,
      stack: provider,
      signal: ac.signal,
      ...live.runOptions,
      ...(load && { load }),
      ...(runId !== undefined && { runId }),
    });
    live.close();
    if (flags.json) {
      process.stderr.write(formatSummary(result));
      process.stdout.write(`${JSON.stringify(jsonResult(result), null, 2)}\n`);
    } else process.stdout.write(formatSummary(result));
    // Aborted wins; otherwise the verdict decides for `run` (0 pass/inconclusive, 1 fail/invalid).
    // a lost load worker (fleet run) is an infrastructure failure: the run is partial whatever its verdict says
    setCode(
      result.stoppedBy === 'signal'
        ? ExitCode.Aborted
        : !result.analysis || result.stoppedBy === 'worker-lost'
          ? ExitCode.Infrastructure
          : mode.verdictDecidesExit
            ? exitCodeForVerdict(result.analysis.verdict, flags.strict)
            : ExitCode.Ok,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
