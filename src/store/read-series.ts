// Reads series.ndjson; a run killed mid-write leaves a truncated last line, which is skipped.
import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors.ts';
import type { SeriesLine } from './run-format.ts';

export type { SeriesLine } from './run-format.ts';

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/** A line that is not JSON and not the last one: the file is corrupt, not torn (exit 2, naming file and line). */
export class NdjsonLineError extends UsageError {
  constructor(
    readonly file: string,
    readonly lineNumber: number,
    cause: SyntaxError,
  ) {
    super(`${file}:${lineNumber}: not a JSON line (${cause.message}); only a file's last line may be cut off (a run killed mid-write)`);
    this.cause = cause;
  }
}

/**
 * Calls `onLine` for each parsed line of an NDJSON file, reading it in 1 MiB chunks: memory is one chunk (or the
 * longest line) plus what the caller keeps, whatever the run's length. Lines are split on the bytes and each is
 * decoded on its own (a newline byte never occurs inside a UTF-8 sequence), so no chunk is decoded or copied as a
 * whole string. A missing file has no lines. Only the last line may be partial (a run killed mid-write); a bad line
 * before another one is real corruption and throws NdjsonLineError.
 */
export function forEachNdjson<T>(file: string, onLine: (line: T) => void): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return;
  }
  let lineNumber = 0;
  let pending: NdjsonLineError | undefined;
  const take = (text: string): void => {
    lineNumber++;
    if (!text.trim()) return;
    if (pending) throw pending;
    let line: T;
    try {
      line = JSON.parse(text) as T;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      pending = new NdjsonLineError(file, lineNumber, err);
      return;
    }
    onLine(line);
  };
  try {
    let buf = Buffer.allocUnsafe(CHUNK_BYTES);
    // bytes [0, kept) are the start of a line whose newline is not read yet
    let kept = 0;
    for (;;) {
      if (kept === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      const n = readSync(fd, buf, kept, buf.length - kept, null);
      if (n <= 0) break;
      const view = buf.subarray(0, kept + n);
      let from = 0;
      for (let nl = view.indexOf(NEWLINE, kept); nl >= 0; nl = view.indexOf(NEWLINE, from)) {
        take(view.toString('utf8', from, nl));
        from = nl + 1;
      }
      kept = view.length - from;
      view.copy(buf, 0, from);
    }
    take(buf.toString('utf8', 0, kept));
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
