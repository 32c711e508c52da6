// Second half of the bootstrap: a Docker engine that answers, the images, and the Debian tools a command needs.
import { join } from 'node:path';
import { LoadscopeError } from '../common/errors.ts';
import { ensureEngine, aptInstall, which } from '../stack/engine/engine.ts';
import { ensureImages, imageBuildSettings } from '../stack/images/ensure.ts';
import { exitCodeFor } from './exit-codes.ts';

const log = (msg: string): void => {
  process.stderr.write(`loadscope bootstrap: ${msg}\n`);
};

/** Args: `--tools a,b` Debian packages whose binaries a command needs (binary name = package name unless `pkg:bin`). */
export async function runBootstrap(args: string[], root: string): Promise<number> {
  try {
    const started = Date.now();
    const toolsArg = args[args.indexOf('--tools') + 1];
    const tools = args.includes('--tools') && toolsArg ? toolsArg.split(',').filter(Boolean) : [];
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
    await ensureImages({
      runtime: engine.runtime,
      composeDir: join(root, 'compose'),
      ...imageBuildSettings(process.env),
      log,
    });
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    return exitCodeFor(err);
  }
}
