import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseMemoryBytes, parseNanoCpus, shellSplit } from './units.ts';

describe('parseDurationMs', () => {
  it.each([
    ['1s', 1000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['10us', 0.01],
    ['0', 0],
    ['0s', 0],
    ['1h2m3s4ms', 3_723_004],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDurationMs(input)).toBeCloseTo(ms, 6);
  });

  it.each(['', '10', 's', '1x', '1s garbage', '-1s', '1 s'])('rejects %j', (input) => {
    expect(parseDurationMs(input)).toBeUndefined();
  });
});

describe('parseMemoryBytes (binary units, as Docker)', () => {
  it.each<[string | number, number]>([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1G', 1024 ** 3],
    ['1gb', 1024 ** 3],
    ['256MiB', 256 * 1024 ** 2],
    ['64k', 64 * 1024],
    ['1073741824', 1073741824],
    [1073741824, 1073741824],
    ['100b', 100],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2t', 2 * 1024 ** 4],
  ])('%s → %d', (input, bytes) => {
    expect(parseMemoryBytes(input)).toBe(bytes);
  });

  it.each<string | number>(['', 'm', '5x', '-1m', '0', 0, 1.5, '1 gigabyte', '5i'])('rejects %j', (input) => {
    expect(parseMemoryBytes(input)).toBeUndefined();
  });
});

describe('parseNanoCpus', () => {
  it.each<[string | number, number]>([
    [1, 1e9],
    [0.5, 5e8],
    ['1.5', 1.5e9],
    ['.25', 2.5e8],
  ])('%s → %d', (input, nano) => {
    expect(parseNanoCpus(input)).toBe(nano);
  });

  it.each<string | number>([0, -1, 'two', '', '1e3x'])('rejects %j', (input) => {
    expect(parseNanoCpus(input)).toBeUndefined();
  });
});

describe('shellSplit', () => {
  it.each<[string, string[]]>([
    ['postgres -c max_connections=200', ['postgres', '-c', 'max_connections=200']],
    ['  spaced   out  ', ['spaced', 'out']],
    [`sh -c 'echo "hi there" && exit 1'`, ['sh', '-c', 'echo "hi there" && exit 1']],
    ['echo "a \\"quoted\\" word" b', ['echo', 'a "quoted" word', 'b']],
    ['echo "keep \\n as is"', ['echo', 'keep \\n as is']],
    ['a\'b\'c "d"e', ['abc', 'de']],
    ['empty "" \'\'', ['empty', '', '']],
    ['a\\ b c', ['a b', 'c']],
    ['line \\\ncontinued', ['line', 'continued']],
    ['echo $HOME `id` $(x)', ['echo', '$HOME', '`id`', '$(x)']],
    ['', []],
  ])('%j', (input, words) => {
    expect(shellSplit(input)).toEqual(words);
  });

  it.each(["echo 'open", 'echo "open'])('rejects unterminated quote in %j', (input) => {
    expect(() => shellSplit(input)).toThrow(/unterminated/);
  });
});
