// Ensures the images under compose/images exist with the hash of its current inputs; rebuilds only on change.
import { LoadscopeError } from '../../common/errors.ts';
import { aptInstall, which } from '../engine/engine.ts';
import { LABEL_INPUTS_HASH } from '../labels.ts';
import type { ContainerRuntime } from '../runtime/port.ts';
import { buildImage, mirrorFromAptSources, readAptSources, type BuilderKind } from './builders.ts';
import { loadImageSpecs } from './spec.ts';

export interface EnsureImagesOptions {
  runtime: ContainerRuntime;
  composeDir: string;
  /** LOADSCOPE_IMAGE_BUILDER: offline | dockerfile | auto (default). */
  builder: BuilderKind | 'auto';
  cacheDir: string;
  log: (msg: string) => void;
  /** Only these images (e.g. the worker image for `--engine docker`); default: every image not marked onDemand. */
  refs?: string[];
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
  const specs = opts.refs ? all.filter((s) => opts.refs?.includes(s.ref)) : all.filter((s) => !s.onDemand);
  const unknown = (opts.refs ?? []).filter((ref) => !all.some((s) => s.ref === ref));
  if (unknown.length > 0) throw new LoadscopeError('IMAGE_BUILD_FAILED', `no compose/images/*/image.json builds ${unknown.join(', ')}`);
  const results: EnsuredImage[] = [];
  let kind: BuilderKind | undefined;
  for (const spec of specs) {
    const started = Date.now();
    const existing = await opts.runtime.imageInfo(spec.ref);
    if (existing?.labels[LABEL_INPUTS_HASH] === spec.inputsHash) {
      results.push({ ref: spec.ref, built: false, durationMs: Date.now() - started });
      continue;
    }
    kind ??= await chooseBuilder(opts);
    opts.log(`building ${spec.ref} (${kind} builder; ${existing ? 'inputs changed' : 'not present'})…`);
    if (kind === 'offline') {
      const mirror = mirrorFromAptSources(readAptSources());
      if (!mirror) throw new LoadscopeError('IMAGE_BUILD_FAILED', 'no bookworm mirror found in /etc/apt/sources.list{,.d}: the offline builder needs one');
      await buildImage(kind, spec, { runtime: opts.runtime, mirror, cacheDir: opts.cacheDir, log: opts.log });
    } else {
      await buildImage(kind, spec, { runtime: opts.runtime, mirror: '', cacheDir: opts.cacheDir, log: opts.log });
    }
    const durationMs = Date.now() - started;
    opts.log(`built ${spec.ref} in ${(durationMs / 1000).toFixed(1)} s`);
    results.push({ ref: spec.ref, built: true, builder: kind, durationMs });
  }
  return results;
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
