// The busiest-thread reader over a fake /proc and cgroup tree: threads listed by the container's cgroup (v1 cpu
// controller, or v2), each one's utime + stime from /proc/<tid>/stat, in USER_HZ (100) ticks.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BusiestThreadReader } from './threads.ts';

const ID = 'c0ffee'.repeat(10);
let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A tree with process `pid` in `cgroupLine`'s cgroup and `threads` (tid → ticks) listed in `listFile`. */
function tree(pid: number, cgroupText: string, listFile: string, threads: Record<number, number>): { proc: string; cg: string } {
  root = mkdtempSync(join(tmpdir(), 'loadscope-threads-'));
  const proc = join(root, 'proc');
  const cg = join(root, 'cgroup');
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'cgroup'), cgroupText);
  setThreads(proc, join(cg, listFile), threads);
  return { proc, cg };
}

function setThreads(proc: string, list: string, threads: Record<number, number>): void {
  mkdirSync(join(list, '..'), { recursive: true });
  writeFileSync(list, Object.keys(threads).join('\n') + '\n');
  for (const [tid, ticks] of Object.entries(threads)) {
    mkdirSync(join(proc, tid), { recursive: true });
    // the command name may hold spaces and parentheses: fields are counted after the last ')'
    const utime = Math.floor(ticks * 0.8);
    writeFileSync(join(proc, tid, 'stat'), `${tid} (uvicorn (w) 1) R 1 1 1 0 -1 4194560 100 0 0 0 ${utime} ${ticks - utime} 0 0 20 0 4 0 100 0 0\n`);
  }
}

describe('the busiest thread of a container', () => {
  it('cgroup v1: the cpu controller lists the threads; cores of the busiest since the last read, null on the first', async () => {
    const v1 = `4:memory:/docker/${ID}\n1:cpu,cpuacct:/docker/${ID}\n0::/docker/${ID}\n`;
    const { proc, cg } = tree(41, v1, join('cpu', 'docker', ID, 'tasks'), { 41: 1000, 42: 500 });
    let now = 0;
    const h = new BusiestThreadReader(41, ID, { procRoot: proc, cgroupRoot: cg, nowMs: () => now });
    expect(await h.read()).toBeNull();
    // 2 s later: 41 used 190 ticks (0.95 core), 42 used 40; 43 is new (no previous: not counted)
    now = 2000;
    setThreads(proc, join(cg, 'cpu', 'docker', ID, 'tasks'), { 41: 1190, 42: 540, 43: 900 });
    expect(await h.read()).toEqual({ cores: 0.95, runnableRatio: null });
    // 42 gone, 43 busiest now
    now = 3000;
    setThreads(proc, join(cg, 'cpu', 'docker', ID, 'tasks'), { 41: 1200, 43: 960 });
    expect(await h.read()).toEqual({ cores: 0.6, runnableRatio: null });
  });

  it('cgroup v2: cgroup.threads of the unified hierarchy', async () => {
    const { proc, cg } = tree(7, `0::/system.slice/docker-${ID}.scope\n`, join('system.slice', `docker-${ID}.scope`, 'cgroup.threads'), { 7: 10 });
    let now = 0;
    const h = new BusiestThreadReader(7, ID, { procRoot: proc, cgroupRoot: cg, nowMs: () => now });
    expect(await h.read()).toBeNull();
    now = 1000;
    setThreads(proc, join(cg, 'system.slice', `docker-${ID}.scope`, 'cgroup.threads'), { 7: 110 });
    expect(await h.read()).toEqual({ cores: 1, runnableRatio: null });
  });

  it('with schedstat, the busiest thread is the one runnable longest — on a core or waiting for one', async () => {
    const list = join('cpu', 'docker', ID, 'tasks');
    const { proc, cg } = tree(5, `1:cpu:/docker/${ID}\n`, list, { 5: 0, 6: 0 });
    const sched = (tid: number, runS: number, waitS: number): void => writeFileSync(join(proc, String(tid), 'schedstat'), `${runS * 1e9} ${waitS * 1e9} 10\n`);
    sched(5, 10, 1);
    sched(6, 20, 0);
    let now = 0;
    const h = new BusiestThreadReader(5, ID, { procRoot: proc, cgroupRoot: cg, nowMs: () => now });
    expect(await h.read()).toBeNull();
    // a second later: 5 ran 0.85 s and waited 0.13 s for a core; 6 ran 0.9 s and slept the rest
    now = 1000;
    sched(5, 10.85, 1.13);
    sched(6, 20.9, 0);
    expect(await h.read()).toEqual({ cores: 0.85, runnableRatio: 0.98 });
  });

  it('a pid that is not in the container (an engine on another host) or is gone reads null, never a guess', async () => {
    const { proc, cg } = tree(9, `1:cpu:/user.slice\n0::/user.slice\n`, join('cpu', 'user.slice', 'tasks'), { 9: 10 });
    const other = new BusiestThreadReader(9, ID, { procRoot: proc, cgroupRoot: cg });
    expect([await other.read(), await other.read()]).toEqual([null, null]);
    const gone = new BusiestThreadReader(12345, ID, { procRoot: proc, cgroupRoot: cg });
    expect([await gone.read(), await gone.read()]).toEqual([null, null]);
  });
});
