// Two builders giving the same images: Dockerfile (needs a registry) and offline (debootstrap → docker import).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { LoadscopeError } from '../../common/errors.ts';
import { LABEL_INPUTS_HASH } from '../labels.ts';
import type { ContainerRuntime } from '../runtime/port.ts';
import { hostPackageVersion, importChanges, type ImageSpec } from './spec.ts';

export type BuilderKind = 'offline' | 'dockerfile';

export interface BuildContext {
  runtime: ContainerRuntime;
  /** Debian mirror for debootstrap, read from the apt sources. */
  mirror: string;
  /** debootstrap keeps downloaded .debs here so a later build reuses an earlier one's (debCache). */
  cacheDir: string;
  log: (msg: string) => void;
}

export async function buildImage(kind: BuilderKind, spec: ImageSpec, ctx: BuildContext): Promise<void> {
  const labels = { [LABEL_INPUTS_HASH]: spec.inputsHash };
  if (kind === 'dockerfile') {
    const tar = spawnTar(spec.contextDir, dockerContextPaths(spec));
    await ctx.runtime.buildImage(tar, { ref: spec.ref, dockerfile: relative(spec.contextDir, join(spec.dir, 'Dockerfile')), labels });
    return;
  }
  const rootfs = mkdtempSync(join(tmpdir(), 'loadscope-rootfs-'));
  try {
    mkdirSync(ctx.cacheDir, { recursive: true });
    const startedMs = performance.now();
    const step = (what: string): void => ctx.log(`${spec.ref}: ${what} (${((performance.now() - startedMs) / 1000).toFixed(1)} s)`);
    await baseRootfs(spec, ctx, rootfs);
    step('base ready');
    for (const f of spec.files) {
      const dst = join(rootfs, f.dst);
      mkdirSync(join(dst, '..'), { recursive: true });
      cpSync(join(spec.contextDir, f.src), dst);
      if (f.mode) chmodSync(dst, parseInt(f.mode, 8));
    }
    for (const d of spec.dirs) {
      cpSync(join(spec.contextDir, d.src), join(rootfs, d.dst), { recursive: true, filter: (src) => !src.includes('__pycache__') });
    }
    if (spec.npmProductionDir) await npmProductionInstall(spec, ctx, join(rootfs, spec.npmProductionDir));
    step('files and dependencies in');
    for (const cmd of spec.run) await run('chroot', [rootfs, '/bin/sh', '-c', cmd], `${spec.ref}: run "${cmd}"`);
    // Package caches and lists are build leftovers, not image content.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      const path = join(rootfs, dir);
      if (!existsSync(path)) continue;
      for (const entry of readdirSync(path)) if (entry.endsWith('.deb') || dir.endsWith('lists')) rmSync(join(path, entry), { recursive: true, force: true });
    }
    step('importing');
    await ctx.runtime.importImage(spawnTar(rootfs), { ref: spec.ref, changes: importChanges(spec, labels) });
    step('imported');
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/**
 * Debian (debootstrap) plus the host's packages. An onDemand image is rebuilt with every change to src/, its base
 * is not: that base is kept in the cache as a tar, keyed by mirror, packages and host package versions (one per
 * image), which saves the minute debootstrap takes. The stack's images rebuild rarely and are not cached.
 */
async function baseRootfs(spec: ImageSpec, ctx: BuildContext, rootfs: string): Promise<void> {
  const hostDebs = spec.hostDebs.map((p) => `${p}=${hostPackageVersion(p) ?? ''}`);
  const cache = spec.onDemand ? tarCache(ctx, spec.ref, 'rootfs', [JSON.stringify({ mirror: ctx.mirror, packages: spec.packages, hostDebs })]) : null;
  if (await cache?.restore(rootfs, 'base')) return;
  const args = ['--variant=minbase'];
  if (spec.packages.length > 0) args.push(`--include=${spec.packages.join(',')}`);
  await withDebCache(ctx.cacheDir, (debs) =>
    run('debootstrap', [...args, `--cache-dir=${debs}`, 'bookworm', rootfs, ctx.mirror], `debootstrap for ${spec.ref}`),
  );
  for (const pkg of spec.hostDebs) await putHostPackage(pkg, ctx, rootfs, spec.ref);
  await cache?.save(rootfs, '.', 'base');
}

/**
 * A folder kept in the build cache as a tar, `<cacheDir>/<kind>/<ref>-<key>.tar` with the key hashed from `keyParts`;
 * one per image and kind (writing a new key's tar removes the older ones).
 */
function tarCache(ctx: BuildContext, ref: string, kind: string, keyParts: ReadonlyArray<string | Buffer>) {
  const hash = createHash('sha256');
  for (const part of keyParts) hash.update(part);
  const dir = join(ctx.cacheDir, kind);
  const prefix = `${ref.replace(/[^a-z0-9.-]/g, '_')}-`;
  const tar = join(dir, `${prefix}${hash.digest('hex').slice(0, 16)}.tar`);
  return {
    /** Unpacks the cached tar into `dst`; false when there is none. */
    async restore(dst: string, what: string): Promise<boolean> {
      if (!existsSync(tar)) return false;
      ctx.log(`${ref}: ${what} from the cache (${tar})`);
      await run('tar', ['--numeric-owner', '-xpf', tar, '-C', dst], `${ref}: unpack cached ${what}`);
      return true;
    },
    /** Keeps `entry` of `srcDir` as this key's tar. */
    async save(srcDir: string, entry: string, what: string): Promise<void> {
      mkdirSync(dir, { recursive: true });
      for (const old of readdirSync(dir)) if (old.startsWith(prefix)) rmSync(join(dir, old), { force: true });
      await run('tar', ['--numeric-owner', '-cf', `${tar}.partial`, '-C', srcDir, entry], `${ref}: cache ${what}`);
      renameSync(`${tar}.partial`, tar);
    },
  };
}

/**
 * debootstrap's package cache for one build: a private folder holding hard links to the shared cache's .debs, so
 * builds that run side by side never write the same file (debootstrap checks, deletes and re-downloads a cached .deb
 * in place); what it downloaded is linked back into the shared cache for later builds.
 */
async function withDebCache<T>(cacheDir: string, use: (debs: string) => Promise<T>): Promise<T> {
  mkdirSync(cacheDir, { recursive: true });
  const own = mkdtempSync(join(cacheDir, '.build-'));
  const isDeb = (name: string): boolean => name.endsWith('.deb');
  const linkAll = (from: string, to: string): void => {
    for (const name of readdirSync(from).filter(isDeb)) {
      try {
        linkSync(join(from, name), join(to, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  };
  try {
    linkAll(cacheDir, own);
    const result = await use(own);
    linkAll(own, cacheDir);
    return result;
  } finally {
    rmSync(own, { recursive: true, force: true });
  }
}

/** Runs a build step without blocking the loop (images build side by side); on failure, the output's last lines. */
function run(cmd: string, args: string[], what: string, cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new LoadscopeError('IMAGE_BUILD_FAILED', `${what} failed: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const lines = tail.trim().split('\n').slice(-15).join('\n');
      reject(new LoadscopeError('IMAGE_BUILD_FAILED', `${what} failed (exit ${code ?? signal}):\n${lines}`));
    });
  });
}

/** Enough of a failed step's output for its last 15 lines. */
const OUTPUT_TAIL_CHARS = 8_192;

function spawnTar(dir: string, paths: string[] = ['.']): Readable {
  const child = spawn('tar', ['--numeric-owner', '-C', dir, '-c', '--', ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

/**
 * compose/ is sent whole, as before; a wider context (the repo root, for loadscope/loadscope) sends only the
 * Dockerfile and the hashed inputs — never node_modules or .git.
 */
export function dockerContextPaths(spec: ImageSpec): string[] {
  if (spec.context === '.') return ['.'];
  return [relative(spec.contextDir, join(spec.dir, 'Dockerfile')), ...spec.files.map((f) => f.src), ...spec.dirs.map((d) => d.src)];
}

/**
 * A package exactly as the host has it, into the rootfs: its .deb from `apt-get download pkg=version` when an apt
 * source carries that version (kept in the cache dir), else the installed files themselves, copied as `dpkg-query -L`
 * lists them (here the Node 20 source is not enabled, only the package is installed). Either way the files are only
 * unpacked, not registered with the image's dpkg, as `dpkg -x` does. (A `dpkg-repack` of the installed package gave
 * the same files after about 40 s of gzip on the critical path of a fresh machine's bootstrap; the copy takes a few.)
 */
async function putHostPackage(pkg: string, ctx: BuildContext, rootfs: string, ref: string): Promise<void> {
  const version = hostPackageVersion(pkg);
  // Without it (e.g. Node from a tarball) the Dockerfile builder is the way: LOADSCOPE_IMAGE_BUILDER=dockerfile.
  if (!version) throw new LoadscopeError('IMAGE_BUILD_FAILED', `${pkg} is not installed as a Debian package here: the offline builder copies the host's`);
  const deb = await hostDeb(pkg, version, ctx);
  if (deb) return run('dpkg', ['-x', deb, rootfs], `${ref}: unpack ${pkg}`);
  ctx.log(`${ref}: ${pkg} ${version} is in no enabled apt source: copying the installed files`);
  await copyInstalledPackage(pkg, rootfs, ref);
}

/** The files of an installed package, as `dpkg-query -L` lists them, copied from / into `rootfs`. */
export async function copyInstalledPackage(pkg: string, rootfs: string, ref: string): Promise<void> {
  const listed = spawnSync('dpkg-query', ['-L', pkg], { encoding: 'utf8' });
  const paths = listed.status === 0 ? listed.stdout.split('\n').filter((p) => p.startsWith('/') && p !== '/.') : [];
  if (paths.length === 0) throw new LoadscopeError('IMAGE_BUILD_FAILED', `dpkg-query -L ${pkg} listed no files`);
  const list = join(rootfs, `.loadscope-${pkg}.files`);
  writeFileSync(list, paths.map((p) => p.slice(1)).join('\n') + '\n');
  try {
    // Directories are listed themselves (--no-recursion); bookworm's merged-/usr symlinks stay symlinks. A listed
    // file gone from the host (here: npm updated in place) is left out, as dpkg-repack did.
    const copy = 'tar -C / --no-recursion --ignore-failed-read --verbatim-files-from -T "$1" -cf - | tar -xpf - --keep-directory-symlink -C "$2"';
    await run('bash', ['-o', 'pipefail', '-c', copy, 'copy', list, rootfs], `${ref}: copy the installed ${pkg}`);
  } finally {
    rmSync(list, { force: true });
  }
}

/** The package's .deb from an apt source, kept in the cache dir; undefined when no enabled source carries `version`. */
async function downloadHostDeb(pkg: string, version: string, ctx: BuildContext): Promise<string | undefined> {
  const dir = join(ctx.cacheDir, 'host-debs');
  mkdirSync(dir, { recursive: true });
  const cached = (): string | undefined => readdirSync(dir).find((n) => n.startsWith(`${pkg}_${version.replace(/^\d+:/, '')}_`) && n.endsWith('.deb'));
  if (!cached()) await run('apt-get', ['download', `${pkg}=${version}`], `apt-get download ${pkg}`, dir).catch(() => undefined);
  const name = cached();
  return name ? join(dir, name) : undefined;
}

/** One download at a time: two builds needing the same package would download it into one folder. */
let hostDebsBusy: Promise<unknown> = Promise.resolve();
function hostDeb(pkg: string, version: string, ctx: BuildContext): Promise<string | undefined> {
  const next = hostDebsBusy.then(() => downloadHostDeb(pkg, version, ctx));
  hostDebsBusy = next.catch(() => undefined);
  return next;
}

/**
 * Production dependencies from the lockfile, installed on the host (same Node, same libc) into the image folder. An
 * onDemand image rebuilds with every change to src/, its lockfile rarely: the installed tree is kept in the cache as a
 * tar keyed by package.json, the lockfile and the Node version (`npm ci`'s 6–10 s saved per rebuild; README, The two
 * commands).
 */
async function npmProductionInstall(spec: ImageSpec, ctx: BuildContext, dstDir: string): Promise<void> {
  const inputs = ['package.json', 'package-lock.json'];
  const cache = tarCache(ctx, spec.ref, 'npm-production', [process.version, ...inputs.map((f) => readFileSync(join(spec.contextDir, f)))]);
  mkdirSync(dstDir, { recursive: true });
  if (await cache.restore(dstDir, 'production dependencies')) return;
  const work = mkdtempSync(join(tmpdir(), 'loadscope-npm-'));
  try {
    for (const f of inputs) cpSync(join(spec.contextDir, f), join(work, f));
    const args = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'];
    await run('npm', args, `${spec.ref}: npm ${args.join(' ')}`, work);
    cpSync(join(work, 'node_modules'), join(dstDir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    await cache.save(work, 'node_modules', 'production dependencies');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The bookworm mirror from the apt sources (deb822 .sources first, then one-line .list), never hard-coded:
 * the machine's mirror is the one that answers.
 */
export function mirrorFromAptSources(files: Array<{ name: string; text: string }>, suite = 'bookworm'): string | undefined {
  for (const { name, text } of files) {
    if (!name.endsWith('.sources')) continue;
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of stanza.split('\n')) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
      }
      if (fields.get('enabled') === 'no' || !(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
      if ((fields.get('suites') ?? '').split(/\s+/).includes(suite)) {
        const uri = fields.get('uris')?.split(/\s+/)[0];
        if (uri) return uri;
      }
    }
  }
  for (const { name, text } of files) {
    if (!name.endsWith('.list')) continue;
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (m?.[1] && m[2] === suite) return m[1];
    }
  }
  return undefined;
}

export function readAptSources(root = '/etc/apt'): Array<{ name: string; text: string }> {
  const files: Array<{ name: string; text: string }> = [];
  const main = join(root, 'sources.list');
  if (existsSync(main)) files.push({ name: main, text: readFileSync(main, 'utf8') });
  const dir = join(root, 'sources.list.d');
  if (existsSync(dir)) {
    for (const n of readdirSync(dir).sort()) {
      if (n.endsWith('.sources') || n.endsWith('.list')) files.push({ name: join(dir, n), text: readFileSync(join(dir, n), 'utf8') });
    }
  }
  return files;
}
