// The container runtime port. Only dockerode-runtime.ts implements it against the Docker Engine API;
// fakes implement it for unit tests. No dockerode type crosses this boundary.
import type { Readable } from 'node:stream';

export interface HealthcheckSpec {
  /** Docker form: ["CMD", ...] or ["CMD-SHELL", "..."]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface ContainerSpec {
  name: string;
  image: string;
  entrypoint?: string[];
  cmd?: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  /** Always "host" for loadscope stacks: no bridge networks. */
  networkMode: string;
  healthcheck?: HealthcheckSpec;
  memoryBytes?: number;
  nanoCpus?: number;
  /** Docker bind/volume strings "src:dst[:ro]". */
  binds: string[];
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type HealthState = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  health: HealthState;
  exitCode: number;
  oomKilled: boolean;
  restartCount: number;
  /** From HostConfig: bytes, 0 when unlimited. */
  memoryLimitBytes: number;
  /** CPU limit in cores (NanoCpus, else CpuQuota/CpuPeriod), 0 when unlimited. */
  cpuLimitCores: number;
  /** The container's first process as this host's /proc sees it (State.Pid); 0 when not running. */
  pid?: number;
  /** HostConfig.NetworkMode: "host" for everything loadscope creates. */
  networkMode: string;
  /** The container's environment (the image's merged with the spec's). */
  env: Record<string, string>;
}

export interface ContainerEvent {
  /** die, oom, start, restart, kill, stop, destroy, health_status, ... */
  action: string;
  id: string;
  name: string;
  labels: Record<string, string>;
  exitCode?: number;
  /** Engine time in ms since epoch. */
  timeMs: number;
}

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
}

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  cgroupVersion: string;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface ImportImageOptions {
  /** "repo:tag" */
  ref: string;
  /** Dockerfile instructions applied on import: ENTRYPOINT, ENV, LABEL, CMD, WORKDIR, USER. */
  changes: string[];
}

export interface BuildImageOptions {
  ref: string;
  dockerfile: string;
  labels: Record<string, string>;
}

export interface ContainerRuntime {
  ping(): Promise<EngineInfo>;
  imageInfo(ref: string): Promise<ImageInfo | undefined>;
  /** Imports a root filesystem tar stream as an image. */
  importImage(rootfsTar: Readable, options: ImportImageOptions): Promise<void>;
  /** Builds from a context tar stream with a Dockerfile (needs a registry for FROM). */
  buildImage(contextTar: Readable, options: BuildImageOptions): Promise<void>;
  removeImage(ref: string): Promise<void>;
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  stop(id: string, timeoutS: number): Promise<void>;
  /** Sends the signal to the container's main process at once (docker kill); a container not running is no error. */
  signal(id: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Force-removes with volumes and returns once it is gone: already gone, or being removed by another client (then waited for), is no error. */
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInfo | undefined>;
  /** Containers (running or not) carrying every given label; value "" matches any value. */
  list(labels: Record<string, string>): Promise<ContainerInfo[]>;
  /** Follows the container's log from its start until the signal aborts or the container ends. */
  logs(id: string, signal: AbortSignal): AsyncIterable<LogLine>;
  /** Last n log lines (stdout and stderr interleaved). */
  logTail(id: string, n: number): Promise<string[]>;
  /** Container events for containers carrying the labels, until the signal aborts. */
  events(labels: Record<string, string>, signal: AbortSignal): AsyncIterable<ContainerEvent>;
  /** Raw Docker stats objects, one per second, until the signal aborts (stream=true). */
  stats(id: string, signal: AbortSignal): AsyncIterable<Record<string, unknown>>;
}
