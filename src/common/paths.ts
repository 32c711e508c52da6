// The one rule for where a relative input path (config, Compose file) is found: the working directory first,
// then beside the file that names it (the Compose file beside its config), then loadscope's own folder.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The first existing candidate; the working-directory one when none exists (its error names the path the user gave). */
export function resolveInputPath(path: string, namedBy?: string): string {
  const candidates = [resolve(path), ...(namedBy ? [resolve(dirname(namedBy), path)] : []), resolve(PACKAGE_ROOT, path)];
  return candidates.find((c) => existsSync(c)) ?? resolve(path);
}
