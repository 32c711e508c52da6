import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirrorFromAptSources } from './builders.ts';
import { importChanges, loadImageSpec } from './spec.ts';
import { ConfigError } from '../../common/errors.ts';

describe('mirrorFromAptSources', () => {
  it('reads the bookworm URI from a deb822 file, skipping the security suite', () => {
    const text = [
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
    ].join('\n');
    expect(mirrorFromAptSources([{ name: '/etc/apt/sources.list.d/debian.sources', text }])).toBe('http://mirror.example/debian');
  });

  it('falls back to one-line sources with options and ignores deb-src and disabled stanzas', () => {
    const sources = 'Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: bookworm\n';
    const list = '# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64] http://list.example/debian bookworm main\n';
    expect(
      mirrorFromAptSources([
        { name: 'a.sources', text: sources },
        { name: 'sources.list', text: list },
      ]),
    ).toBe('http://list.example/debian');
  });

  it('returns undefined when no bookworm source exists', () => {
    expect(mirrorFromAptSources([{ name: 'x.list', text: 'deb http://m.example/debian trixie main' }])).toBeUndefined();
  });
});

describe('image specs', () => {
  const make = (spec: unknown, fileText = 'echo hi'): string => {
    const ctx = mkdtempSync(join(tmpdir(), 'loadscope-spec-'));
    mkdirSync(join(ctx, 'images', 'x'), { recursive: true });
    writeFileSync(join(ctx, 'images', 'x', 'image.json'), JSON.stringify(spec));
    writeFileSync(join(ctx, 'images', 'x', 'run.sh'), fileText);
    return ctx;
  };
  const base = { ref: 'loadscope/x:1', packages: ['bash'], files: [{ src: 'images/x/run.sh', dst: '/run.sh', mode: '0755' }], env: { A: 'b c' }, entrypoint: ['/run.sh'] };

  it('hash changes when an input file changes, and only then', () => {
    const a = loadImageSpec(join(make(base), 'images', 'x'), join(make(base), '.'));
    const ctx1 = make(base);
    const ctx2 = make(base);
    const ctx3 = make(base, 'echo changed');
    const h1 = loadImageSpec(join(ctx1, 'images', 'x'), ctx1).inputsHash;
    const h2 = loadImageSpec(join(ctx2, 'images', 'x'), ctx2).inputsHash;
    const h3 = loadImageSpec(join(ctx3, 'images', 'x'), ctx3).inputsHash;
    expect(a.ref).toBe('loadscope/x:1');
    expect(h1).toBe(h2);
    expect(h3).not.toBe(h1);
  });

  it('turns the spec into import changes with the inputs label', () => {
    const ctx = make(base);
    const spec = loadImageSpec(join(ctx, 'images', 'x'), ctx);
    expect(importChanges(spec, { 'loadscope.inputs-hash': 'abc' })).toEqual([
      'ENV A=b c',
      'ENTRYPOINT ["/run.sh"]',
      'WORKDIR /',
      'LABEL loadscope.inputs-hash=abc',
    ]);
  });

  it('reports every spec problem with its path', () => {
    const ctx = make({ ref: 'Bad Ref', packages: 'x', extra: 1 });
    try {
      loadImageSpec(join(ctx, 'images', 'x'), ctx);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const paths = (err as ConfigError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(['', 'packages', 'ref']);
    }
  });
});
