// Ensures the images under compose/images exist with the hash of its current inputs; rebuilds only on change.
import { LoadscopeError } from '../../common/errors.ts';
import { aptInstall, which } from '../engine/engine.ts';
import { LABEL_INPUTS_HASH } from '../labels.ts';
import type { ContainerRuntime } from '../runtime/port.ts';
import { buildImage, mirrorFromAptSources, readAptSources, type BuilderKind } from './builders.ts';
import { loadImageSpecs, type ImageSpec } from './spec.ts';

export interface EnsureImagesOptions {
  runtime: ContainerRuntime;
  composeDir: string;
  /** LOADSCOPE_IMAGE_BUILDER: offline | dockerfile | auto (default). */
  builder: BuilderKind | 'auto';
  cacheDir: string;
  log: (msg: string) => void;
  /** Only these images (e.g. the worker image for `--engine docker`); default: every image not marked onDemand. */
  refs?: string[];
  /** The default images and these onDemand ones too (the bootstrap's `--also-images`), all built side by side. */
  alsoRefs?: string[];
}

/** The image-build settings from the environment: one reading for the bootstrap, `--engine docker` and the tests. */
export function imageBuildSettings(env: Readonly<Record<string, string | undefined>>): { builder: BuilderKind | 'auto'; cacheDir: string } {
  const builder = env.LOADSCOPE_IMAGE_BUILDER ?? 'auto';
  if (builder !== 'auto' && builder !== 'offline' && builder !== 'dockerfile') {
    throw new LoadscopeError('USAGE', `LOADSCOPE_IMAGE_BUILDER must be auto, offline or dockerfile, not "${builder}"`);
  }
  return { builder, cacheDir: env.LOADSCOPE_DEBOOTSTRAP_CACHE ?? '/var/cache/loadscope/debootstrap' };
}

export interface EnsuredImage {
  ref: string;
  built: boolean;
  builder?: BuilderKind;
  durationMs: number;
}

export async function ensureImages(opts: EnsureImagesOptions): Promise<EnsuredImage[]> {
  const all = loadImageSpecs(opts.composeDir);
  const wanted = (ref: string, onDemand: boolean): boolean => (opts.refs ? opts.refs.includes(ref) : !onDemand || (opts.alsoRefs ?? []).includes(ref));
  const specs = all.filter((s) => wanted(s.ref, s.onDemand));
  const unknown = [...(opts.refs ?? []), ...(opts.alsoRefs ?? [])].filter((ref) => !all.some((s) => s.ref === ref));
  if (unknown.length > 0) throw new LoadscopeError('IMAGE_BUILD_FAILED', `no compose/images/*/image.json builds ${unknown.join(', ')}`);
  const stale: { spec: ImageSpec; present: boolean }[] = [];
  const results = new Map<string, EnsuredImage>();
  for (const spec of specs) {
    const existing = await opts.runtime.imageInfo(spec.ref);
    if (existing?.labels[LABEL_INPUTS_HASH] === spec.inputsHash) results.set(spec.ref, { ref: spec.ref, built: false, durationMs: 0 });
    else stale.push({ spec, present: existing !== undefined });
  }
  if (stale.length > 0) {
    const kind = await chooseBuilder(opts);
    const mirror = kind === 'offline' ? mirrorFromAptSources(readAptSources()) : '';
    if (mirror === undefined)
      throw new LoadscopeError('IMAGE_BUILD_FAILED', 'no bookworm mirror found in /etc/apt/sources.list{,.d}: the offline builder needs one');
    // Side by side: a build runs one process at a time (debootstrap, dpkg, tar) and leaves the other core idle for
    // much of it; the three images of `npm test` took 136 s one after the other.
    const settled = await Promise.allSettled(
      stale.map(async ({ spec, present }) => {
        const startedMs = Date.now();
        opts.log(`building ${spec.ref} (${kind} builder; ${present ? 'inputs changed' : 'not present'})…`);
        await buildImage(kind, spec, { runtime: opts.runtime, mirror, cacheDir: opts.cacheDir, log: opts.log });
        const durationMs = Date.now() - startedMs;
        opts.log(`built ${spec.ref} in ${(durationMs / 1000).toFixed(1)} s`);
        results.set(spec.ref, { ref: spec.ref, built: true, builder: kind, durationMs });
      }),
    );
    // every build has ended (none left writing) before the first failure is reported
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
  return specs.map((s) => results.get(s.ref)!);
}

/**
 * Without a registry nothing can be pulled, so the Dockerfile path is taken only when forced or when its base
 * image is already in the engine; probing a registry over the network is not something we do.
 */
async function chooseBuilder(opts: EnsureImagesOptions): Promise<BuilderKind> {
  if (opts.builder === 'dockerfile') return 'dockerfile';
  if (opts.builder === 'auto' && (await opts.runtime.imageInfo('debian:bookworm-slim'))) return 'dockerfile';
  if (!which('debootstrap')) {
    opts.log('installing debootstrap from apt…');
    aptInstall(['debootstrap']);
  }
  return 'offline';
}
