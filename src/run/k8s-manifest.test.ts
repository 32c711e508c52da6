// `loadscope k8s manifest`: the wiring (scenario from the config, deadline from its plan, token from the environment)
// and the CLI's answers to bad input (exit 2, nothing printed on stdout). No cluster is contacted: it only prints.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main } from '../cli/main.ts';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.ts';
import { resolveInputPath } from '../common/paths.ts';
import { TargetNotAllowedError, UsageError } from '../common/errors.ts';
import { openApiProblems, type V1ConfigMap, type V1Job, type V1Secret, type V1Service } from '../load/fleet/kubernetes-client.ts';
import { COORDINATOR_AFTER_RUN_SECONDS } from '../load/fleet/kubernetes-coordinator.ts';
import { JOB_DEADLINE_GRACE_SECONDS } from '../load/fleet/kubernetes-manifests.ts';
import { planShape } from '../load/shapes/registry.ts';
import { workerRunMs } from '../load/fleet/fleet-load.ts';
import { WORKER_TOKEN_ENV } from '../load/fleet/port.ts';
import { k8sManifest, WORKER_START_ALLOWANCE_MS } from './k8s-manifest.ts';

const config = loadConfigFile(resolveInputPath(DEFAULT_CONFIG_PATH), { env: {} });
const configText = readFileSync(resolveInputPath(DEFAULT_CONFIG_PATH), 'utf8');
/** the reference config has a Compose stack: in the cluster the coordinator attaches to a Service, listed in allowTargets */
const TARGET = 'http://app.perf.svc:8000';
const inCluster = { config: { ...config, allowTargets: ['app.perf.svc:8000'] }, configText, target: TARGET };
const docs = (yaml: string): Array<Record<string, unknown> & { kind: string }> =>
  parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, unknown> & { kind: string });
const kinds: Record<string, string> = { Secret: 'V1Secret', Service: 'V1Service', Job: 'V1Job', ConfigMap: 'V1ConfigMap' };

