// Reads the Compose subset: YAML → interpolation → zod validation → cross-service checks.
// Every problem is collected and thrown once as a ConfigError with Compose key paths.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, type InputIssue } from '../../common/errors.ts';
import { interpolate, InterpolationError, type Env } from '../../common/interpolate.ts';
import { findCycle } from './order.ts';
import type { z } from 'zod';
import { flattenIssues, projectNameSchema, serviceSchema, topLevelSchema, volumesSchema, type RawService } from './schema.ts';
import type { ComposeProject, ComposeService } from './types.ts';

/** Keys accepted at the top level without meaning anything to loadscope (`version` is obsolete in Compose too). */
const IGNORED_TOP_LEVEL = (key: string): boolean => key.startsWith('x-') || key === 'version';
const BIND_MODES = new Set(['ro', 'rw', 'z', 'Z', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'nocopy']);

/** Container name a service gets when the file sets no container_name. */
export function defaultContainerName(project: string, service: string): string {
  return `loadscope-${project}-${service}`;
}

/** Reads and parses a Compose file; relative bind paths resolve against the file's directory. */
export function loadComposeFile(filePath: string, env: Env): ComposeProject {
  const sourcePath = path.resolve(filePath);
  let text: string;
  try {
    text = readFileSync(sourcePath, 'utf8');
  } catch (e) {
    throw new ConfigError(sourcePath, [{ path: '(file)', message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseCompose(text, sourcePath, env);
}

/** Pure parse of Compose text. `sourceName` names the file in errors and anchors relative paths. */
export function parseCompose(text: string, sourceName: string, env: Env): ComposeProject {
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      sourceName,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const message = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return { path: '(yaml)', message: pos ? `line ${pos.line} col ${pos.col}: ${message}` : message };
      }),
    );
  }
  const raw: unknown = doc.toJS();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(sourceName, [{ path: '', message: 'expected a Compose mapping with a services: key' }]);
  }

  const issues: InputIssue[] = [];
  const unset = new Set<string>();
  const kept = Object.fromEntries(Object.entries(raw).filter(([key]) => !IGNORED_TOP_LEVEL(key)));
  const interpolated = interpolateTree(kept, [], env, issues, (name) => unset.add(name));

  const top = topLevelSchema.safeParse(interpolated);
  if (!top.success) {
    addIssues(issues, [], top.error.issues);
    throw new ConfigError(sourceName, issues);
  }
  const name = parsePart(projectNameSchema.optional(), top.data.name, ['name'], issues) ?? defaultProjectName(sourceName);
  const volumes = parsePart(volumesSchema.optional(), top.data.volumes, ['volumes'], issues);
  const declaredVolumes = new Map(Object.entries(volumes ?? {}).map(([v, decl]) => [v, decl?.name ?? `${name}_${v}`]));
  const baseDir = path.dirname(path.resolve(sourceName));

  const schema = serviceSchema(env);
  const services: ComposeService[] = [];
  for (const [serviceName, rawService] of Object.entries(top.data.services)) {
    const s = parsePart(schema, withoutExtensions(rawService), ['services', serviceName], issues);
    if (s !== undefined) services.push(toService(serviceName, s, { baseDir, home: env.HOME, declaredVolumes, issues }));
  }
  checkServices(services, Object.keys(top.data.services), name, issues);
  if (issues.length > 0) throw new ConfigError(sourceName, issues);
  const warnings = [...unset].map((v) => `variable ${v} is not set; substituted an empty string`);
  return { name, sourcePath: sourceName, services, warnings };
}

/** Compose allows x-* extension keys on services too; they mean nothing here. */
function withoutExtensions(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('x-')));
}

function addIssues(issues: InputIssue[], at: string[], zodIssues: readonly z.core.$ZodIssue[]): void {
  for (const i of flattenIssues(zodIssues)) issues.push({ path: [...at, ...i.path.map(String)].join('.'), message: i.message });
}

function parsePart<S extends z.ZodType>(schema: S, value: unknown, at: string[], issues: InputIssue[]): z.output<S> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  addIssues(issues, at, r.error.issues);
  return undefined;
}

function interpolateTree(value: unknown, at: string[], env: Env, issues: InputIssue[], onUnset: (name: string) => void): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, env, onUnset);
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      issues.push({ path: at.join('.'), message: e.message });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, [...at, String(i)], env, issues, onUnset));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateTree(v, [...at, k], env, issues, onUnset)]));
  }
  return value;
}

