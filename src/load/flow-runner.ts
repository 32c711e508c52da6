// A flow compiled once per worker: weighted task choice, template rendering, response capture.
import type { FlowConfig, StepConfig } from '../config/schema.ts';
import { compileTemplate, renderTemplate, stringLeaves, type CompiledTemplate, type RenderContext } from '../config/template.ts';

/** After an onStart step used up its retries, the whole flow starts again after this pause: a broken enroll shows as errors, not a hot loop. */
export const ONSTART_RESTART_PAUSE_MS = 1000;

export interface CompiledStep {
  name: string;
  method: string;
  path: CompiledTemplate;
  headers: [string, CompiledTemplate][];
  /** JSON body: leaves compiled, re-assembled per request */
  jsonLeaves?: { path: string[]; t: CompiledTemplate }[];
  json?: unknown;
  body?: CompiledTemplate;
  capture: [string, string[]][];
  retries: number;
}

export interface CompiledFlow {
  onStart: CompiledStep[];
  tasks: CompiledStep[];
  /** cumulative weights for O(log n) choice */
  cumWeights: number[];
}

export interface BuiltRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function compileStep(s: StepConfig): CompiledStep {
  return {
    name: s.name,
    method: s.method,
    path: compileTemplate(s.path),
    headers: Object.entries(s.headers).map(([k, v]) => [k, compileTemplate(v)]),
    json: s.json,
    jsonLeaves: s.json === undefined ? undefined : stringLeaves(s.json).map((l) => ({ path: l.path, t: compileTemplate(l.text) })),
    body: s.body === undefined ? undefined : compileTemplate(s.body),
    capture: Object.entries(s.capture).map(([v, field]) => [v, field.split('.')]),
    retries: 'retries' in s ? s.retries : 0,
  };
}

export function compileFlow(flow: FlowConfig): CompiledFlow {
  const tasks = flow.tasks.map(compileStep);
  let acc = 0;
  const cumWeights = flow.tasks.map((t) => (acc += t.weight));
  return { onStart: flow.onStart.map(compileStep), tasks, cumWeights };
}

export const pickTask = (flow: CompiledFlow, rnd = Math.random()): CompiledStep => flow.tasks[pickTaskIndex(flow, rnd)] as CompiledStep;

export function pickTaskIndex(flow: CompiledFlow, rnd = Math.random()): number {
  const total = flow.cumWeights[flow.cumWeights.length - 1] ?? 0;
  const x = rnd * total;
  let lo = 0;
  let hi = flow.cumWeights.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((flow.cumWeights[mid] ?? 0) > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function setPath(obj: unknown, path: string[], value: string): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(obj) ? [...obj] : { ...(obj as Record<string, unknown>) };
  (copy as Record<string, unknown>)[head] = setPath((obj as Record<string, unknown>)[head], rest, value);
  return copy;
}

export function buildRequest(step: CompiledStep, ctx: RenderContext): BuiltRequest {
  const headers: Record<string, string> = {};
  for (const [k, t] of step.headers) headers[k] = renderTemplate(t, ctx);
  let body: string | undefined;
  if (step.jsonLeaves) {
    let json = step.json;
    for (const leaf of step.jsonLeaves) if (leaf.t.length !== 1 || typeof leaf.t[0] !== 'string') json = setPath(json, leaf.path, renderTemplate(leaf.t, ctx));
    body = JSON.stringify(json);
    headers['content-type'] ??= 'application/json';
  } else if (step.body) body = renderTemplate(step.body, ctx);
  return { method: step.method, path: renderTemplate(step.path, ctx), headers, body };
}

/** Copies captured fields of a JSON response into the user's variables; false when a capture is missing. */
export function captureInto(step: CompiledStep, responseBody: string, vars: Record<string, string>): boolean {
  if (step.capture.length === 0) return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(responseBody);
  } catch {
    return false;
  }
  for (const [v, path] of step.capture) {
    let cur: unknown = parsed;
    for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
    if (cur === undefined || cur === null) return false;
    vars[v] = typeof cur === 'string' ? cur : JSON.stringify(cur);
  }
  return true;
}

export type ErrorKind = '4xx' | '5xx' | 'timeout' | 'connection' | 'other';
export const ERROR_KINDS: readonly ErrorKind[] = ['4xx', '5xx', 'timeout', 'connection', 'other'];

export function statusErrorKind(status: number): ErrorKind | undefined {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status < 200) return 'other';
  return undefined;
}

export function exceptionErrorKind(err: unknown): ErrorKind {
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || /timed? ?out/i.test(String((err as Error)?.message))) return 'timeout';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNABORTED'].includes(code)) return 'connection';
  return 'other';
}
