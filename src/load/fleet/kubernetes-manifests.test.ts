import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LABEL_RUN } from '../../stack/labels.ts';
import { openApiProblems } from './kubernetes-client.ts';
import { buildCoordinatorManifests } from './kubernetes-coordinator.ts';
import {
  buildWorkerManifests,
  DEFAULT_WORKER_IMAGE,
  DEFAULT_WORKER_RESOURCES,
  fleetObjectNames,
  inClusterCoordinatorUrl,
  jobDeadlineSeconds,
  JOB_DEADLINE_GRACE_SECONDS,
  JOB_TTL_AFTER_FINISHED_SECONDS,
  labelValue,
  manifestsYaml,
  TOKEN_SECRET_KEY,
  type WorkerManifestSpec,
} from './kubernetes-manifests.ts';
import {
  FLEET_LABEL_ROLE,
  FLEET_ROLE_WORKER,
  WORKER_ARGS,
  WORKER_COORDINATOR_ENV,
  WORKER_INDEX_ENV,
  WORKER_START_ALLOWANCE_ENV,
  WORKER_TOKEN_ENV,
} from './port.ts';

const runId = '20261202-203321-normal-ab12';
const base: WorkerManifestSpec = { runId, count: 3, token: 'tok-9f8e7d', coordinatorUrl: 'http://10.0.0.5:37123', activeDeadlineSeconds: 330 };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes names an Indexed Job's pods <job>-<index>-<5 random>; the pod's hostname must stay a DNS label (≤ 63). */
const podNameLength = (job: string, count: number): number => `${job}-${count - 1}-xxxxx`.length;
/** The worker objects with the in-cluster coordinator's, as `k8s manifest` prints them. */
function withCoordinator(): ReturnType<typeof buildWorkerManifests> {
  const m = buildWorkerManifests({ ...base, coordinatorUrl: inClusterCoordinatorUrl(runId, 'default', 8787), coordinatorService: { port: 8787 } });
  const spec = { runId, scenario: 'normal', count: 3, namespace: 'default', port: 8787, configText: 'target: x\n', workerDeadlineSeconds: 330 };
  m.coordinator = buildCoordinatorManifests({ ...spec, target: 'http://app.perf.svc:8000' });
  return m;
}

