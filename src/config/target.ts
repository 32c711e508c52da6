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
    const e = a
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/\/$/, '');
    return e === host || e === hostPort;
  });
  return allowed ? undefined : `host ${hostname} is not loopback and not listed in allowTargets`;
}

/** An http(s) URL without credentials whose host passes hostProblem, or why not. */
function checkOutbound(target: string, allowTargets: readonly string[]): URL | string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol.replace(':', '')} is not http or https`;
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  return hostProblem(url.hostname, url.port ? Number(url.port) : undefined, allowTargets) ?? url;
}

/** The target as an AllowedTarget, or why it is refused. */
export function checkTarget(target: string, allowTargets: readonly string[]): { target: AllowedTarget } | { problem: string } {
  const url = checkOutbound(target, allowTargets);
  if (typeof url === 'string') return { problem: url };
  if (url.pathname !== '/' || url.search || url.hash) return { problem: `target must be an origin without a path (got ${url.pathname}${url.search})` };
  return { target: url as AllowedTarget };
}

/** Why a remote-write URL is refused (the load target's host rule; a path is expected), or undefined. */
export function remoteWriteProblem(target: string, allowTargets: readonly string[]): string | undefined {
  const url = checkOutbound(target, allowTargets);
  return typeof url === 'string' ? url : undefined;
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
