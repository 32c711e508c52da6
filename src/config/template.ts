// `{{name}}` / `{{randomInt 1 10}}` templates, compiled once, rendered per request from a user's variables.
import { randomBytes, randomUUID } from 'node:crypto';

export const BUILTINS = ['randomInt', 'now', 'uuid', 'userId', 'randomString'] as const;
export type Builtin = (typeof BUILTINS)[number];

type Part = string | { kind: 'var'; name: string } | { kind: 'builtin'; fn: Builtin; args: number[] };
export type CompiledTemplate = readonly Part[];

const EXPR_RE = /\{\{\s*([^}]*?)\s*\}\}/g;

export interface TemplateRef {
  /** the variable name or builtin name as written */
  name: string;
  builtin: boolean;
  problem?: string;
}

function parseExpr(expr: string): { part: Part; ref: TemplateRef } {
  const [head = '', ...rest] = expr.split(/\s+/);
  if ((BUILTINS as readonly string[]).includes(head)) {
    const fn = head as Builtin;
    const args = rest.map(Number);
    const want = fn === 'randomInt' ? 2 : fn === 'randomString' ? 1 : 0;
    const bad = args.length !== want || args.some((a) => !Number.isFinite(a));
    return {
      part: { kind: 'builtin', fn, args },
      ref: { name: head, builtin: true, problem: bad ? `{{${expr}}}: ${fn} takes ${want} numeric argument(s)` : undefined },
    };
  }
  const problem = rest.length > 0 || !/^[A-Za-z_][\w.]*$/.test(head) ? `{{${expr}}}: not a variable name or builtin (${BUILTINS.join(', ')})` : undefined;
  return { part: { kind: 'var', name: head }, ref: { name: head, builtin: false, problem } };
}

export function compileTemplate(text: string): CompiledTemplate {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(EXPR_RE)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(parseExpr(m[1] ?? '').part);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function templateRefs(text: string): TemplateRef[] {
  return [...text.matchAll(EXPR_RE)].map((m) => parseExpr(m[1] ?? '').ref);
}

export interface RenderContext {
  userId: number;
  vars: Record<string, string>;
  /** the user's seeded stream (docs/CONFIG.md, seed): randomInt draws from it; absent outside a run (a static request) */
  random?: () => number;
}

export function renderTemplate(t: CompiledTemplate, ctx: RenderContext): string {
  if (t.length === 1 && typeof t[0] === 'string') return t[0];
  let out = '';
  for (const p of t) {
    if (typeof p === 'string') out += p;
    else if (p.kind === 'var') out += ctx.vars[p.name] ?? '';
    else out += builtin(p.fn, p.args, ctx);
  }
  return out;
}

function builtin(fn: Builtin, args: number[], ctx: RenderContext): string {
  switch (fn) {
    case 'randomInt': {
      const [lo = 0, hi = 0] = args;
      return String(lo + Math.floor((ctx.random ?? Math.random)() * (hi - lo + 1)));
    }
    case 'now':
      return new Date().toISOString();
    case 'uuid':
      return randomUUID();
    case 'userId':
      return String(ctx.userId);
    case 'randomString':
      return randomBytes(Math.ceil((args[0] ?? 8) / 2))
        .toString('hex')
        .slice(0, args[0] ?? 8);
  }
}

/** Every string leaf of a JSON value with its dotted path suffix. */
export function stringLeaves(value: unknown, path: string[] = []): { path: string[]; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...path, String(i)]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]));
  return [];
}
