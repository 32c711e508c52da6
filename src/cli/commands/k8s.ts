// `loadscope k8s manifest SCENARIO --workers N`: prints the kubernetes engine's manifests (multi-document YAML).
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CONFIG_PATH } from '../../config/defaults.ts';
import { resolveInputPath } from '../../common/paths.ts';
import { DEFAULT_COORDINATOR_PORT, DEFAULT_NAMESPACE, DEFAULT_WORKER_IMAGE } from '../../load/fleet/kubernetes-manifests.ts';
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
}

export function registerK8sCommand(program: Command, setCode: (c: number) => void): void {
  const k8s = program.command('k8s').description('Kubernetes: manifests for the kubernetes worker engine (docs/DISTRIBUTED.md)');
  k8s
    .command('manifest')
    .description('print the Secret, coordinator Service and Indexed Job of N workers for SCENARIO, for kubectl apply / GitOps (talks to no cluster)')
    .argument('<scenario>', 'a scenario of the config')
    .requiredOption('--workers <n>', "number of workers (the Job's completions and parallelism)", integer('--workers'))
    .option('--image <ref>', `worker image (default ${DEFAULT_WORKER_IMAGE})`)
    .option('--namespace <ns>', `namespace (default ${DEFAULT_NAMESPACE})`)
    .option('--coordinator-url <url>', 'a coordinator outside the cluster, as the pods reach it (then no Service is printed)')
    .option('--coordinator-port <port>', `port of the in-cluster coordinator's Service (default ${DEFAULT_COORDINATOR_PORT})`, integer('--coordinator-port'))
    .option('--run-id <id>', 'run id for names and labels (default: a new one)')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .addHelpText(
      'after',
      '\nThe token is $LOADSCOPE_WORKER_TOKEN when set, else a new random one (printed in the Secret).\n\nExamples:\n  loadscope k8s manifest normal --workers 3 | kubectl apply -f -\n  loadscope k8s manifest normal --workers 5 --namespace perf --image registry.example/loadscope:dev\n',
    )
    .action(async (scenario: string, { config: configPath, ...flags }: ManifestFlags) => {
      const [{ loadConfigFile }, { k8sManifest }] = await Promise.all([import('../../config/load.ts'), import('../../run/k8s-manifest.ts')]);
      const config = loadConfigFile(resolveInputPath(configPath), { scenario, env: process.env });
      const yaml = k8sManifest({ ...flags, config, scenario, env: process.env });
      process.stdout.write(yaml);
      setCode(ExitCode.Ok);
    });
}
