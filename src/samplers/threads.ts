// A container's busiest thread. A single-threaded runtime (a GIL, an event loop) saturates at one core whatever the
// host has, and neither the container's CPU (cores of the host) nor a CPU limit it does not have shows it: the
// reference app under a zero-think ladder sat at 0.8–0.94 cores on a 2-core host while its latency grew
// (docs/ANALYSIS.md, Bottlenecks). The busiest thread is the one runnable longest — on a core or waiting for one
// (/proc/<tid>/schedstat: time on the CPU and time on the run queue): runnable all the time, it wanted more than
// the one core a thread can use. Read from the host's /proc: the container's threads are listed by its cgroup. Null
// where the container's processes are not on this host's /proc (an engine on another machine) — never a guess.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** /proc/<tid>/stat counts CPU time in USER_HZ ticks: 100 per second in the kernel's ABI on Linux's architectures. */
const TICKS_PER_S = 100;
/** Threads read per second at most (a Postgres with hundreds of backends stays a few ms of reads). */
const MAX_THREADS = 1024;

/** The busiest thread over the last interval: its share of a core on the CPU, and on the CPU or waiting for one. */
export interface BusiestThread {
  cores: number;
  /** null where the kernel keeps no schedstat (then only the time on the CPU is known). */
  runnableRatio: number | null;
}

/** A thread's cumulative times, in seconds. */
interface Times {
  onCpuS: number;
  waitS: number | null;
}

export interface BusiestThreadOptions {
  /** Default /proc. */
  procRoot?: string;
  /** Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Monotonic ms; default performance.now. */
  nowMs?: () => number;
}

export class BusiestThreadReader {
  private readonly procRoot: string;
  private readonly cgroupRoot: string;
  private readonly nowMs: () => number;
  /** The cgroup file that lists the container's threads; null once known not to be readable here. */
  private threadsFile: string | null | undefined;
  private previous = new Map<number, Times>();
  private previousMs = 0;

  constructor(
    private readonly pid: number,
    private readonly containerId: string,
    o: BusiestThreadOptions = {},
  ) {
    this.procRoot = o.procRoot ?? '/proc';
    this.cgroupRoot = o.cgroupRoot ?? '/sys/fs/cgroup';
    this.nowMs = o.nowMs ?? (() => performance.now());
  }

  /** The busiest thread since the last read; null on the first read or where it cannot be read. */
  async read(): Promise<BusiestThread | null> {
    if (this.threadsFile === undefined) this.threadsFile = await this.locate();
    if (this.threadsFile === null) return null;
    const list = await readFile(this.threadsFile, 'utf8').catch(() => null);
    if (list === null) return null;
    const tids = list.split('\n').filter(Boolean).slice(0, MAX_THREADS).map(Number);
    const atMs = this.nowMs();
    const times = await Promise.all(tids.map((tid) => this.timesOf(tid)));
    const elapsedS = (atMs - this.previousMs) / 1000;
    const current = new Map<number, Times>();
    let best: { onCpuS: number; runnableS: number; waitKnown: boolean } | null = null;
    for (let i = 0; i < tids.length; i++) {
      const t = times[i];
      if (!t) continue;
      current.set(tids[i]!, t);
      const before = this.previous.get(tids[i]!);
      if (!before) continue;
      const onCpuS = t.onCpuS - before.onCpuS;
      const waitKnown = t.waitS !== null && before.waitS !== null;
      const runnableS = onCpuS + (waitKnown ? t.waitS! - before.waitS! : 0);
      if (!best || runnableS > best.runnableS) best = { onCpuS, runnableS, waitKnown };
    }
    this.previous = current;
    this.previousMs = atMs;
    // no thread seen on both reads (the first read, or all threads new): nothing is known of the interval
    if (!best || !(elapsedS > 0)) return null;
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    return { cores: round(best.onCpuS / elapsedS), runnableRatio: best.waitKnown ? round(Math.min(1, best.runnableS / elapsedS)) : null };
  }

  /** The cgroup of the container's first process, when it names the container (cgroup v1 cpu controller, else v2). */
  private async locate(): Promise<string | null> {
    const text = await readFile(join(this.procRoot, String(this.pid), 'cgroup'), 'utf8').catch(() => null);
    if (text === null) return null;
    const lines = text
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length >= 3);
    const v1 = lines.find((f) => f[1]!.split(',').includes('cpu'));
    const v2 = lines.find((f) => f[0] === '0' && f[1] === '');
    const path = v1 ? v1.slice(2).join(':') : v2?.slice(2).join(':');
    // another host's engine: a process of ours that happens to have this pid is not in the container's cgroup
    if (!path || !path.includes(this.containerId)) return null;
    return v1 ? join(this.cgroupRoot, 'cpu', path, 'tasks') : join(this.cgroupRoot, path, 'cgroup.threads');
  }

  /** A thread's time on the CPU and on the run queue (schedstat, ns), else on the CPU from stat ticks; null when gone. */
  private async timesOf(tid: number): Promise<Times | null> {
    const sched = await readFile(join(this.procRoot, String(tid), 'schedstat'), 'utf8').catch(() => null);
    const [run, wait] = (sched ?? '').trim().split(' ').map(Number);
    if (sched !== null && Number.isFinite(run) && Number.isFinite(wait)) return { onCpuS: run! / 1e9, waitS: wait! / 1e9 };
    const stat = await readFile(join(this.procRoot, String(tid), 'stat'), 'utf8').catch(() => null);
    if (stat === null) return null;
    // fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ticks) ? { onCpuS: ticks / TICKS_PER_S, waitS: null } : null;
  }
}
