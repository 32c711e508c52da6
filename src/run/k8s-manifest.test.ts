// `loadscope k8s manifest`: the wiring (scenario from the config, deadline from its plan, token from the environment)
// and the CLI's answers to bad input (exit 2, nothing printed on stdout). No cluster is contacted: it only prints.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main } from '../cli/main.ts';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.ts';
import { resolveInputPath } from '../common/paths.ts';
import { UsageError } from '../common/errors.ts';
import { openApiProblems, type V1Job, type V1Secret } from '../load/fleet/kubernetes-client.ts';
import { JOB_DEADLINE_GRACE_SECONDS } from '../load/fleet/kubernetes-manifests.ts';
import { planShape } from '../load/shapes/registry.ts';
import { WORKER_TOKEN_ENV } from '../load/fleet/port.ts';
import { k8sManifest, WORKER_START_ALLOWANCE_MS } from './k8s-manifest.ts';

const config = loadConfigFile(resolveInputPath(DEFAULT_CONFIG_PATH), { env: {} });
const docs = (yaml: string): Array<Record<string, unknown> & { kind: string }> =>
  parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, unknown> & { kind: string });
const kinds: Record<string, string> = { Secret: 'V1Secret', Service: 'V1Service', Job: 'V1Job' };

describe('k8sManifest (run/ wiring)', () => {
  it('the Job runs N workers of the scenario until its planned end + start allowance + grace; every document is valid', () => {
    const out = docs(k8sManifest({ config, scenario: 'normal', workers: 4, env: {}, runId: 'r1' }));
    expect(out.map((d) => d.kind)).toEqual(['Secret', 'Service', 'Job']);
    const job = out[2] as V1Job;
    expect(job.spec).toMatchObject({ completions: 4, parallelism: 4, completionMode: 'Indexed' });
    const plannedMs = planShape(config.scenarios.normal!.shape, 1).durationMs;
    expect(job.spec?.activeDeadlineSeconds).toBe(Math.ceil((plannedMs + WORKER_START_ALLOWANCE_MS) / 1000) + JOB_DEADLINE_GRACE_SECONDS);
    for (const d of out) expect(openApiProblems(d, kinds[d.kind] ?? '?')).toEqual([]);
  });

  it('the token is the environment’s when set (stable output), else a fresh 256-bit one each time', () => {
    const token = (env: Record<string, string>): unknown =>
      (docs(k8sManifest({ config, scenario: 'normal', workers: 1, env, runId: 'r1' }))[0] as V1Secret).stringData?.token;
    expect(token({ [WORKER_TOKEN_ENV]: 'from-env' })).toBe('from-env');
    const [a, b] = [token({}), token({})];
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });

  it('a coordinator outside the cluster: no Service, the workers get its URL', () => {
    const out = docs(k8sManifest({ config, scenario: 'normal', workers: 2, env: {}, coordinatorUrl: 'http://10.1.2.3:9000' }));
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
  ])('refuses %o', (bad, message) => {
    expect(() => k8sManifest({ config, scenario: 'normal', workers: 2, env: {}, ...bad })).toThrow(UsageError);
    expect(() => k8sManifest({ config, scenario: 'normal', workers: 2, env: {}, ...bad })).toThrow(message);
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
    const r = await run(['k8s', 'manifest', 'normal', '--workers', '3', '--image', 'registry.example/loadscope:9', '--namespace', 'perf']);
    expect(r.code).toBe(0);
    const job = docs(r.stdout).find((d) => d.kind === 'Job') as V1Job;
    expect(job.metadata?.namespace).toBe('perf');
    expect(job.spec?.template.spec?.containers[0]?.image).toBe('registry.example/loadscope:9');
  });

  it.each([
    [['k8s', 'manifest', 'nope', '--workers', '3'], /unknown scenario "nope"/],
    [['k8s', 'manifest', 'normal'], /required option '--workers <n>'/],
    [['k8s', 'manifest', 'normal', '--workers', 'three'], /--workers must be a whole number/],
    [['k8s', 'manifest', 'normal', '--workers', '0'], /--workers must be an integer from 1/],
    [['k8s', 'manifest', 'normal', '--workers', '2', '--namespace', 'NO'], /--namespace must be a DNS label/],
  ])('%j → exit 2 with a clear message, nothing on stdout', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
