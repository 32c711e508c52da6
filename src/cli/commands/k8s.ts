// `loadscope k8s manifest SCENARIO --workers N`: prints the kubernetes engine's manifests (multi-document YAML).
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../../config/defaults.ts';
import { resolveInputPath } from '../../common/paths.ts';
// from port.ts, not kubernetes-manifests.ts: every command's start loads this module, and the manifests load the YAML library
import { DEFAULT_COORDINATOR_PORT, DEFAULT_NAMESPACE, DEFAULT_WORKER_IMAGE } from '../../load/fleet/port.ts';
import { ExitCode } from '../exit-codes.ts';

const integer =
  (flag: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number`);
    return Number(v);
  };

interface ManifestFlags {
  workers: number;
  image?: string;
  namespace?: string;
  config: string;
  coordinatorUrl?: string;
  coordinatorPort?: number;
  runId?: string;
  target?: string;
}

export function registerK8sCommand(program: Command, setCode: (c: number) => void): void {
  const k8s = program.command('k8s').description('Kubernetes: manifests for the kubernetes worker engine (docs/DISTRIBUTED.md)');
  k8s
    .command('manifest')
    .description(
      'print a whole run for SCENARIO — Secret, ConfigMap, coordinator Service and Job, Indexed Job of N workers — for kubectl apply / GitOps (talks to no cluster)',
    )
    .argument('<scenario>', 'a scenario of the config')
    .requiredOption('--workers <n>', "number of workers (the Job's completions and parallelism)", integer('--workers'))
    .option('--image <ref>', `worker image (default ${DEFAULT_WORKER_IMAGE})`)
    .option('--namespace <ns>', `namespace (default ${DEFAULT_NAMESPACE})`)
    .option('--coordinator-url <url>', 'a coordinator outside the cluster, as the pods reach it (then no Service is printed)')
    .option('--coordinator-port <port>', `port of the in-cluster coordinator's Service (default ${DEFAULT_COORDINATOR_PORT})`, integer('--coordinator-port'))
    .option('--run-id <id>', 'run id for names and labels (default: a new one)')
    .option(
      '--target <url>',
      "the in-cluster coordinator's target, as the pods reach it (needed when the config has a stack; its host must be in allowTargets unless loopback)",
    )
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .addHelpText(
      'after',
      '\nThe token is $LOADSCOPE_WORKER_TOKEN when set, else a new random one (printed in the Secret).\n\nExamples:\n  loadscope k8s manifest normal --workers 3 --target http://app.perf.svc:8000 | kubectl apply -f -\n  loadscope k8s manifest normal --workers 5 --namespace perf --image registry.example/loadscope:dev --target http://app.perf.svc:8000\n  loadscope k8s manifest normal --workers 3 --coordinator-url http://10.0.0.5:8787   # coordinator outside the cluster: no Service, no coordinator Job\n',
    )
    .action(async (scenario: string, { config: configPath, ...flags }: ManifestFlags) => {
      // loaded when used: the deadline comes from the load engine's grace, and the config loader brings the config
      // schema; every other command would pay for their modules
      const [{ loadConfigFile }, { k8sManifest }] = await Promise.all([import('../../config/load.ts'), import('../../run/k8s-manifest.ts')]);
      const path = resolveInputPath(configPath);
      const config = loadConfigFile(path, { scenario, env: process.env });
      // the file as written (its ${VAR} unexpanded): the coordinator pod reads it as `run -c` does here
      const yaml = k8sManifest({ ...flags, config, configText: readFileSync(path, 'utf8'), scenario, env: process.env });
      process.stdout.write(yaml);
      setCode(ExitCode.Ok);
    });
}
