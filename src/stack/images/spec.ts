// Image specs (compose/images/<name>/image.json) and the hash of everything an image is built from.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../common/errors.ts';

const specSchema = z
  .object({
    ref: z.string().regex(/^[a-z0-9./_-]+:[\w.-]+$/),
    packages: z.array(z.string().min(1)),
    files: z
      .array(
        z
          .object({
            src: z.string(),
            dst: z.string().startsWith('/'),
            mode: z
              .string()
              .regex(/^0?[0-7]{3,4}$/)
              .optional(),
          })
          .strict(),
      )
      .default([]),
    dirs: z.array(z.object({ src: z.string(), dst: z.string().startsWith('/') }).strict()).default([]),
    run: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    entrypoint: z.array(z.string()).default([]),
    cmd: z.array(z.string()).default([]),
    workdir: z.string().default('/'),
    user: z.string().default(''),
    /** Build context relative to compose/ (default: compose/ itself); "..": the repo root, for the loadscope image. */
    context: z.string().default('.'),
    /** Debian packages put in as the host has them installed (same version), e.g. nodejs 20 where bookworm has 18. */
    hostDebs: z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]+$/)).default([]),
    /** Image folder that gets `npm ci --omit=dev` of the context's package.json + package-lock.json (both must be inputs). */
    npmProductionDir: z.string().startsWith('/').optional(),
    /** Built when a run or test asks for it (ensureImages `refs`), not by every bootstrap: its inputs change with src/. */
    onDemand: z.boolean().default(false),
  })
  .strict();

export type ImageSpec = z.infer<typeof specSchema> & {
  /** Folder holding image.json and the Dockerfile. */
  dir: string;
  /** compose/ (or the spec's `context` under it) — the root that src paths and the Docker build context are relative to. */
  contextDir: string;
  /** sha256 over the spec, the Dockerfile and every input file. */
  inputsHash: string;
};

// Bump when the builders change in a way that changes the images they produce.
const BUILDER_VERSION = '1';

export function loadImageSpecs(composeDir: string): ImageSpec[] {
  const imagesDir = join(composeDir, 'images');
  return readdirSync(imagesDir)
    .filter((name) => existsSync(join(imagesDir, name, 'image.json')))
    .sort()
    .map((name) => loadImageSpec(join(imagesDir, name), composeDir));
}

/** `composeDir`: what `context` in image.json is relative to. */
export function loadImageSpec(dir: string, composeDir: string): ImageSpec {
  const path = join(dir, 'image.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(path, [{ path: '(json)', message: err instanceof Error ? err.message : String(err) }]);
  }
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      path,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const spec = parsed.data;
  const contextDir = resolve(composeDir, spec.context);
  const hash = createHash('sha256');
  hash.update(`builder:${BUILDER_VERSION}\n`);
  hash.update(readFileSync(path));
  const dockerfile = join(dir, 'Dockerfile');
  if (existsSync(dockerfile)) hash.update(readFileSync(dockerfile));
  const inputs = [...spec.files.map((f) => f.src), ...spec.dirs.map((d) => d.src)];
  for (const src of inputs) {
    for (const file of listFiles(join(contextDir, src))) {
      hash.update(`${relative(contextDir, file)}\n`);
      hash.update(readFileSync(file));
    }
  }
  // Only specs with hostDebs hash a version: the other images' hashes (and so their builds) stay as they were.
  for (const pkg of spec.hostDebs) hash.update(`hostDeb:${pkg}=${hostPackageVersion(pkg) ?? '(not installed)'}\n`);
  return { ...spec, dir, contextDir, inputsHash: hash.digest('hex') };
}

/** The installed version of a Debian package on this host, undefined when it is not installed (dpkg-query says so). */
export function hostPackageVersion(pkg: string): string | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

function listFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  return readdirSync(path)
    .filter((n) => n !== '__pycache__')
    .sort()
    .flatMap((n) => listFiles(join(path, n)));
}

/** Dockerfile-style instructions for `docker import --change`. */
export function importChanges(spec: ImageSpec, labels: Record<string, string>): string[] {
  const changes = Object.entries(spec.env).map(([k, v]) => `ENV ${k}=${v}`);
  if (spec.entrypoint.length > 0) changes.push(`ENTRYPOINT ${JSON.stringify(spec.entrypoint)}`);
  if (spec.cmd.length > 0) changes.push(`CMD ${JSON.stringify(spec.cmd)}`);
  if (spec.workdir) changes.push(`WORKDIR ${spec.workdir}`);
  if (spec.user) changes.push(`USER ${spec.user}`);
  for (const [k, v] of Object.entries(labels)) changes.push(`LABEL ${k}=${v}`);
  return changes;
}
