// The pods of `loadscope k8s manifest` as processes on this machine (docs/DISTRIBUTED.md, Kubernetes: what is tested
// here): each container's args and environment exactly as the manifest gives them, resolved as Kubernetes would —
// secretKeyRef from the printed Secret, the completion-index annotation and JOB_COMPLETION_INDEX per worker, the
// ConfigMap and emptyDir volumes as directories — with only the network rewritten to loopback: the coordinator
// listens on 127.0.0.1 instead of 0.0.0.0, the workers reach it at 127.0.0.1 instead of the Service's DNS name.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1ConfigMap, V1Job, V1Secret } from '../../load/fleet/kubernetes-client.ts';
import { K8S_COMPLETION_INDEX_KEY } from '../../load/fleet/kubernetes-api.ts';
import { K8S_INDEX_ENV, WORKER_COORDINATOR_ENV } from '../../load/fleet/port.ts';

type Container = NonNullable<NonNullable<V1Job['spec']>['template']['spec']>['containers'][number];

export interface LocalPod {
  /** after the image's `loadscope` entry point */
  args: string[];
  env: Record<string, string>;
}

export interface LocalRun {
  runId: string;
  kinds: string[];
  coordinator: LocalPod;
  workers: LocalPod[];
}

const INDEX_FIELD = `metadata.annotations['${K8S_COMPLETION_INDEX_KEY}']`;

/** The manifest's pods with their volumes under `dir`; throws on anything it does not know how to resolve. */
export function localPods(yaml: string, dir: string): LocalRun {
  const docs = parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string; labels: Record<string, string> } });
  const secret = docs.find((d) => d.kind === 'Secret') as V1Secret | undefined;
  const configMaps = docs.filter((d) => d.kind === 'ConfigMap') as V1ConfigMap[];
  const jobs = docs.filter((d) => d.kind === 'Job') as V1Job[];
  const coordinatorJob = jobs.find((j) => j.spec?.completionMode !== 'Indexed');
  const workerJob = jobs.find((j) => j.spec?.completionMode === 'Indexed');
  if (!secret || !coordinatorJob || !workerJob) throw new Error(`incomplete manifest: ${docs.map((d) => d.kind).join(', ')}`);
  const coordinator = pod(coordinatorJob, secret, configMaps, join(dir, 'coordinator'), undefined);
  const count = workerJob.spec?.completions ?? 0;
  const workers = Array.from({ length: count }, (_, i) => pod(workerJob, secret, configMaps, join(dir, `worker-${i}`), i));
  return { runId: coordinatorJob.metadata!.labels!['loadscope.run']!, kinds: docs.map((d) => d.kind), coordinator, workers };
}

function pod(job: V1Job, secret: V1Secret, configMaps: V1ConfigMap[], dir: string, index: number | undefined): LocalPod {
  const spec = job.spec!.template.spec!;
  const c: Container = spec.containers[0]!;
  // volumes: a ConfigMap's keys become files, an emptyDir an empty directory; a path under a mount is rewritten
  const mounts = (c.volumeMounts ?? []).map((m) => {
    const volume = spec.volumes?.find((v) => v.name === m.name);
    const local = join(dir, m.name);
    mkdirSync(local, { recursive: true });
    if (volume?.configMap) {
      const cm = configMaps.find((x) => x.metadata?.name === volume.configMap!.name);
      if (!cm) throw new Error(`ConfigMap ${volume.configMap.name} is not in the manifest`);
      for (const [k, v] of Object.entries(cm.data ?? {})) writeFileSync(join(local, k), v);
    } else if (!volume?.emptyDir) throw new Error(`volume ${m.name}: only configMap and emptyDir are resolved here`);
    return { from: m.mountPath, to: local };
  });
  const args = (c.args ?? []).map((a, i, all) => {
    if (all[i - 1] === '--coordinator-host' && a === '0.0.0.0') return '127.0.0.1';
    const m = mounts.find((x) => a === x.from || a.startsWith(`${x.from}/`));
    return m ? m.to + a.slice(m.from.length) : a;
  });
  const env: Record<string, string> = index === undefined ? {} : { [K8S_INDEX_ENV]: String(index) };
  for (const e of c.env ?? []) env[e.name] = envValue(e, secret, index);
  return { args, env };
}

function envValue(e: NonNullable<Container['env']>[number], secret: V1Secret, index: number | undefined): string {
  if (e.value !== undefined) return e.name === WORKER_COORDINATOR_ENV ? toLoopback(e.value) : e.value;
  const ref = e.valueFrom?.secretKeyRef;
  if (ref) {
    if (ref.name !== secret.metadata?.name) throw new Error(`${e.name}: Secret ${ref.name} is not in the manifest`);
    const v = secret.stringData?.[ref.key];
    if (v === undefined) throw new Error(`${e.name}: no key ${ref.key} in Secret ${ref.name}`);
    return v;
  }
  if (e.valueFrom?.fieldRef?.fieldPath === INDEX_FIELD && index !== undefined) return String(index);
  throw new Error(`${e.name}: cannot resolve ${JSON.stringify(e.valueFrom)}`);
}

/** The Service's DNS name → 127.0.0.1, same port. */
function toLoopback(url: string): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  return u.origin;
}
