// The engine registry: every listed engine is built or refused as unavailable (exit 2); an unknown name is refused.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../common/errors.ts';
import { DEFAULT_ENGINE, ENGINE_NAMES, workerEngine } from './fleet-engines.ts';

describe('workerEngine', () => {
  it('local is the default and is built in', () => {
    expect(DEFAULT_ENGINE).toBe('local');
    expect(workerEngine('local').name).toBe('local');
  });

  it('each listed engine is built under its own name (building one starts nothing: no container, no cluster call)', () => {
    expect(ENGINE_NAMES).toEqual(['local', 'docker', 'kubernetes', 'external']);
    for (const name of ENGINE_NAMES) expect(workerEngine(name).name).toBe(name);
  });

  it('an unknown engine is a usage error naming the known ones', () => {
    expect(() => workerEngine('nomad')).toThrow(new UsageError('--engine nomad: unknown worker engine (one of local, docker, kubernetes, external)'));
  });
});
