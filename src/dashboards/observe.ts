// Groundwork for `loadscope run --observe`: which observability images (compose/observability.yml) are already
// in the engine. Nothing is pulled or started here; the lead wires starting them into `run`.
import { loadComposeFile } from '../stack/compose/parse.ts';
import type { ContainerRuntime } from '../stack/runtime/port.ts';

export interface ObserveImage {
  service: string;
  image: string;
  present: boolean;
}

export interface ObserveReadiness {
  images: ObserveImage[];
  /** True when every image is present, so `up` needs no registry. */
  ready: boolean;
  missing: string[];
}

/** Reads the compose file with loadscope's own reader and asks the runtime about each service's image. */
export async function observabilityImages(
  runtime: ContainerRuntime,
  composePath: string,
  env: Record<string, string | undefined> = process.env,
): Promise<ObserveReadiness> {
  const project = loadComposeFile(composePath, env);
  const images = await Promise.all(
    project.services.map(async (s) => ({ service: s.name, image: s.image, present: (await runtime.imageInfo(s.image)) !== undefined })),
  );
  const missing = images.filter((i) => !i.present).map((i) => i.image);
  return { images, ready: missing.length === 0, missing };
}