describe('kubernetes manifests (pure)', () => {
  it('an Indexed Job: completions = parallelism = N, backoffLimit 0, deadline, TTL, restartPolicy Never, labels with run and role', () => {
    const { job } = buildWorkerManifests(base);
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 3,
      parallelism: 3,
      backoffLimit: 0,
      activeDeadlineSeconds: 330,
      ttlSecondsAfterFinished: JOB_TTL_AFTER_FINISHED_SECONDS,
    });
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    for (const labels of [job.metadata?.labels, job.spec?.template.metadata?.labels]) {
      expect(labels).toMatchObject({ [LABEL_RUN]: runId, [FLEET_LABEL_ROLE]: FLEET_ROLE_WORKER });
    }
    const container = job.spec?.template.spec?.containers[0];
    expect(container?.image).toBe(DEFAULT_WORKER_IMAGE);
    expect(container?.args).toEqual([...WORKER_ARGS]);
    expect(container?.resources).toEqual(DEFAULT_WORKER_RESOURCES);
  });

  it('the token lives only in the Secret; the worker reads it through secretKeyRef, never inline', () => {
    const { job, secret } = buildWorkerManifests(base);
    expect(JSON.stringify(job)).not.toContain(base.token);
    expect(secret.stringData).toEqual({ [TOKEN_SECRET_KEY]: base.token });
    const env = job.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.map((e) => e.name).sort()).toEqual([WORKER_COORDINATOR_ENV, WORKER_INDEX_ENV, WORKER_TOKEN_ENV].sort());
    expect(env.find((e) => e.name === WORKER_TOKEN_ENV)).toEqual({
      name: WORKER_TOKEN_ENV,
      valueFrom: { secretKeyRef: { name: secret.metadata?.name, key: TOKEN_SECRET_KEY } },
    });
    expect(env.find((e) => e.name === WORKER_COORDINATOR_ENV)?.value).toBe(base.coordinatorUrl);
    // the pod's completion index, through the downward API, under our name for it
    expect(env.find((e) => e.name === WORKER_INDEX_ENV)?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
  });

  it('the coordinator’s wait for first contact goes to the workers as theirs; a static manifest leaves their default', () => {
    const env = (m: ReturnType<typeof buildWorkerManifests>) => m.job.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env(buildWorkerManifests({ ...base, startAllowanceMs: 60_000 })).find((e) => e.name === WORKER_START_ALLOWANCE_ENV)?.value).toBe('60000');
    expect(env(buildWorkerManifests(base)).some((e) => e.name === WORKER_START_ALLOWANCE_ENV)).toBe(false);
  });

  it('a Service for the coordinator only when it runs in the cluster; it selects the coordinator pod of this run', () => {
    expect(buildWorkerManifests(base).service).toBeUndefined();
    const url = inClusterCoordinatorUrl(runId, 'load', 8787);
    const m = buildWorkerManifests({ ...base, namespace: 'load', coordinatorUrl: url, coordinatorService: { port: 8787 } });
    expect(m.service?.spec?.selector).toMatchObject({ [LABEL_RUN]: runId, [FLEET_LABEL_ROLE]: 'coordinator' });
    expect(m.service?.spec?.ports).toEqual([{ name: 'http', port: 8787, targetPort: 8787, protocol: 'TCP' }]);
    expect(url).toBe(`http://${m.service?.metadata?.name}.load.svc:8787`);
    expect(m.job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === WORKER_COORDINATOR_ENV)?.value).toBe(url);
  });

  it('image, namespace and resources are configurable', () => {
    const resources = { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '256Mi' } };
    const m = buildWorkerManifests({ ...base, image: 'registry.example/ls:1', namespace: 'perf', resources });
    expect(m.job.spec?.template.spec?.containers[0]).toMatchObject({ image: 'registry.example/ls:1', resources });
    expect([m.job.metadata?.namespace, m.secret.metadata?.namespace, m.namespace]).toEqual(['perf', 'perf', 'perf']);
  });

  it('names are DNS labels short enough for the pods, from any run id; label values are valid', () => {
    for (const id of [runId, 'X'.repeat(200), '__Weird run/ID__', '---']) {
      const names = fleetObjectNames(id);
      for (const n of Object.values(names)) expect(n).toMatch(DNS_LABEL);
      expect(podNameLength(names.job, 10_000)).toBeLessThanOrEqual(63);
      // a non-indexed Job's pods: <job>-<5 random>
      expect(`${names.coordinatorJob}-xxxxx`.length).toBeLessThanOrEqual(63);
      const v = labelValue(id);
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    }
  });

  it('bad counts and deadlines are refused', () => {
    for (const count of [0, -1, 1.5, Number.NaN]) expect(() => buildWorkerManifests({ ...base, count })).toThrow(RangeError);
    expect(() => buildWorkerManifests({ ...base, activeDeadlineSeconds: 0 })).toThrow(RangeError);
  });

  it('activeDeadlineSeconds: whole seconds to the workers’ deadline plus the grace, at least 1', () => {
    expect(jobDeadlineSeconds(1_000_000 + 299_001, 1_000_000)).toBe(300 + JOB_DEADLINE_GRACE_SECONDS);
    expect(jobDeadlineSeconds(0, 1_000_000_000)).toBe(1);
  });
});

