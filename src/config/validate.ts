// Cross-field checks after parsing. Returns every problem with its path; throws nothing.
import { MIN_LEVEL_S } from '../analysis/windows.ts';
import type { InputIssue } from '../common/errors.ts';
import type { FlowConfig, ResolvedConfig, ShapeConfig, StepConfig, ThinkTimeConfig } from './schema.ts';
import { stringLeaves, templateRefs } from './template.ts';
import { remoteWriteProblem, targetProblem } from './target.ts';

export interface ValidateOptions {
  /** the scenario named on the CLI, checked against the config */
  scenario?: string;
  /** `--target` from the CLI; replaces `target` */
  targetOverride?: string;
}

export function validateConfig(cfg: ResolvedConfig, opts: ValidateOptions = {}): InputIssue[] {
  const issues: InputIssue[] = [];
  issues.push(...validateTarget(cfg.target, cfg.allowTargets, opts));
  issues.push(...validateScenarioName(Object.keys(cfg.scenarios), opts));
  for (const [name, sc] of Object.entries(cfg.scenarios)) {
    issues.push(...validateShape(`scenarios.${name}.shape`, sc.shape), ...validateThinkTime(`scenarios.${name}.thinkTime`, sc.thinkTime));
  }
  issues.push(...validateFlow(cfg.flow));
  const remoteWrite = cfg.remoteWrite && remoteWriteProblem(cfg.remoteWrite.url, cfg.allowTargets);
  if (remoteWrite) issues.push({ path: 'remoteWrite.url', message: remoteWrite });
  return issues;
}

export function validateTarget(target: string, allowTargets: readonly string[], opts: ValidateOptions): InputIssue[] {
  const problem = targetProblem(opts.targetOverride ?? target, allowTargets);
  return problem ? [{ path: opts.targetOverride !== undefined ? '--target' : 'target', message: problem }] : [];
}

export function validateScenarioName(names: readonly string[], opts: ValidateOptions): InputIssue[] {
  if (opts.scenario === undefined || names.includes(opts.scenario)) return [];
  return [{ path: '--scenario', message: `unknown scenario "${opts.scenario}" (have: ${names.join(', ')})` }];
}

export function validateShape(p: string, s: ShapeConfig): InputIssue[] {
  const issues: InputIssue[] = [];
  if (s.kind === 'ramp' && s.rampUpMs > s.durationMs)
    issues.push({ path: `${p}.rampUp`, message: `ramp-up (${s.rampUpMs} ms) is longer than duration (${s.durationMs} ms)` });
  if (s.kind === 'spike') {
    if (s.spikeForMs >= s.everyMs)
      issues.push({ path: `${p}.spikeFor`, message: `spikeFor (${s.spikeForMs} ms) must be shorter than every (${s.everyMs} ms)` });
    if (s.spikeUsers <= s.baseUsers) issues.push({ path: `${p}.spikeUsers`, message: `spikeUsers (${s.spikeUsers}) must exceed baseUsers (${s.baseUsers})` });
    issues.push(...spikeBaseIssues(p, s));
  }
  return issues;
}

/**
 * The recovery band is drawn from the steady part of the base before the first spike, and a segment shorter than
 * MIN_LEVEL_S has none (docs/ANALYSIS.md, Steady state; Recovery): a shorter baseFor could only give "no-data".
 */
function spikeBaseIssues(p: string, s: Extract<ShapeConfig, { kind: 'spike' }>): InputIssue[] {
  if (s.baseForMs === undefined) return [];
  const issues: InputIssue[] = [];
  const minMs = MIN_LEVEL_S * 1000;
  if (s.baseForMs < minMs)
    issues.push({ path: `${p}.baseFor`, message: `baseFor (${s.baseForMs} ms) must be at least ${minMs} ms: the recovery band needs a steady base` });
  if (s.baseForMs >= s.durationMs)
    issues.push({ path: `${p}.baseFor`, message: `baseFor (${s.baseForMs} ms) must be shorter than duration (${s.durationMs} ms), or no spike starts` });
  return issues;
}

export function validateThinkTime(p: string, t: ThinkTimeConfig): InputIssue[] {
  return t.minMs > t.maxMs ? [{ path: p, message: `think-time min (${t.minMs} ms) > max (${t.maxMs} ms)` }] : [];
}

export function validateFlow(flow: FlowConfig): InputIssue[] {
  const issues: InputIssue[] = [];
  const add = (path: string, message: string): void => {
    issues.push({ path, message });
  };
  if (flow.tasks.every((t) => t.weight === 0)) add('flow.tasks', 'all task weights are zero');
  const seen = new Set<string>();
  flow.tasks.forEach((t, i) => {
    if (seen.has(t.name)) add(`flow.tasks.${i}.name`, `duplicate task name "${t.name}"`);
    seen.add(t.name);
  });
  // Variables: builtins, or captured by an earlier onStart step.
  const known = new Set<string>();
  flow.onStart.forEach((step, i) => {
    checkStepVars(step, `flow.onStart.${i}`, known, add);
    for (const v of Object.keys(step.capture)) known.add(v);
  });
  flow.tasks.forEach((task, i) => checkStepVars(task, `flow.tasks.${i}`, known, add));
  return issues;
}

function checkStepVars(step: StepConfig, base: string, known: Set<string>, add: (path: string, message: string) => void): void {
  const fields: { path: string; text: string }[] = [{ path: `${base}.path`, text: step.path }];
  for (const [k, v] of Object.entries(step.headers)) fields.push({ path: `${base}.headers.${k}`, text: v });
  if (step.body !== undefined) fields.push({ path: `${base}.body`, text: step.body });
  for (const leaf of stringLeaves(step.json)) fields.push({ path: [`${base}.json`, ...leaf.path].join('.'), text: leaf.text });
  for (const f of fields) {
    for (const ref of templateRefs(f.text)) {
      if (ref.problem) add(f.path, ref.problem);
      else if (!ref.builtin && !known.has(ref.name)) add(f.path, `{{${ref.name}}} is neither a builtin nor captured by an earlier onStart step`);
    }
  }
  if (step.json !== undefined && step.body !== undefined) add(`${base}.body`, 'give json or body, not both');
}
