import { describe, expect, it } from 'vitest';
import { interpolate, InterpolationError } from './interpolate.ts';

const env = { SET: 'value', EMPTY: '', PORT: '5432' };

describe('interpolate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['${SET}', 'value'],
    ['$SET', 'value'],
    ['$SET/x', 'value/x'],
    ['pre-${SET}-post', 'pre-value-post'],
    ['${UNSET:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${SET:-dflt}', 'value'],
    ['${UNSET-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${UNSET:-${PORT}}', '5432'],
    ['${UNSET:-a b:c}', 'a b:c'],
    ['$$', '$'],
    ['$${SET}', '${SET}'],
    ['cost $$5', 'cost $5'],
    ['$$$SET', '$value'],
    ['${SET:?must be set}', 'value'],
    ['${EMPTY?must be set}', ''],
  ])('%s → %s', (input, expected) => {
    expect(interpolate(input, env)).toBe(expected);
  });

  it('substitutes "" for an unset variable and reports it', () => {
    const unset: string[] = [];
    expect(interpolate('a${NOPE}b$ALSO_NOPE', env, (n) => unset.push(n))).toBe('ab');
    expect(unset).toEqual(['NOPE', 'ALSO_NOPE']);
  });

  it.each([
    ['${UNSET:?set UNSET to the db password}', 'required variable UNSET is not set or empty: set UNSET to the db password'],
    ['${EMPTY:?}', 'required variable EMPTY is not set or empty'],
    ['${UNSET?missing}', 'required variable UNSET is not set: missing'],
    ['${SET', 'unterminated'],
    ['${1BAD}', 'invalid interpolation format'],
    ['${SET:x}', 'invalid interpolation format'],
    ['price $ 5', 'invalid interpolation format'],
    ['trailing $', 'invalid interpolation format'],
  ])('%s fails: %s', (input, message) => {
    expect(() => interpolate(input, env)).toThrow(InterpolationError);
    expect(() => interpolate(input, env)).toThrow(message);
  });

  it('never evaluates shell syntax', () => {
    expect(interpolate('$$(echo hi) `id` ; rm -rf /', env)).toBe('$(echo hi) `id` ; rm -rf /');
    expect(() => interpolate('$(echo hi)', env)).toThrow(InterpolationError);
  });
});
