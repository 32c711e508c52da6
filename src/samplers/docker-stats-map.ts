// Pure mapping from a raw Docker stats object (cgroup v1 or v2) to a ContainerSample.
// Formulas follow docker/cli stats_helpers.go and cAdvisor (docs/METRICS.md: container_cpu_usage, container_memory_working_set).
import type { ContainerSample } from './types.ts';

type Raw = Record<string, unknown>;

export interface ContainerLimits {
  /** 0 or undefined = unlimited. */
  memoryLimitBytes?: number;
  cpuLimitCores?: number;
}

export interface MapContext {
  service: string;
  containerId: string;
  limits: ContainerLimits;
  restarts: number;
  oomKills: number;
  /** Previous raw object of the same container (consecutive stream samples), for Δ-based CPU and throttling. */
  previous?: Raw;
  nowMs: number;
}

function obj(v: unknown): Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {};
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function n0(v: unknown): number {
  return num(v) ?? 0;
}

/** Engine timestamps carry nanoseconds; Date.parse keeps ms, which is enough at 1 Hz. Zero time → undefined. */
export function parseReadMs(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

export function detectCgroup(raw: Raw): 'v1' | 'v2' {
  const st = obj(obj(raw.memory_stats).stats);
  // v1 exposes total_* keys; v2 has anon/file and no total_*.
  return 'total_inactive_file' in st || 'total_rss' in st ? 'v1' : 'v2';
}

/** usage − inactive_file (v1: total_inactive_file), floored at 0 — docker CLI ≥ 20.10 and cAdvisor. */
export function workingSetBytes(memoryStats: Raw): number {
  const usage = n0(memoryStats.usage);
  const st = obj(memoryStats.stats);
  const v1 = num(st.total_inactive_file);
  if (v1 !== undefined) return v1 < usage ? usage - v1 : 0;
  const v2 = num(st.inactive_file);
  if (v2 !== undefined) return v2 < usage ? usage - v2 : 0;
  return usage;
}

function cpuCoresFrom(raw: Raw, previous: Raw | undefined): number | null {
  const cur = obj(raw.cpu_stats);
  const curTotal = num(obj(cur.cpu_usage).total_usage);
  const readMs = parseReadMs(raw.read);
  if (curTotal === undefined) return null;
  // Preferred: our own consecutive samples, Δcpu / Δwall (semconv container.cpu.usage definition).
  if (previous) {
    const prevTotal = num(obj(obj(previous.cpu_stats).cpu_usage).total_usage);
    const prevMs = parseReadMs(previous.read);
    if (prevTotal !== undefined && prevMs !== undefined && readMs !== undefined && readMs > prevMs && curTotal >= prevTotal) {
      return (curTotal - prevTotal) / ((readMs - prevMs) * 1e6);
    }
  }
  // Fallback: docker stats formula against precpu_stats (empty on the first object of a stream).
  const pre = obj(raw.precpu_stats);
  const cpuDelta = curTotal - n0(obj(pre.cpu_usage).total_usage);
  const sysDelta = n0(cur.system_cpu_usage) - n0(pre.system_cpu_usage);
  const percpu = obj(cur.cpu_usage).percpu_usage;
  const online = num(cur.online_cpus) ?? (Array.isArray(percpu) ? percpu.length : 0);
  if (num(pre.system_cpu_usage) === undefined || sysDelta <= 0 || cpuDelta < 0 || online === 0) return null;
  return (cpuDelta / sysDelta) * online;
}

function blkioBytes(raw: Raw): { read: number; write: number } {
  const entries = obj(raw.blkio_stats).io_service_bytes_recursive;
  let read = 0;
  let write = 0;
  if (!Array.isArray(entries)) return { read, write };
  for (const e of entries) {
    const op = String(obj(e).op ?? '').toLowerCase();
    const value = n0(obj(e).value);
    // v1 also has Sync/Async/Total/Discard rows that would double count.
    if (op === 'read') read += value;
    else if (op === 'write') write += value;
  }
  return { read, write };
}

function networkBytes(raw: Raw): { rx: number | null; tx: number | null } {
  if (raw.networks === undefined || raw.networks === null) return { rx: null, tx: null };
  let rx = 0;
  let tx = 0;
  for (const iface of Object.values(obj(raw.networks))) {
    rx += n0(obj(iface).rx_bytes);
    tx += n0(obj(iface).tx_bytes);
  }
  return { rx, tx };
}

/** Returns null for objects that carry no sample (container not running: zero read time, no cpu_stats). */
export function mapDockerStats(raw: Raw, ctx: MapContext): ContainerSample | null {
  const readMs = parseReadMs(raw.read);
  const cpu = obj(raw.cpu_stats);
  if (readMs === undefined || num(obj(cpu.cpu_usage).total_usage) === undefined) return null;
  const cgroup = detectCgroup(raw);
  const mem = obj(raw.memory_stats);
  const memStats = obj(mem.stats);
  const usage = n0(mem.usage);
  const workingSet = workingSetBytes(mem);
  const memLimit = ctx.limits.memoryLimitBytes && ctx.limits.memoryLimitBytes > 0 ? ctx.limits.memoryLimitBytes : null;
  const cpuLimit = ctx.limits.cpuLimitCores && ctx.limits.cpuLimitCores > 0 ? ctx.limits.cpuLimitCores : null;
  const cores = cpuCoresFrom(raw, ctx.previous);
  const thr = obj(cpu.throttling_data);
  const prevThr = ctx.previous ? obj(obj(ctx.previous.cpu_stats).throttling_data) : obj(obj(raw.precpu_stats).throttling_data);
  const dPeriods = n0(thr.periods) - n0(prevThr.periods);
  const dThrottled = n0(thr.throttled_periods) - n0(prevThr.throttled_periods);
  const hasPrevThr = num(prevThr.periods) !== undefined && num(prevThr.periods)! > 0;
  const net = networkBytes(raw);
  const blk = blkioBytes(raw);
  const rss = cgroup === 'v1' ? num(memStats.total_rss) : num(memStats.anon);
  const usageCpu = obj(cpu.cpu_usage);
  return {
    service: ctx.service,
    containerId: ctx.containerId,
    readMs,
    ageMs: Math.max(0, ctx.nowMs - readMs),
    cgroup,
    cpuCores: cores,
    cpuLimitUtilization: cores !== null && cpuLimit !== null ? cores / cpuLimit : null,
    cpuLimitCores: cpuLimit,
    cpuUserSeconds: n0(usageCpu.usage_in_usermode) / 1e9,
    cpuSystemSeconds: n0(usageCpu.usage_in_kernelmode) / 1e9,
    throttlingPeriods: n0(thr.periods),
    throttledPeriods: n0(thr.throttled_periods),
    throttledSeconds: n0(thr.throttled_time) / 1e9,
    throttledRatio: hasPrevThr && dPeriods > 0 && dThrottled >= 0 ? dThrottled / dPeriods : null,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: workingSet,
    memoryRssBytes: rss ?? null,
    memoryLimitBytes: memLimit,
    memoryAvailableBytes: memLimit !== null ? Math.max(0, memLimit - workingSet) : null,
    networkRxBytes: net.rx,
    networkTxBytes: net.tx,
    blockReadBytes: blk.read,
    blockWriteBytes: blk.write,
    pids: num(obj(raw.pids_stats).current) ?? null,
    restarts: ctx.restarts,
    oomKills: ctx.oomKills,
  };
}
