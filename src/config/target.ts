// Where load may go: loopback by default, anything else only when listed. Checked before any connection.
import { isIPv4 } from 'node:net';
import { TargetNotAllowedError } from '../common/errors.ts';

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIPv4(h) && h.startsWith('127.');
}

/** Why the target is refused, or undefined when it is allowed. Resolves no names: only literal loopback counts. */
export function targetProblem(target: string, allowTargets: readonly string[]): string | undefined {
  const url = parseOutbound(target);
  if (typeof url === 'string') return url;
  if (url.pathname !== '/' || url.search || url.hash) return `target must be an origin without a path (got ${url.pathname}${url.search})`;
  return hostProblem(url, allowTargets);
}

/** Why a remote-write URL is refused (same host rule as the load target; a path is expected), or undefined. */
export function remoteWriteProblem(target: string, allowTargets: readonly string[]): string | undefined {
  const url = parseOutbound(target);
  return typeof url === 'string' ? url : hostProblem(url, allowTargets);
}

/** An http(s) URL without credentials, or why not. */
function parseOutbound(target: string): URL | string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol.replace(':', '')} is not http or https`;
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  return url;
}

/** The host rule shared by every outbound connection: literal loopback, or listed in allowTargets. */
function hostProblem(url: URL, allowTargets: readonly string[]): string | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const allowed = allowTargets.some((a) => {
    const e = a.toLowerCase().replace(/^https?:\/\//, '').replace(/\/$/, '');
    return e === host || e === url.host.toLowerCase();
  });
  return allowed ? undefined : `host ${url.hostname} is not loopback and not listed in allowTargets`;
}

export function assertTargetAllowed(target: string, allowTargets: readonly string[], where: string): URL {
  const problem = targetProblem(target, allowTargets);
  if (problem) throw new TargetNotAllowedError(target, where, problem);
  return new URL(target);
}

export function assertRemoteWriteAllowed(target: string, allowTargets: readonly string[], where: string): URL {
  const problem = remoteWriteProblem(target, allowTargets);
  if (problem) throw new TargetNotAllowedError(target, where, problem);
  return new URL(target);
}