describe('kubernetes manifests against the OpenAPI types the client ships', () => {
  const kinds: Record<string, string> = { Secret: 'V1Secret', Service: 'V1Service', Job: 'V1Job' };

  it('the printed YAML parses back to the same objects, and each document is a valid V1 object of its kind', () => {
    const m = buildWorkerManifests({ ...base, coordinatorService: { port: 8787 } });
    const docs = parseAllDocuments(manifestsYaml(m)).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Service', 'Job']);
    expect(docs).toEqual(JSON.parse(JSON.stringify([m.secret, m.service, m.job])));
    for (const d of docs) expect(openApiProblems(d, kinds[d.kind] ?? '?')).toEqual([]);
  });

  // A second, independent check: kubernetes-models' JSON schemas, generated from the Kubernetes OpenAPI spec with its
  // required fields and enums (which the client's models lack), validated by ajv.
  const schemaCheck = (d: { kind: string }): string | undefined => {
    const Model = { Secret, Service, Job, ConfigMap }[d.kind];
    if (!Model) return `no model for ${d.kind}`;
    try {
      new Model(d as never).validate();
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };

  it('each printed document also passes the JSON schema of the Kubernetes OpenAPI spec (required fields, enums)', () => {
    for (const m of [buildWorkerManifests(base), buildWorkerManifests({ ...base, coordinatorService: { port: 8787 } }), withCoordinator()]) {
      const docs = parseAllDocuments(manifestsYaml(m)).map((d) => d.toJS() as { kind: string });
      expect(docs.map(schemaCheck)).toEqual(docs.map(() => undefined));
    }
  });

  it('the whole run (coordinator ConfigMap and Job too) parses back to the same objects, each valid for the client’s models', () => {
    const m = withCoordinator();
    const docs = parseAllDocuments(manifestsYaml(m)).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'ConfigMap', 'Service', 'Job', 'Job']);
    expect(docs).toEqual(JSON.parse(JSON.stringify([m.secret, m.coordinator?.configMap, m.service, m.coordinator?.job, m.job])));
    for (const d of docs) expect(openApiProblems(d, { ...kinds, ConfigMap: 'V1ConfigMap' }[d.kind] ?? '?')).toEqual([]);
  });

  it('the schema check catches a broken coordinator Job and ConfigMap (port protocol, volume, data type)', () => {
    const { configMap, job } = withCoordinator().coordinator!;
    const j = JSON.parse(JSON.stringify(job)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    j.spec.template.spec.containers[0].ports[0].protocol = 'QUIC';
    delete j.spec.template.spec.volumes[0].name;
    const message = schemaCheck(j as { kind: string }) ?? '';
    expect(message).toMatch(/ports\/0\/protocol must be equal to one of the allowed values/);
    expect(message).toMatch(/volumes\/0 must have required property name/);
    const c = JSON.parse(JSON.stringify(configMap)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    c.data['loadscope.yaml'] = 42;
    expect(schemaCheck(c as { kind: string })).toMatch(/data\/loadscope.yaml must be string/);
    expect(openApiProblems(c, 'V1ConfigMap')).toEqual(['V1ConfigMap.data.loadscope.yaml: expected string, got number']);
  });

  it('that schema check catches a wrong enum and a missing required field', () => {
    const job = JSON.parse(JSON.stringify(buildWorkerManifests(base).job)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    job.spec.completionMode = 'Indexd';
    job.spec.template.spec.restartPolicy = 'Sometimes';
    delete job.spec.template.spec.containers[0].name;
    const message = schemaCheck(job as { kind: string }) ?? '';
    expect(message).toMatch(/spec\/completionMode must be equal to one of the allowed values/);
    expect(message).toMatch(/restartPolicy must be equal to one of the allowed values/);
    expect(message).toMatch(/containers\/0 must have required property name/);
  });

  it('the check is not vacuous: it finds unknown fields, wrong types and non-integers where the API wants int32', () => {
    const { job } = buildWorkerManifests(base);
    const broken = JSON.parse(JSON.stringify(job)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    broken.spec.completionsMode = 'Indexed';
    broken.spec.parallelism = 2.5;
    broken.spec.template.spec.containers[0].args = 'worker';
    broken.spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef.key = 7;
    expect(openApiProblems(broken, 'V1Job')).toEqual([
      'V1Job.spec.parallelism: expected int32, got 2.5',
      'V1Job.spec.template.spec.containers[0].args: expected array, got string',
      'V1Job.spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef.key: expected string, got number',
      'V1Job.spec.completionsMode: unknown field of V1JobSpec',
    ]);
    expect(openApiProblems({}, 'V9Nothing')).toEqual(['V9Nothing: unknown OpenAPI type V9Nothing']);
  });
});
