// Where load may go: loopback by default, anything else only when listed. Checked once, before any connection:
// the result is an AllowedTarget, the only form of a target the load engine and the samplers accept.
import { isIPv4 } from 'node:net';
import { TargetNotAllowedError } from '../common/errors.ts';

declare const allowedBrand: unique symbol;
/** A target URL (an origin: scheme, host, port) that passed the allowlist. Only checkTarget/allowTarget make one. */
export type AllowedTarget = URL & { readonly [allowedBrand]: true };

/** The one loopback rule: literal loopback only (127.0.0.0/8, ::1, localhost), brackets allowed; no name is resolved. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIPv4(h) && h.startsWith('127.');
}

/** Why `host` (with `port`) may not receive traffic, or undefined when it is loopback or listed in allowTargets. */
export function hostProblem(hostname: string, port: number | undefined, allowTargets: readonly string[]): string | undefined {
  if (isLoopbackHost(hostname)) return undefined;
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const hostPort = port !== undefined ? `${host.includes(':') ? `[${host}]` : host}:${port}` : undefined;
  const allowed = allowTargets.some((a) => {
    const e = a.toLowerCase().replace(/^https?:\/\//, '').replace(/\/$/, '');
    return e === host || e === hostPort;
  });
  return allowed ? undefined : `host ${hostname} is not loopback and not listed in allowTargets`;
}

/** The target as an AllowedTarget, or why it is refused. */
export function checkTarget(target: string, allowTargets: readonly string[]): { target: AllowedTarget } | { problem: string } {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { problem: 'not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `scheme ${url.protocol.replace(':', '')} is not http or https` };
  if (url.pathname !== '/' || url.search || url.hash) return { problem: `target must be an origin without a path (got ${url.pathname}${url.search})` };
  if (url.username || url.password) return { problem: 'credentials in the target URL are not allowed' };
  const problem = hostProblem(url.hostname, url.port ? Number(url.port) : undefined, allowTargets);
  return problem ? { problem } : { target: url as AllowedTarget };
}

/** Why the target is refused, or undefined when it is allowed. */
export function targetProblem(target: string, allowTargets: readonly string[]): string | undefined {
  const r = checkTarget(target, allowTargets);
  return 'problem' in r ? r.problem : undefined;
}

/** The target as an AllowedTarget; TargetNotAllowedError (exit 2) naming `where` otherwise. */
export function allowTarget(target: string, allowTargets: readonly string[], where: string): AllowedTarget {
  const r = checkTarget(target, allowTargets);
  if ('problem' in r) throw new TargetNotAllowedError(target, where, r.problem);
  return r.target;
}

/** The port a URL connects to (its own, else the scheme's). */
export const portOf = (u: URL): number => (u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);