describe('k8sManifest (run/ wiring)', () => {
  it('the Job runs N workers of the scenario until the start allowance + the workers’ own deadline (plan, recovery, grace) + the Job grace; every document is valid', () => {
    const out = docs(k8sManifest({ ...inCluster, scenario: 'normal', workers: 4, env: {}, runId: 'r1' }));
    expect(out.map((d) => d.kind)).toEqual(['Secret', 'ConfigMap', 'Service', 'Job', 'Job']);
    const job = out[4] as V1Job;
    expect(job.spec).toMatchObject({ completions: 4, parallelism: 4, completionMode: 'Indexed' });
    // normal: 300 s planned, no recovery hold, the engine's grace 10 s + 10 % of the plan = 40 s; + 120 s to start; + 30 s
    const tl = planShape(config.scenarios.normal!.shape, 1);
    expect([tl.durationMs, tl.recovery, workerRunMs(tl)]).toEqual([300_000, undefined, 340_000]);
    expect(job.spec?.activeDeadlineSeconds).toBe((340_000 + WORKER_START_ALLOWANCE_MS) / 1000 + JOB_DEADLINE_GRACE_SECONDS);
    for (const d of out) expect(openApiProblems(d, kinds[d.kind] ?? '?')).toEqual([]);
  });

  it('a ladder’s recovery hold counts in the Job’s deadline: the workers hold it after the last step', () => {
    // stress: 5 steps × (1 min ramp + 5 min hold) + the default 60-s recovery hold = 1860 s planned; a break as late as
    // the last step jumps to the hold, so a worker may hold it on top (fleet-load workerRunMs); grace 10 s + 186 s
    const job = docs(k8sManifest({ ...inCluster, scenario: 'stress', workers: 2, env: {}, runId: 'r1' })).at(-1) as V1Job;
    const tl = planShape(config.scenarios.stress!.shape, 1);
    expect([tl.durationMs, tl.recovery?.durationMs]).toEqual([1_860_000, 60_000]);
    expect(job.spec?.activeDeadlineSeconds).toBe(1860 + 60 + 196 + WORKER_START_ALLOWANCE_MS / 1000 + JOB_DEADLINE_GRACE_SECONDS);
  });

  it('the token is the environment’s when set (stable output), else a fresh 256-bit one each time', () => {
    const token = (env: Record<string, string>): unknown =>
      (docs(k8sManifest({ ...inCluster, scenario: 'normal', workers: 1, env, runId: 'r1' }))[0] as V1Secret).stringData?.token;
    expect(token({ [WORKER_TOKEN_ENV]: 'from-env' })).toBe('from-env');
    const [a, b] = [token({}), token({})];
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });

  it('a coordinator outside the cluster: no Service, the workers get its URL', () => {
    const out = docs(k8sManifest({ config, configText, scenario: 'normal', workers: 2, env: {}, coordinatorUrl: 'http://10.1.2.3:9000' }));
    expect(out.map((d) => d.kind)).toEqual(['Secret', 'Job']);
    expect(JSON.stringify(out[1])).toContain('http://10.1.2.3:9000');
  });

  it.each([
    [{ scenario: 'nope' }, /unknown scenario "nope" \(have: normal/],
    [{ workers: 0 }, /--workers must be an integer from 1/],
    [{ workers: 2.5 }, /--workers/],
    [{ namespace: 'Perf_Team' }, /--namespace must be a DNS label/],
    [{ image: ' ' }, /--image/],
    [{ coordinatorPort: 0 }, /--coordinator-port/],
    [{ coordinatorUrl: 'http://user:pw@10.0.0.1' }, /--coordinator-url must be an http\(s\) URL/],
    [{ runId: '../up' }, /--run-id must be letters/],
    [{ coordinatorUrl: 'http://10.0.0.1:8787', target: TARGET }, /--target is for the in-cluster coordinator/],
    // in the cluster the coordinator attaches: a config with a Compose stack needs --target
    [{ target: undefined }, /config has a `stack`.*pass --target URL/],
  ])('refuses %o', (bad, message) => {
    expect(() => k8sManifest({ ...inCluster, scenario: 'normal', workers: 2, env: {}, ...bad })).toThrow(UsageError);
    expect(() => k8sManifest({ ...inCluster, scenario: 'normal', workers: 2, env: {}, ...bad })).toThrow(message);
  });

  it('the in-cluster target obeys the allowlist as the coordinator and every worker will: not listed → exit 2, nothing printed', () => {
    expect(() => k8sManifest({ config, configText, target: TARGET, scenario: 'normal', workers: 2, env: {} })).toThrow(TargetNotAllowedError);
    expect(() => k8sManifest({ config, configText, target: TARGET, scenario: 'normal', workers: 2, env: {} })).toThrow(
      /app\.perf\.svc is not loopback and not listed in allowTargets/,
    );
  });

  it('a whole run: the coordinator Job runs `run --engine external` on the Service port, selected by the Service, reading the config from the ConfigMap', () => {
    const out = docs(k8sManifest({ ...inCluster, scenario: 'normal', workers: 3, env: { [WORKER_TOKEN_ENV]: 'tok' }, runId: 'r2', coordinatorPort: 9090 }));
    const [secret, configMap, service, coordinator, workers] = out as unknown as [V1Secret, V1ConfigMap, V1Service, V1Job, V1Job];
    expect(configMap.data).toEqual({ 'loadscope.yaml': configText });
    const pod = coordinator.spec!.template;
    // the Service selects the coordinator pod and nothing else
    expect(pod.metadata?.labels).toEqual(expect.objectContaining(service.spec!.selector));
    expect(workers.spec!.template.metadata?.labels).not.toEqual(expect.objectContaining(service.spec!.selector));
    const c = pod.spec!.containers[0]!;
    expect(c.image).toBe(workers.spec!.template.spec!.containers[0]!.image);
    expect(c.args).toEqual(
      ['run', 'normal', '-c', '/etc/loadscope/loadscope.yaml', '--out', '/results', '--no-metrics', '--workers', '3', '--engine', 'external'].concat([
        '--coordinator-host',
        '0.0.0.0',
        '--coordinator-port',
        '9090',
        '--run-id',
        'r2',
        '--target',
        TARGET,
      ]),
    );
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9090, protocol: 'TCP' }]);
    expect(service.spec!.ports![0]).toMatchObject({ port: 9090, targetPort: 9090 });
    // the token only through the Secret, never on the command line
    expect(JSON.stringify(coordinator)).not.toContain('tok"');
    expect(c.env).toEqual([{ name: WORKER_TOKEN_ENV, valueFrom: { secretKeyRef: { name: secret.metadata!.name, key: 'token' } } }]);
    expect(pod.spec!.volumes).toContainEqual({ name: 'config', configMap: { name: configMap.metadata!.name } });
    // it outlives its workers by the time for its analysis
    expect(coordinator.spec!.activeDeadlineSeconds).toBe(workers.spec!.activeDeadlineSeconds! + COORDINATOR_AFTER_RUN_SECONDS);
    expect(coordinator.spec).toMatchObject({ backoffLimit: 0, completions: 1, parallelism: 1 });
    for (const d of out) expect(openApiProblems(d, kinds[d.kind] ?? '?')).toEqual([]);
  });
});

describe('loadscope k8s manifest (CLI)', () => {
  afterEach(() => vi.restoreAllMocks());
  const run = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    const code = await main(argv);
    vi.restoreAllMocks();
    return { code, stdout, stderr };
  };

  it('prints the manifests with the flags applied, exit 0', async () => {
    const r = await run([
      'k8s',
      'manifest',
      'smoke',
      '-c',
      'compose/examples/in-cluster.yaml',
      '--workers',
      '3',
      '--image',
      'registry.example/loadscope:9',
      '--namespace',
      'perf',
    ]);
    expect(r.code).toBe(0);
    expect(docs(r.stdout).map((d) => d.kind)).toEqual(['Secret', 'ConfigMap', 'Service', 'Job', 'Job']);
    const job = docs(r.stdout).at(-1) as V1Job;
    expect(job.metadata?.namespace).toBe('perf');
    expect(job.spec?.template.spec?.containers[0]?.image).toBe('registry.example/loadscope:9');
  });

  it.each([
    [['k8s', 'manifest', 'nope', '--workers', '3'], /unknown scenario "nope"/],
    [['k8s', 'manifest', 'normal'], /required option '--workers <n>'/],
    [['k8s', 'manifest', 'normal', '--workers', 'three'], /--workers must be a whole number/],
    [['k8s', 'manifest', 'normal', '--workers', '0'], /--workers must be an integer from 1/],
    [['k8s', 'manifest', 'normal', '--workers', '2', '--namespace', 'NO'], /--namespace must be a DNS label/],
    [['k8s', 'manifest', 'normal', '--workers', '2'], /config has a `stack`/],
    [['k8s', 'manifest', 'normal', '--workers', '2', '--target', 'http://app.perf.svc:8000'], /not listed in allowTargets/],
  ])('%j → exit 2 with a clear message, nothing on stdout', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
