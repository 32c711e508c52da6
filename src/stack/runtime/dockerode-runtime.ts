// The only module that imports dockerode: maps the Engine API to our ContainerRuntime port.
import Docker from 'dockerode';
import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { realClock } from '../../common/clock.ts';
import { EngineUnavailableError, LoadscopeError } from '../../common/errors.ts';
import type {
  BuildImageOptions,
  ContainerEvent,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  EngineInfo,
  HealthState,
  ImageInfo,
  ImportImageOptions,
  LogLine,
} from './port.ts';

/** dockerode's streams are typed as the old NodeJS.ReadableStream; they are Readables, and an old-style one is wrapped. */
const readable = (s: NodeJS.ReadableStream): Readable => (s instanceof Readable ? s : new Readable().wrap(s));

export interface DockerEndpoint {
  /** unix socket path, or undefined with host/port for tcp */
  socketPath?: string;
  host?: string;
  port?: number;
}

/** DOCKER_HOST (unix:// or tcp://) else /var/run/docker.sock. The caller passes env in. */
export function endpointFromEnv(dockerHost: string | undefined): DockerEndpoint {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375) };
}

const NS_PER_MS = 1_000_000;
/**
 * How long remove() waits for a removal another client started (409 "removal already in progress": a neighbour
 * run's orphan reaper, a concurrent teardown). Force-removing a stopped container takes well under a second; on a busy
 * engine seconds. Until it is gone, `loadscope down` would report a container removed that is still there.
 */
const REMOVAL_IN_PROGRESS_WAIT_MS = 30_000;
const REMOVAL_POLL_MS = 100;

export class DockerodeRuntime implements ContainerRuntime {
  private readonly docker: Docker;

  constructor(endpoint: DockerEndpoint) {
    this.docker = new Docker(endpoint.socketPath ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port });
  }

  async ping(): Promise<EngineInfo> {
    try {
      const version = await this.docker.version();
      const info = (await this.docker.info()) as { CgroupVersion?: string };
      return { serverVersion: version.Version, apiVersion: version.ApiVersion, cgroupVersion: info.CgroupVersion ?? '1' };
    } catch (err) {
      throw new EngineUnavailableError(`Docker engine not reachable: ${errMessage(err)}`, { cause: err });
    }
  }

  async imageInfo(ref: string): Promise<ImageInfo | undefined> {
    try {
      const img = await this.docker.getImage(ref).inspect();
      return { id: img.Id, labels: img.Config?.Labels ?? {} };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async importImage(rootfsTar: Readable, options: ImportImageOptions): Promise<void> {
    const [repo, tag] = splitRef(options.ref);
    const stream = await this.docker.importImage(rootfsTar, { repo, tag, changes: options.changes });
    await this.followProgress(readable(stream), `import ${options.ref}`);
  }

  async buildImage(contextTar: Readable, options: BuildImageOptions): Promise<void> {
    const stream = await this.docker.buildImage(contextTar, {
      t: options.ref,
      dockerfile: options.dockerfile,
      labels: options.labels,
      rm: true,
      forcerm: true,
    });
    await this.followProgress(readable(stream), `build ${options.ref}`);
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.docker.getImage(ref).remove({ force: true });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async create(spec: ContainerSpec): Promise<string> {
    const hc = spec.healthcheck;
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      ...(hc
        ? {
            Healthcheck: {
              Test: hc.test,
              Interval: hc.intervalMs * NS_PER_MS,
              Timeout: hc.timeoutMs * NS_PER_MS,
              Retries: hc.retries,
              StartPeriod: hc.startPeriodMs * NS_PER_MS,
            },
          }
        : {}),
      HostConfig: {
        NetworkMode: spec.networkMode,
        Binds: spec.binds,
        ...(spec.memoryBytes ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
        ...(spec.nanoCpus ? { NanoCpus: spec.nanoCpus } : {}),
      },
    });
    return container.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  async signal(id: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (err) {
      // 409: not running; 404: gone. Either way nothing is left to signal.
      const status = statusOf(err);
      if (status !== 409 && status !== 404) throw err;
    }
  }

  async stop(id: string, timeoutS: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutS });
    } catch (err) {
      // 304: already stopped; 404: gone. Both mean "stopped".
      const status = statusOf(err);
      if (status !== 304 && status !== 404) throw err;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return;
      if (status !== 409) throw err;
      // "removal already in progress": removed means gone, so wait for the other client's removal to finish
      await this.untilGone(id, err);
    }
  }

  private async untilGone(id: string, cause: unknown): Promise<void> {
    const deadline = realClock.monotonicMs() + REMOVAL_IN_PROGRESS_WAIT_MS;
    while ((await this.inspect(id)) !== undefined) {
      if (realClock.monotonicMs() >= deadline)
        throw new LoadscopeError(
          'STACK_TEARDOWN_FAILED',
          `container ${id.slice(0, 12)}: its removal by another client did not finish within ${REMOVAL_IN_PROGRESS_WAIT_MS / 1000} s`,
          { cause },
        );
      await realClock.sleep(REMOVAL_POLL_MS);
    }
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      return mapInspect(await this.docker.getContainer(id).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const summaries = await this.docker.listContainers({ all: true, filters: { label: labelFilters(labels) } });
    const infos = await Promise.all(summaries.map((s) => this.inspect(s.Id)));
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  }

  async *logs(id: string, signal: AbortSignal): AsyncIterable<LogLine> {
    const raw = readable(await this.docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true, abortSignal: signal }));
    const out = new PassThrough();
    const err = new PassThrough();
    this.docker.modem.demuxStream(raw, out, err);
    const queue: LogLine[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const push = (stream: LogLine['stream']) => (line: string) => {
      queue.push({ stream, line });
      wake?.();
    };
    const rlOut = createInterface({ input: out });
    const rlErr = createInterface({ input: err });
    rlOut.on('line', push('stdout'));
    rlErr.on('line', push('stderr'));
    const finish = (): void => {
      ended = true;
      out.end();
      err.end();
      wake?.();
    };
    raw.on('end', finish);
    raw.on('close', finish);
    raw.on('error', finish);
    signal.addEventListener(
      'abort',
      () => {
        raw.destroy();
        finish();
      },
      { once: true },
    );
    try {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      raw.destroy();
      rlOut.close();
      rlErr.close();
    }
  }

  async logTail(id: string, n: number): Promise<string[]> {
    try {
      const buf = await this.docker.getContainer(id).logs({ follow: false, stdout: true, stderr: true, tail: n });
      return demuxBuffer(buf).slice(-n);
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw err;
    }
  }

  async *events(labels: Record<string, string>, signal: AbortSignal): AsyncIterable<ContainerEvent> {
    // dockerode passes abortSignal on to the request for every call; its types declare it only on some option types
    const options: Docker.GetEventsOptions & { abortSignal: AbortSignal } = {
      filters: { type: ['container'], label: labelFilters(labels) },
      abortSignal: signal,
    };
    const stream = readable(await this.docker.getEvents(options));
    for await (const raw of ndjson(stream, signal)) {
      const e = raw as RawEvent;
      const attrs = e.Actor?.Attributes ?? {};
      const { name = '', exitCode, ...rest } = attrs;
      yield {
        action: (e.Action ?? e.status ?? '').split(':')[0] ?? '',
        id: e.Actor?.ID ?? e.id ?? '',
        name,
        labels: rest,
        ...(exitCode !== undefined ? { exitCode: Number(exitCode) } : {}),
        timeMs: e.timeNano ? Math.round(e.timeNano / NS_PER_MS) : (e.time ?? 0) * 1000,
      };
    }
  }

  async *stats(id: string, signal: AbortSignal): AsyncIterable<Record<string, unknown>> {
    const options: { stream: true; abortSignal: AbortSignal } = { stream: true, abortSignal: signal };
    const stream = readable(await this.docker.getContainer(id).stats(options));
    yield* ndjson(stream, signal);
  }

  private followProgress(stream: Readable, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        if (err) return reject(new LoadscopeError('IMAGE_BUILD_FAILED', `${what}: ${err.message}`, { cause: err }));
        const failed = output.find((o) => o.error);
        if (failed) return reject(new LoadscopeError('IMAGE_BUILD_FAILED', `${what}: ${failed.errorDetail?.message ?? failed.error}`));
        resolve();
      });
    });
  }
}

