// Test support for Docker-backed tests: the real engine, free loopback ports, and a leftovers check by label.
import { DockerodeRuntime, endpointFromEnv } from '../runtime/dockerode-runtime.ts';
import type { ContainerRuntime } from '../runtime/port.ts';
import { LABEL_MANAGED, LABEL_RUN } from '../labels.ts';

/** The engine the bootstrap ensured; a test that finds none fails loudly, never skips. */
export async function realRuntime(): Promise<ContainerRuntime> {
  const runtime = new DockerodeRuntime(endpointFromEnv(process.env.DOCKER_HOST));
  await runtime.ping();
  return runtime;
}

export { freePort } from '../../common/testing/free-port.ts';

export function uniqueRunId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function leftovers(runtime: ContainerRuntime, runId: string): Promise<string[]> {
  const rows = await runtime.list({ [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId });
  return rows.map((r) => r.name);
}
