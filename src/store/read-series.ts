// Reads series.ndjson; a run killed mid-write leaves a truncated last line, which is skipped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SeriesLine {
  t: string;
  tMs: number;
  elapsedS: number;
  phase: string;
  activeUsers: number;
  /** cancelled: requests in flight when the run stopped (present only when > 0) */
  endpoints: Record<string, { count: number; errors: Record<string, number>; bytes: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; cancelled?: number }>;
  total: { count: number; errors: Record<string, number>; bytes: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; cancelled?: number };
  generator: { cpuCores: number; droppedLate: number };
  [section: string]: unknown;
}

export function readNdjson<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (err) {
      // only the last line may be partial; anything earlier is real corruption
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) throw err;
    }
  });
  return out;
}

export const readSeries = (runDir: string): SeriesLine[] => readNdjson<SeriesLine>(join(runDir, 'series.ndjson'));
