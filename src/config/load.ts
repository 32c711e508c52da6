// Config file → ResolvedConfig, or a ConfigError listing every problem (YAML, schema, cross-field).
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, type InputIssue } from '../common/errors.ts';
import { interpolate, type Env } from '../common/interpolate.ts';
import { DEFAULT_TARGET } from './defaults.ts';
import { configSchema, Flow, Shape, ThinkTime, type ResolvedConfig } from './schema.ts';
import { validateConfig, validateFlow, validateScenarioName, validateShape, validateTarget, validateThinkTime, type ValidateOptions } from './validate.ts';

export { DEFAULT_CONFIG_PATH } from './defaults.ts';

export interface LoadOptions extends ValidateOptions {
  /** Environment for ${VAR:-default} in string values (Compose rules; `$$` is a literal `$`). Default: none set, so defaults apply. */
  env?: Env;
}

export function parseConfigText(text: string, source: string, opts: LoadOptions = {}): ResolvedConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: '(yaml)', message: e.message })),
    );
  const issues: InputIssue[] = [];
  const expanded = expand(doc.toJS(), opts.env ?? {}, [], issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return parseConfigObject(expanded, source, opts);
}

/** Interpolates every string value (never keys), recording a bad or required-but-unset variable with its path. */
function expand(value: unknown, env: Env, path: string[], issues: InputIssue[]): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, env);
    } catch (err) {
      issues.push({ path: path.join('.'), message: (err as Error).message });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => expand(v, env, [...path, String(i)], issues));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, env, [...path, k], issues)]));
  return value;
}

export function parseConfigObject(raw: unknown, source: string, opts: ValidateOptions = {}): ResolvedConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues: InputIssue[] = parsed.error.issues.flatMap((i) => {
      const path = i.path.map(String).join('.');
      // unknown keys come as one issue with several keys: one line per key reads better
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: path ? `${path}.${k}` : k, message: 'unknown key' }));
      return [{ path, message: i.message }];
    });
    throw new ConfigError(source, dedupe([...issues, ...partialChecks(raw, opts)]));
  }
  const issues = validateConfig(parsed.data, opts);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return opts.targetOverride !== undefined ? { ...parsed.data, target: opts.targetOverride } : parsed.data;
}

export function loadConfigFile(path: string, opts: LoadOptions = {}): ResolvedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '-c', message: `cannot read config: ${(err as Error).message}` }]);
  }
  return parseConfigText(text, path, opts);
}

/** When the schema fails, still run the cross-field checks on every part that parsed, so one run shows all problems. */
function partialChecks(raw: unknown, opts: ValidateOptions): InputIssue[] {
  if (!raw || typeof raw !== 'object') return [];
  const r = raw as Record<string, unknown>;
  const issues: InputIssue[] = [];
  const allow = Array.isArray(r.allowTargets) ? r.allowTargets.filter((a): a is string => typeof a === 'string') : [];
  const target = typeof r.target === 'string' ? r.target : opts.targetOverride === undefined && r.target === undefined ? DEFAULT_TARGET : undefined;
  if (target !== undefined || opts.targetOverride !== undefined) issues.push(...validateTarget(target ?? '', allow, opts));
  const flow = Flow.safeParse(r.flow);
  if (flow.success) issues.push(...validateFlow(flow.data));
  if (r.scenarios && typeof r.scenarios === 'object') {
    const scenarios = r.scenarios as Record<string, unknown>;
    issues.push(...validateScenarioName(Object.keys(scenarios), opts));
    for (const [name, sc] of Object.entries(scenarios)) {
      if (!sc || typeof sc !== 'object') continue;
      const s = sc as Record<string, unknown>;
      const shape = Shape.safeParse(s.shape);
      if (shape.success) issues.push(...validateShape(`scenarios.${name}.shape`, shape.data));
      const think = ThinkTime.safeParse(s.thinkTime);
      if (think.success) issues.push(...validateThinkTime(`scenarios.${name}.thinkTime`, think.data));
    }
  }
  return issues;
}

function dedupe(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
