import { describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { copyInstalledPackage, dockerContextPaths, mirrorFromAptSources } from './builders.ts';
import { ensureImages } from './ensure.ts';
import { importChanges, loadImageSpec, loadImageSpecs, type ImageSpec } from './spec.ts';
import { LABEL_INPUTS_HASH } from '../labels.ts';
import type { BuildImageOptions } from '../runtime/port.ts';
import { FakeContainerRuntime } from '../testing/fake-runtime.ts';
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
  const base = {
    ref: 'loadscope/x:1',
    packages: ['bash'],
    files: [{ src: 'images/x/run.sh', dst: '/run.sh', mode: '0755' }],
    env: { A: 'b c' },
    entrypoint: ['/run.sh'],
  };

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

describe('images with a wider context (the worker image)', () => {
  const composeDir = fileURLToPath(new URL('../../../compose', import.meta.url));
  const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
  const worker = (): ImageSpec => {
    const spec = loadImageSpecs(composeDir).find((s) => s.ref === 'loadscope/loadscope:dev');
    if (!spec) throw new Error('no worker image spec');
    return spec;
  };

  it('resolves context ".." to the repo root and sends only the Dockerfile and hashed inputs (never node_modules)', () => {
    const spec = worker();
    expect(spec.contextDir).toBe(repoRoot.replace(/\/$/, ''));
    expect(dockerContextPaths(spec)).toEqual(['compose/images/loadscope/Dockerfile', 'package.json', 'package-lock.json', 'src']);
  });

  it('keeps compose/ as the whole context of the stack images', () => {
    const others = loadImageSpecs(composeDir).filter((s) => s.context === '.');
    expect(others.map((s) => s.ref).sort()).toEqual(['loadscope/archiveorigin:dev', 'loadscope/postgres:15']);
    for (const s of others) expect(dockerContextPaths(s)).toEqual(['.']);
  });

  it('ensureImages leaves onDemand images to whoever asks for them by ref', async () => {
    const specs = loadImageSpecs(composeDir);
    const runtime = new FakeContainerRuntime();
    for (const s of specs) runtime.addImage(s.ref, { [LABEL_INPUTS_HASH]: s.inputsHash });
    const opts = { runtime, composeDir, builder: 'offline' as const, cacheDir: '/nonexistent', log: () => undefined };
    expect((await ensureImages(opts)).map((r) => r.ref)).toEqual(['loadscope/archiveorigin:dev', 'loadscope/postgres:15']);
    expect(await ensureImages({ ...opts, refs: ['loadscope/loadscope:dev'] })).toMatchObject([{ ref: 'loadscope/loadscope:dev', built: false }]);
    await expect(ensureImages({ ...opts, refs: ['loadscope/nope:1'] })).rejects.toThrow('loadscope/nope:1');
    expect((await ensureImages({ ...opts, alsoRefs: ['loadscope/loadscope:dev'] })).map((r) => r.ref)).toEqual([
      'loadscope/archiveorigin:dev',
      'loadscope/loadscope:dev',
      'loadscope/postgres:15',
    ]);
    await expect(ensureImages({ ...opts, alsoRefs: ['loadscope/nope:1'] })).rejects.toThrow('loadscope/nope:1');
  });

  it('builds the stale images side by side, and reports a failed one only once every build has ended', async () => {
    let inFlight = 0;
    let most = 0;
    const ended: string[] = [];
    class SlowRuntime extends FakeContainerRuntime {
      override async buildImage(contextTar: Readable, options: BuildImageOptions): Promise<void> {
        contextTar.resume();
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, options.ref.includes('postgres') ? 10 : 200));
        inFlight--;
        ended.push(options.ref);
        if (options.ref.includes('postgres')) throw new Error('postgres build broke');
        return super.buildImage(contextTar, options);
      }
    }
    const runtime = new SlowRuntime();
    const opts = { runtime, composeDir, builder: 'dockerfile' as const, cacheDir: '/nonexistent', log: () => undefined };
    await expect(ensureImages({ ...opts, alsoRefs: ['loadscope/loadscope:dev'] })).rejects.toThrow('postgres build broke');
    expect(most).toBe(3);
    expect(ended).toHaveLength(3);
  });
});

// The worker image's Node where no apt source carries the host's version: the installed files themselves. Real dpkg
// and tar on a package every Debian has (`hostname`, whose files are listed under /bin, a merged-/usr symlink).
describe('copyInstalledPackage', () => {
  it("copies an installed package's listed files; the rootfs's merged-/usr symlink stays a symlink; no list left", async () => {
    const rootfs = mkdtempSync(join(tmpdir(), 'loadscope-copy-'));
    try {
      mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
      symlinkSync('usr/bin', join(rootfs, 'bin'));
      await copyInstalledPackage('hostname', rootfs, 'test');
      expect(lstatSync(join(rootfs, 'bin')).isSymbolicLink()).toBe(true);
      expect(statSync(join(rootfs, 'usr', 'bin', 'hostname')).size).toBe(statSync('/usr/bin/hostname').size);
      expect(statSync(join(rootfs, 'usr', 'bin', 'hostname')).mode).toBe(statSync('/usr/bin/hostname').mode);
      expect(existsSync(join(rootfs, 'usr', 'share', 'doc', 'hostname', 'copyright'))).toBe(true);
      expect(readdirSync(rootfs).filter((n) => n.startsWith('.loadscope-'))).toEqual([]);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });

  it('names the package when dpkg has no files for it', async () => {
    const rootfs = mkdtempSync(join(tmpdir(), 'loadscope-copy-'));
    try {
      await expect(copyInstalledPackage('loadscope-no-such-package', rootfs, 'test')).rejects.toThrow(
        /dpkg-query -L loadscope-no-such-package listed no files/,
      );
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });
});