/** One JSON object per line of an engine stream (events, stats), until the stream ends or the signal aborts. */
async function* ndjson(stream: Readable, signal: AbortSignal): AsyncIterable<Record<string, unknown>> {
  const rl = createInterface({ input: stream });
  // A destroyed stream emits 'close', not 'end', so readline would wait forever: close it too.
  const onAbort = (): void => {
    stream.destroy();
    rl.close();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of rl) {
      if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    rl.close();
    stream.destroy();
  }
}

interface RawEvent {
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

function mapInspect(c: Docker.ContainerInspectInfo): ContainerInfo {
  const host = c.HostConfig as { Memory?: number; NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number; NetworkMode?: string };
  const cpuFromQuota = host.CpuQuota && host.CpuPeriod ? host.CpuQuota / host.CpuPeriod : 0;
  const health = (c.State.Health?.Status ?? 'none') as HealthState;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    labels: c.Config.Labels ?? {},
    state: c.State.Status as ContainerState,
    health,
    exitCode: c.State.ExitCode,
    oomKilled: c.State.OOMKilled,
    restartCount: c.RestartCount,
    memoryLimitBytes: host.Memory ?? 0,
    cpuLimitCores: host.NanoCpus ? host.NanoCpus / 1e9 : cpuFromQuota,
    networkMode: host.NetworkMode ?? '',
    pid: c.State.Pid ?? 0,
    env: Object.fromEntries((c.Config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
}

function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}

function splitRef(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, 'latest'];
}

/** Non-TTY logs come as frames: 8-byte header (stream, 0,0,0, size BE) + payload. */
function demuxBuffer(buf: Buffer): string[] {
  const chunks: string[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32BE(off + 4);
    chunks.push(buf.subarray(off + 8, off + 8 + size).toString('utf8'));
    off += 8 + size;
  }
  return chunks
    .join('')
    .split('\n')
    .filter((l) => l.length > 0);
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'statusCode' in err ? Number((err as { statusCode: unknown }).statusCode) : undefined;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
