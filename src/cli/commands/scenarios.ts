// `loadscope scenarios [-c config] [--json]`: the presets of a config with their settings, as a table or JSON.
import type { Command } from 'commander';
import { formatDurationMs } from '../../config/duration.ts';
import { DEFAULT_CONFIG_PATH } from '../../config/defaults.ts';
import type { ResolvedConfig, Scenario } from '../../config/schema.ts';
import { planShape } from '../../load/shapes/registry.ts';
import { ExitCode } from '../exit-codes.ts';
import { resolveInputPath } from '../../common/paths.ts';

export interface ScenarioRow {
  name: string;
  shape: Scenario['shape']['kind'];
  /** e.g. "100", "100→200→500", "100 (500 spikes)", "50 req/s" */
  users: string;
  /** ramp-up (per level for steps), "-" when the shape has none */
  rampUp: string;
  /** hold per level for steps, spike length and period for spikes, total otherwise */
  duration: string;
  /** planned wall-clock time at time scale 1 */
  total: string;
  thinkTime: string;
  slo: string;
  stopOnBreak: boolean;
  /** the raw resolved scenario (ms / ratios), for --json */
  config: Scenario;
}

const d = (ms: number): string => {
  if (ms < 3_600_000) return formatDurationMs(ms);
  const h = Math.floor(ms / 3_600_000);
  const rest = ms - h * 3_600_000;
  return `${h}h${rest ? formatDurationMs(rest) : ''}`;
};
const pct = (r: number): string => `${+(r * 100).toFixed(3)}%`;

export function scenarioRows(cfg: ResolvedConfig): ScenarioRow[] {
  return Object.entries(cfg.scenarios).map(([name, sc]) => {
    const s = sc.shape;
    const base = {
      name,
      shape: s.kind,
      total: d(planShape(s, 1).durationMs),
      thinkTime: thinkText(sc),
      slo: sloText(sc),
      stopOnBreak: sc.stopOnBreak,
      config: sc,
    };
    switch (s.kind) {
      case 'ramp':
        return { ...base, users: String(s.users), rampUp: d(s.rampUpMs), duration: d(s.durationMs) };
      case 'steps':
        return { ...base, users: s.users.join('→'), rampUp: `${d(s.rampUpMs)}/level`, duration: `${d(s.holdMs)}/level` };
      case 'spike':
        return {
          ...base,
          users: `${s.baseUsers} (spikes ${s.spikeUsers})`,
          rampUp: '-',
          duration: `${d(s.durationMs)}, ${d(s.spikeForMs)} spike every ${d(s.everyMs)}`,
        };
      case 'constant-rate':
        return { ...base, users: `${s.rateRps} req/s (≤${s.maxInFlight} in flight)`, rampUp: '-', duration: d(s.durationMs) };
    }
  });
}

function thinkText(sc: Scenario): string {
  const t = sc.thinkTime;
  if (t.maxMs === 0) return 'none';
  return t.minMs === t.maxMs ? d(t.minMs) : `${d(t.minMs)}–${d(t.maxMs)}`;
}

function sloText(sc: Scenario): string {
  const s = sc.slo;
  if (!s) return '-';
  const parts: string[] = [];
  if (s.p95Ms !== undefined) parts.push(`p95<${d(s.p95Ms)}`);
  if (s.p99Ms !== undefined) parts.push(`p99<${d(s.p99Ms)}`);
  if (s.errorRatio !== undefined) parts.push(`errors<${pct(s.errorRatio)}`);
  if (s.minThroughputRps !== undefined) parts.push(`>${s.minThroughputRps} req/s`);
  return parts.length ? parts.join(' ') : '-';
}

export function formatScenarioTable(rows: readonly ScenarioRow[]): string {
  const head = ['scenario', 'shape', 'users', 'ramp-up', 'duration / hold', 'total', 'think time', 'SLO', 'stopOnBreak'];
  const table = [head, ...rows.map((r) => [r.name, r.shape, r.users, r.rampUp, r.duration, r.total, r.thinkTime, r.slo, r.stopOnBreak ? 'yes' : 'no'])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return `${table
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export function registerScenariosCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('scenarios')
    .description('list the scenarios (presets) of a config: shape, users, ramp-up, duration, think time, SLOs, stopOnBreak')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--json', 'print the scenarios as JSON (durations in ms, SLO error rate as a ratio)')
    .addHelpText('after', '\nExamples:\n  loadscope scenarios\n  loadscope scenarios -c compose/examples/attach-fastapi.yaml\n  loadscope scenarios --json\n')
    .action(async (flags: { config: string; json?: boolean }) => {
      // the config loader (zod schema, YAML) loads only for this command
      const { loadConfigFile } = await import('../../config/load.ts');
      const cfg = loadConfigFile(resolveInputPath(flags.config), { env: process.env });
      const rows = scenarioRows(cfg);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else {
        process.stdout.write(formatScenarioTable(rows));
      }
      setCode(ExitCode.Ok);
    });
}
