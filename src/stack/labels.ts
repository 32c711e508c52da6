// Every container loadscope creates carries these labels, so `loadscope down` can find orphans of crashed runs.
export const LABEL_MANAGED = 'loadscope.managed';
export const LABEL_RUN = 'loadscope.run';
export const LABEL_SERVICE = 'loadscope.service';
export const LABEL_PROJECT = 'loadscope.project';
/** Image label: sha256 of the inputs an image was built from. */
export const LABEL_INPUTS_HASH = 'loadscope.inputs-hash';

export function managedLabels(runId: string, service: string, project: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, [LABEL_SERVICE]: service, [LABEL_PROJECT]: project };
}
