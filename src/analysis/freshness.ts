// When a container sample still describes its second: the stats stream delivers about once a second, so a sample
// older than two intervals means the stream stalled or the container is down (samplers/types.ts ageMs); analysis
// leaves such samples out instead of judging the container by a stale value.

/** Oldest sample (ms since it was read) the analysis still uses: two 1-s stats intervals. */
export const MAX_SAMPLE_AGE_MS = 2000;

/** True when a container sample is fresh enough to judge by (no age recorded: fresh). */
export const isFresh = (c: { ageMs?: number } | undefined): boolean => c !== undefined && (c.ageMs ?? 0) <= MAX_SAMPLE_AGE_MS;
