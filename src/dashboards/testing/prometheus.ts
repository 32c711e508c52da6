// A private Prometheus 2.42 for tests: real binary, loopback only, free port, temp TSDB, config derived from
// collectors/prometheus.yml (same globals and rule files, targets rewritten). stop() always kills and cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../generate.ts';
import { freePort } from '../../stack/testing/runtime.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export { freePort };

interface PromConfig {
  global: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

/** collectors/prometheus.yml with the loadscope job's targets replaced and rule files made absolute. */
export function deriveConfig(targets: string[]): string {
  const dir = join(REPO_ROOT, 'collectors');
  const cfg = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as PromConfig;
  const job = cfg.scrape_configs.find((j) => j.job_name === 'loadscope');
  if (!job) throw new Error('collectors/prometheus.yml has no job "loadscope"');
  job.static_configs = [{ targets }];
  cfg.rule_files = (cfg.rule_files ?? []).map((f) => join(dir, f));
  return stringify(cfg);
}

export interface TestPrometheus {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** stderr of the process (Prometheus logs there), for failure messages. */
  log(): string;
}

/** `extraArgs`: e.g. `--web.enable-remote-write-receiver`. */
export async function startPrometheus(configYaml: string, extraArgs: readonly string[] = []): Promise<TestPrometheus> {
  if (!existsSync(PROMETHEUS_BIN)) throw new Error(`${PROMETHEUS_BIN} is missing: install Debian's prometheus package (apt-get install prometheus)`);
  const dir = mkdtempSync(join(tmpdir(), 'loadscope-prom-'));
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, configYaml);
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${configPath}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, port, stop, log: () => log };
}

/**
 * Grafana's substitutions for a dashboard query over a run whose samples are `sampleIntervalS` apart (scrape or
 * remote-write interval): timeInterval = that interval, so $__rate_interval = 4 × it.
 */
export function substitute(expr: string, run: { runId: string; scenario: string; startS: number; endS: number }, sampleIntervalS = 1): string {
  const range = `${Math.ceil(run.endS - run.startS)}s`;
  return expr
    .replaceAll('$__rate_interval', `${4 * sampleIntervalS}s`)
    .replaceAll('$__interval', `${sampleIntervalS}s`)
    .replaceAll('$__range', range)
    .replaceAll('$run_id', run.runId)
    .replaceAll('$scenario', run.scenario)
    .replaceAll('$service', '.*');
}

export interface RangeResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
}

export async function queryRange(url: string, query: string, startS: number, endS: number, stepS = 1): Promise<RangeResult> {
  const body = new URLSearchParams({ query, start: String(startS), end: String(endS), step: String(stepS) });
  const res = await fetch(`${url}/api/v1/query_range`, { method: 'POST', body });
  return (await res.json()) as RangeResult;
}
