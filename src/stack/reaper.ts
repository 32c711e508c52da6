// Orphans of crashed runs: managed containers whose owning process on this host is gone (and that were
// not left running on purpose by `loadscope up`). Removed at the start of every stack.
import { hostname } from 'node:os';
import { LABEL_DETACHED, LABEL_MANAGED, LABEL_OWNER_HOST, LABEL_OWNER_PID } from './labels.ts';
import type { ContainerInfo, ContainerRuntime } from './runtime/port.ts';

export function isOrphan(c: ContainerInfo, alive: (pid: number) => boolean, host = hostname()): boolean {
  if (c.labels[LABEL_MANAGED] !== 'true' || c.labels[LABEL_DETACHED] === 'true') return false;
  const pid = Number(c.labels[LABEL_OWNER_PID]);
  if (c.labels[LABEL_OWNER_HOST] !== host || !Number.isInteger(pid) || pid <= 0) return false;
  return !alive(pid);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function reapOrphans(runtime: ContainerRuntime, alive: (pid: number) => boolean = pidAlive): Promise<string[]> {
  const orphans = (await runtime.list({ [LABEL_MANAGED]: 'true' })).filter((c) => isOrphan(c, alive));
  await Promise.all(orphans.map((c) => runtime.remove(c.id)));
  return orphans.map((c) => c.name);
}
