// Test support for Docker-backed tests: the real engine, free loopback ports, and a leftovers check by label.
import { createServer } from 'node:net';
import { DockerodeRuntime, endpointFromEnv } from '../runtime/dockerode-runtime.ts';
import type { ContainerRuntime } from '../runtime/port.ts';
import { LABEL_MANAGED, LABEL_RUN } from '../labels.ts';

/** The engine the bootstrap ensured; a test that finds none fails loudly, never skips. */
export async function realRuntime(): Promise<ContainerRuntime> {
  const runtime = new DockerodeRuntime(endpointFromEnv(process.env.DOCKER_HOST));
  await runtime.ping();
  return runtime;
}

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function uniqueRunId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function leftovers(runtime: ContainerRuntime, runId: string): Promise<string[]> {
  const rows = await runtime.list({ [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId });
  return rows.map((r) => r.name);
}
