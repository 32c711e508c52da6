// Where the generated dashboards and recording rules live: a module of its own so the CLI can name the defaults
// without loading the dashboard builders (the Grafana Foundation SDK) for every command.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_DASHBOARDS_DIR = join(REPO_ROOT, 'dashboards');
export const RECORDING_RULES_PATH = join(REPO_ROOT, 'collectors', 'rules', 'recording.yml');
