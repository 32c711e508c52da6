// Host + generator sampler. systeminformation calls take milliseconds to tens of ms (they spawn reads of
// /proc and sometimes processes), so they run in a background refresh; sample() only reads the cache
// and the cheap process.* counters.
import { readFile } from 'node:fs/promises';
import si from 'systeminformation';
import type { GeneratorSample, HostSample } from './types.ts';

export interface HostProbe {
  currentLoad(): Promise<{ currentLoad: number; cpus: unknown[] }>;
  mem(): Promise<{ total: number; active: number }>;
  /** The aggregate "cpu" line of /proc/stat (jiffies); undefined where there is none. */
  procStatCpu?(): Promise<number[] | undefined>;
}

/** systeminformation reports no iowait: read it from the kernel's own counters. */
async function procStatCpu(): Promise<number[] | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
    return line ? line.trim().split(/\s+/).slice(1).map(Number) : undefined;
  } catch {
    return undefined;
  }
}

/** The machine itself: systeminformation for load and memory, /proc/stat for iowait. */
const systemProbe: HostProbe = { currentLoad: () => si.currentLoad(), mem: () => si.mem(), procStatCpu };

export interface HostSamplerOptions {
  probe?: HostProbe;
  now?: () => number;
  /** Minimum time between systeminformation refreshes. */
  refreshIntervalMs?: number;
}

export class HostSampler {
  readonly name = 'host';
  private readonly probe: HostProbe;
  private readonly now: () => number;
  private host: HostSample = {
    cpuUtilization: null,
    cpuCount: null,
    iowaitRatio: null,
    memoryUsedBytes: null,
    memoryTotalBytes: null,
    refreshDurationMs: null,
  };
  private refreshing = false;
  private lastRefreshStartMs = -Infinity;
  private lastCpu?: { usage: NodeJS.CpuUsage; tMs: number };
  private lastStat?: number[];
  lastRefreshError?: Error;

  constructor(private readonly options: HostSamplerOptions = {}) {
    this.probe = options.probe ?? systemProbe;
    this.now = options.now ?? Date.now;
  }

  /** Host values are from the last completed background refresh (one tick old at most). */
  sample(): { host: HostSample; generator: GeneratorSample } {
    this.kickRefresh();
    return { host: { ...this.host }, generator: this.generator() };
  }

  /** Resolves when a refresh is done; for callers that want a first value before the run starts. */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const started = performance.now();
    this.lastRefreshStartMs = this.now();
    try {
      const readStat = this.probe.procStatCpu?.bind(this.probe);
      const [load, mem, stat] = await Promise.all([this.probe.currentLoad(), this.probe.mem(), readStat?.()]);
      this.host = {
        cpuUtilization: load.currentLoad / 100,
        cpuCount: load.cpus.length,
        iowaitRatio: this.iowait(stat),
        // "active" excludes reclaimable cache/buffers, like free(1)'s "used".
        memoryUsedBytes: mem.active,
        memoryTotalBytes: mem.total,
        refreshDurationMs: performance.now() - started,
      };
      this.lastRefreshError = undefined;
    } catch (err) {
      this.lastRefreshError = err as Error;
    } finally {
      this.refreshing = false;
    }
  }

  /** /proc/stat columns: user nice system idle iowait irq softirq steal …; iowait share of the jiffies since last time. */
  private iowait(stat: number[] | undefined): number | null {
    const prev = this.lastStat;
    this.lastStat = stat;
    if (!stat || !prev || stat.length < 5 || prev.length !== stat.length) return null;
    let total = 0;
    for (let i = 0; i < Math.min(stat.length, 8); i++) total += stat[i]! - prev[i]!;
    const io = stat[4]! - prev[4]!;
    return total > 0 && io >= 0 ? io / total : null;
  }

  private kickRefresh(): void {
    if (this.refreshing || this.now() - this.lastRefreshStartMs < (this.options.refreshIntervalMs ?? 900)) return;
    void this.refresh();
  }

  private generator(): GeneratorSample {
    const usage = process.cpuUsage();
    const tMs = this.now();
    let cpuCores: number | null = null;
    if (this.lastCpu && tMs > this.lastCpu.tMs) {
      const dUs = usage.user + usage.system - (this.lastCpu.usage.user + this.lastCpu.usage.system);
      cpuCores = dUs / 1000 / (tMs - this.lastCpu.tMs);
    }
    this.lastCpu = { usage, tMs };
    return { cpuCores, memoryRssBytes: process.memoryUsage.rss() };
  }
}
