// The run directory's format version, apart from its schemas (run-format.ts) so the run writer, which only
// stamps it, does not load zod into a long run's process.

/**
 * Version of the run directory's layout (store/run-format.ts), recorded in the manifest as `formatVersion`. 1: runs
 * written before the field existed (start time rebuilt from the first second, pool size as a string in stackEnv,
 * step levels only in the phase names); 2: `startMs`, `poolMax` and `phaseLevels` recorded as data; 3: the
 * histograms.ndjson payloads in HdrHistogram's uncompressed V2 encoding instead of its zlib-compressed one (read back
 * without one inflate per endpoint per second; docs/ANALYSIS.md, "Reading a run back"). A reader refuses a version
 * it does not know.
 */
export const FORMAT_VERSION = 3;
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1, 2, 3];