/** Compose's default project name: the file's directory, normalized to [a-z0-9_-]. */
function defaultProjectName(sourceName: string): string {
  const dir = path.basename(path.dirname(path.resolve(sourceName)));
  const normalized = dir
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
  return normalized === '' ? 'loadscope' : normalized;
}

interface ServiceContext {
  baseDir: string;
  home: string | undefined;
  declaredVolumes: Map<string, string>;
  issues: InputIssue[];
}

function toService(name: string, s: RawService, ctx: ServiceContext): ComposeService {
  const at = `services.${name}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) ctx.issues.push({ path: at, message: 'service names may only use letters, digits, ".", "_" and "-"' });
  const binds: string[] = [];
  (s.volumes ?? []).forEach((v, i) => {
    const bind = toBind(v, ctx);
    if (bind.error !== undefined) ctx.issues.push({ path: `${at}.volumes.${i}`, message: bind.error });
    else binds.push(bind.value);
  });
  return {
    name,
    image: s.image,
    ...(s.entrypoint !== undefined && { entrypoint: s.entrypoint }),
    ...(s.command !== undefined && { command: s.command }),
    environment: s.environment ?? {},
    networkMode: 'host',
    ...(s.healthcheck !== undefined && { healthcheck: s.healthcheck }),
    dependsOn: s.depends_on ?? [],
    ...(s.mem_limit !== undefined && { memoryBytes: s.mem_limit }),
    ...(s.cpus !== undefined && { nanoCpus: s.cpus }),
    binds,
    labels: s.labels ?? {},
    ...(s.container_name !== undefined && { containerName: s.container_name }),
  };
}

/** Short volume syntax → Docker bind string with an absolute host path or a project-scoped named volume. */
function toBind(spec: string, ctx: ServiceContext): { value: string; error?: undefined } | { error: string } {
  const parts = spec.split(':');
  const [src = '', dst = '', mode] = parts;
  if (parts.length < 2) return { error: `anonymous volume "${spec}" is not supported: use "name:${spec}" with a top-level volume, or a host path` };
  if (parts.length > 3 || src === '') return { error: `invalid volume "${spec}": expected "src:dst[:ro]"` };
  if (!dst.startsWith('/')) return { error: `invalid volume "${spec}": the container path must be absolute` };
  const badMode = mode?.split(',').find((m) => !BIND_MODES.has(m));
  if (badMode !== undefined) return { error: `invalid volume mode "${badMode}" in "${spec}": use ro or rw` };
  const suffix = mode === undefined ? '' : `:${mode}`;
  let host: string;
  if (src.startsWith('/')) host = src;
  else if (src === '~' || src.startsWith('~/')) {
    if (ctx.home === undefined) return { error: `cannot expand "~" in "${spec}": HOME is not set` };
    host = path.join(ctx.home, src.slice(1));
  } else if (src.startsWith('.')) host = path.resolve(ctx.baseDir, src);
  else {
    const volume = ctx.declaredVolumes.get(src);
    if (volume === undefined) return { error: `named volume "${src}" is not declared under the top-level volumes: key` };
    return { value: `${volume}:${dst}${suffix}` };
  }
  return { value: `${host}:${dst}${suffix}` };
}

/** Cross-service checks over the services that validated; `allNames` keeps invalid ones from looking unknown. */
function checkServices(services: ComposeService[], allNames: string[], project: string, issues: InputIssue[]): void {
  const byName = new Map(services.map((s) => [s.name, s]));
  const known = new Set(allNames);
  const containerNames = new Map<string, string>();
  for (const s of services) {
    s.dependsOn.forEach((d) => {
      const dep = byName.get(d.service);
      const at = `services.${s.name}.depends_on.${d.service}`;
      if (!known.has(d.service)) issues.push({ path: at, message: `unknown service "${d.service}"` });
      else if (d.condition === 'service_healthy' && dep?.healthcheck?.test[0] === 'NONE') {
        issues.push({ path: at, message: `condition service_healthy but ${d.service} has its healthcheck disabled` });
      }
    });
    const container = s.containerName ?? defaultContainerName(project, s.name);
    const other = containerNames.get(container);
    if (other !== undefined) issues.push({ path: `services.${s.name}.container_name`, message: `container name "${container}" is also used by ${other}` });
    containerNames.set(container, s.name);
  }
  const cycle = findCycle(services.map((s) => ({ name: s.name, deps: s.dependsOn.map((d) => d.service) })));
  if (cycle) issues.push({ path: `services.${cycle[0]}.depends_on`, message: `dependency cycle: ${cycle.join(' → ')}` });
}
