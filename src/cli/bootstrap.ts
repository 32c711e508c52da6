// Second half of the bootstrap: a Docker engine that answers, the images, and the Debian tools a command needs.
import { join } from 'node:path';
import { LoadscopeError } from '../common/errors.ts';
import { ensureEngine, aptInstall, which } from '../stack/engine/engine.ts';
import { ensureImages, imageBuildSettings } from '../stack/images/ensure.ts';
import { exitCodeFor } from './exit-codes.ts';

const log = (msg: string): void => {
  process.stderr.write(`loadscope bootstrap: ${msg}\n`);
};

/** The comma-separated values after `flag`, or none. */
function listArg(args: readonly string[], flag: string): string[] {
  const value = args[args.indexOf(flag) + 1];
  return args.includes(flag) && value ? value.split(',').filter(Boolean) : [];
}

/**
 * Args: `--tools a,b` Debian packages whose binaries a command needs (binary name = package name unless `pkg:bin`);
 * `--also-images r1,r2` images built on demand otherwise (the worker image of `--engine docker`), built here too so a
 * build does not run beside whatever needs them (`npm test`: the Docker worker tests, and a multi-minute build would be
 * noise on the latency-measuring tests next to them).
 */
export async function runBootstrap(args: string[], root: string): Promise<number> {
  try {
    const started = Date.now();
    const tools = listArg(args, '--tools');
    const alsoImages = listArg(args, '--also-images');
    const missing = tools.filter((t) => !which(t.split(':')[1] ?? t)).map((t) => t.split(':')[0] ?? t);
    if (missing.length > 0) {
      if (process.getuid?.() !== 0)
        throw new LoadscopeError('ENGINE_UNAVAILABLE', `missing tools: ${missing.join(', ')} (apt-get install ${missing.join(' ')})`);
      log(`installing ${missing.join(', ')} from apt…`);
      aptInstall(missing);
    }
    const engine = await ensureEngine({
      dockerHost: process.env.DOCKER_HOST,
      logPath: process.env.LOADSCOPE_DOCKERD_LOG ?? '/var/log/loadscope/dockerd.log',
      isRoot: process.getuid?.() === 0,
      log,
    });
    if (engine.started) log(`engine ${engine.info.serverVersion} (API ${engine.info.apiVersion}) started`);
    const images = { runtime: engine.runtime, composeDir: join(root, 'compose'), ...imageBuildSettings(process.env), log };
    await ensureImages({ ...images, alsoRefs: alsoImages });
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    return exitCodeFor(err);
  }
}
