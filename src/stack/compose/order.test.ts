import { describe, expect, it } from 'vitest';
import { findCycle, startOrder } from './order.ts';
import type { ComposeService } from './types.ts';

function svc(name: string, ...deps: string[]): ComposeService {
  return {
    name,
    image: 'x',
    environment: {},
    networkMode: 'host',
    dependsOn: deps.map((service) => ({ service, condition: 'service_started' as const })),
    binds: [],
    labels: {},
  };
}

const names = (services: ComposeService[]): string[] => services.map((s) => s.name);

describe('startOrder', () => {
  it('starts dependencies first', () => {
    expect(names(startOrder({ services: [svc('app', 'db'), svc('db')] }))).toEqual(['db', 'app']);
  });

  it('keeps file order among services that are ready at the same time', () => {
    const services = [svc('c'), svc('a'), svc('web', 'api', 'cache'), svc('api', 'db'), svc('cache'), svc('db')];
    expect(names(startOrder({ services }))).toEqual(['c', 'a', 'cache', 'db', 'api', 'web']);
  });

  it('handles a diamond', () => {
    const services = [svc('top', 'left', 'right'), svc('left', 'base'), svc('right', 'base'), svc('base')];
    expect(names(startOrder({ services }))).toEqual(['base', 'left', 'right', 'top']);
  });

  it('throws on a cycle, naming it', () => {
    expect(() => startOrder({ services: [svc('a', 'b'), svc('b', 'a')] })).toThrow('dependency cycle: a → b → a');
  });
});

describe('findCycle', () => {
  it('finds none in a DAG', () => {
    expect(
      findCycle([
        { name: 'a', deps: ['b'] },
        { name: 'b', deps: [] },
      ]),
    ).toBeUndefined();
  });

  it('finds a self dependency', () => {
    expect(findCycle([{ name: 'a', deps: ['a'] }])).toEqual(['a', 'a']);
  });

  it('finds a longer cycle behind an acyclic prefix', () => {
    const nodes = [
      { name: 'x', deps: ['a'] },
      { name: 'a', deps: ['b'] },
      { name: 'b', deps: ['c'] },
      { name: 'c', deps: ['a'] },
    ];
    expect(findCycle(nodes)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('ignores unknown names', () => {
    expect(findCycle([{ name: 'a', deps: ['ghost'] }])).toBeUndefined();
  });
});
