// Every container loadscope creates carries these labels, so `loadscope down` can find orphans of crashed runs.
import { hostname } from 'node:os';

export const LABEL_MANAGED = 'loadscope.managed';
export const LABEL_RUN = 'loadscope.run';
export const LABEL_SERVICE = 'loadscope.service';
export const LABEL_PROJECT = 'loadscope.project';
/** The process that owns the container: when it is gone, the container is an orphan of a crashed run. */
export const LABEL_OWNER_PID = 'loadscope.owner-pid';
export const LABEL_OWNER_HOST = 'loadscope.owner-host';
/** Set by `loadscope up`: the stack outlives its process on purpose and only `loadscope down` removes it. */
export const LABEL_DETACHED = 'loadscope.detached';
/** Image label: sha256 of the inputs an image was built from. */
export const LABEL_INPUTS_HASH = 'loadscope.inputs-hash';

export function managedLabels(runId: string, service: string, project: string, detached = false): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_RUN]: runId,
    [LABEL_SERVICE]: service,
    [LABEL_PROJECT]: project,
    [LABEL_OWNER_PID]: String(process.pid),
    [LABEL_OWNER_HOST]: hostname(),
    ...(detached ? { [LABEL_DETACHED]: 'true' } : {}),
  };
}

/** A short, name-safe suffix of the run id, so two runs (on different ports) never fight over a container name. */
export function runSuffix(runId: string): string {
  return runId.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(-12);
}
