// Raw HTTP/1.1 request bytes for the autocannon path. A step whose path, headers and body hold no
// template expression is encoded once; only steps that depend on the user or the moment are encoded
// per request, and then straight to bytes (no intermediate request objects for autocannon to rebuild).
import type { CompiledTemplate, RenderContext } from '../config/template.ts';
import { buildRequest, type BuiltRequest, type CompiledStep } from './flow-runner.ts';

const isFixed = (t: CompiledTemplate): boolean => t.every((p) => typeof p === 'string');

/** True when every request of this step is byte-identical, whoever sends it. */
export function isStaticStep(s: CompiledStep): boolean {
  return (
    isFixed(s.path) && s.headers.every(([, t]) => isFixed(t)) && (s.jsonLeaves ?? []).every((l) => isFixed(l.t)) && (s.body === undefined || isFixed(s.body))
  );
}

// we write the framing ourselves; a configured copy would duplicate or contradict it
const OWN_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
// a captured value with CR/LF would otherwise split the request (node:http refuses such values too)
const clean = (s: string): string => (/[\r\n]/.test(s) ? s.replace(/[\r\n]+/g, '') : s);

export function encodeRequest(host: string, b: BuiltRequest): Buffer {
  let head = `${b.method} ${clean(b.path)} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n`;
  for (const k in b.headers) if (!OWN_HEADERS.has(k.toLowerCase())) head += `${k}: ${clean(b.headers[k] ?? '')}\r\n`;
  if (b.body !== undefined) {
    const body = Buffer.from(b.body);
    return Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`, 'utf8'), body]);
  }
  if (!BODYLESS.has(b.method)) head += 'Content-Length: 0\r\n';
  return Buffer.from(`${head}\r\n`, 'utf8');
}

export interface WireStep {
  step: CompiledStep;
  /** the encoded request when the step is static */
  fixed?: Buffer;
}

export function wireStep(step: CompiledStep, host: string): WireStep {
  return isStaticStep(step) ? { step, fixed: encodeRequest(host, buildRequest(step, { userId: 0, vars: {} })) } : { step };
}

export const wireBytes = (w: WireStep, host: string, ctx: RenderContext): Buffer => w.fixed ?? encodeRequest(host, buildRequest(w.step, ctx));
