// Defaults that more than one stage needs, in one place: the schema applies them to the config, the CLI shows
// them in --help, and the stages that run without a config (benches, `loadscope up`) use the same values.

/** The reference system under test: its loopback origin, and the application_name of its DB pool (pool charts and evidence). */
export const DEFAULT_TARGET = 'http://127.0.0.1:8000';
export const REFERENCE_APP_NAME = 'archiveorigin';

/** Config and Compose file of the reference stack, looked up as input paths (common/paths.ts). */
export const DEFAULT_CONFIG_PATH = 'compose/loadscope.yaml';
export const DEFAULT_COMPOSE_PATH = 'compose/stack.yml';

/** Sampler cadence: once a second matches the load engine's per-second lines (docs/ANALYSIS.md). */
export const DEFAULT_SAMPLE_INTERVAL_MS = 1000;

/** The run's Prometheus endpoint: loopback only unless asked (nothing is exposed by default); 9464 is OTel's Prometheus exporter port. */
export const DEFAULT_METRICS = { host: '127.0.0.1', port: 9464, scrapeIntervalMs: 1000 } as const;

/** Deadline for each stack service to become healthy: the reference app's first start (migrations, pool warm-up) takes well under it. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 120_000;
