// Reads series.ndjson; a run killed mid-write leaves a truncated last line, which is skipped.
import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { join } from 'node:path';
import type { SeriesLine } from './run-format.ts';

export type { SeriesLine } from './run-format.ts';

const CHUNK_BYTES = 1 << 20;

/**
 * Calls `onLine` for each parsed line of an NDJSON file, reading it in 1 MiB chunks: memory is one chunk plus
 * what the caller keeps, whatever the run's length. A missing file has no lines. Only the last line may be
 * partial (a run killed mid-write); a bad line before another one is real corruption and throws.
 */
export function forEachNdjson<T>(file: string, onLine: (line: T) => void): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return;
  }
  const buf = Buffer.alloc(CHUNK_BYTES);
  const decoder = new StringDecoder('utf8');
  let pendingError: unknown;
  const take = (line: string): void => {
    if (!line.trim()) return;
    if (pendingError !== undefined) throw pendingError;
    try {
      onLine(JSON.parse(line) as T);
    } catch (err) {
      if (err instanceof SyntaxError) pendingError = err;
      else throw err;
    }
  };
  try {
    let rest = '';
    for (let n = readSync(fd, buf, 0, CHUNK_BYTES, null); n > 0; n = readSync(fd, buf, 0, CHUNK_BYTES, null)) {
      const text = rest + decoder.write(buf.subarray(0, n));
      let from = 0;
      for (let nl = text.indexOf('\n', from); nl >= 0; nl = text.indexOf('\n', from)) {
        take(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(from);
    }
    take(rest + decoder.end());
  } finally {
    closeSync(fd);
  }
}

export function readNdjson<T>(file: string): T[] {
  const out: T[] = [];
  forEachNdjson<T>(file, (l) => out.push(l));
  return out;
}

export const readSeries = (runDir: string): SeriesLine[] => readNdjson<SeriesLine>(join(runDir, 'series.ndjson'));
