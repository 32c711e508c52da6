import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NdjsonLineError, readNdjson } from './read-series.ts';

const dir = mkdtempSync(join(tmpdir(), 'loadscope-ndjson-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('readNdjson (streamed in 1 MiB chunks)', () => {
  it('reads lines that cross chunk boundaries, multi-byte characters split between chunks included', () => {
    // 3 MiB of lines whose length is not a divisor of the chunk: boundaries fall inside lines and inside 'é' / '→'
    const lines = Array.from({ length: 20_000 }, (_, i) => ({ i, phase: `step-${i % 7}→é`, pad: 'x'.repeat(100 + (i % 53)) }));
    const got = readNdjson<{ i: number; phase: string }>(file('big.ndjson', lines.map((l) => `${JSON.stringify(l)}\n`).join('')));
    expect(got).toEqual(lines);
  });

  it('drops a torn last line (kill -9 mid-write) and a missing trailing newline is no tear', () => {
    expect(readNdjson(file('torn.ndjson', '{"a":1}\n{"a":2}\n{"a":'))).toEqual([{ a: 1 }, { a: 2 }]);
    expect(readNdjson(file('no-newline.ndjson', '{"a":1}\n{"a":2}'))).toEqual([{ a: 1 }, { a: 2 }]);
    expect(readNdjson(file('blank.ndjson', '\n{"a":1}\n\n'))).toEqual([{ a: 1 }]);
  });

  it('a bad line before another line is corruption, not a tear: refused naming the file and the line (exit 2)', () => {
    const f = file('corrupt.ndjson', '{"a":1}\n\n{"a":\n{"a":3}\n');
    expect(() => readNdjson(f)).toThrow(NdjsonLineError);
    expect(() => readNdjson(f)).toThrow(`${f}:3: not a JSON line`);
    expect(() => readNdjson(f)).toThrow(expect.objectContaining({ code: 'USAGE', file: f, lineNumber: 3 }));
  });

  it('reads a line longer than the 1 MiB chunk', () => {
    const long = { pad: 'é'.repeat(700_000) };
    expect(readNdjson(file('long.ndjson', `{"a":1}\n${JSON.stringify(long)}\n{"a":3}\n`))).toEqual([{ a: 1 }, long, { a: 3 }]);
  });

  it('a missing file has no lines', () => {
    expect(readNdjson(join(dir, 'absent.ndjson'))).toEqual([]);
  });
});
