// Escaping and number formatting shared by the HTML, Markdown and JUnit renderers.
import { hoursParts } from '../analysis/leak.ts';

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For text and attribute values: endpoint and service names come from user config. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

// XML 1.0 forbids most C0 control characters even when escaped: drop them.
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
export const escapeXml = (s: string): string => escapeHtml(s.replace(XML_INVALID, ''));

/**
 * One Markdown table cell / inline text: no raw HTML (a `<` that could open a tag, an entity), no table
 * breaks, no emphasis surprises; a plain `p95 <= 500` stays readable in a terminal.
 */
export const escapeMd = (s: string): string =>
  s
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]|#~]/g, (c) => `\\${c}`)
    .replace(/&(?=#?\w+;)/g, '&amp;')
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
    .replace(/^>/, '\\>');

/**
 * JSON for a <script type="application/json"> block: `<` is escaped so `</script>` or `<!--` inside a
 * name cannot end the block; U+2028/2029 for old parsers.
 */
export const jsonForScript = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const DASH = '—';

export function fmtNum(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  if (Math.abs(x) >= 1e9) return x.toExponential(2);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(Math.abs(x) >= 100 ? 0 : digits).replace(/\.0+$/, '');
}

export const fmtMs = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? DASH : `${fmtNum(x, x < 10 ? 2 : 1)} ms`;
export const fmtRps = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? DASH : `${fmtNum(x)} req/s`);
export const fmtPct = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined || !Number.isFinite(x) ? DASH : `${(x * 100).toFixed(digits)} %`;
export const fmtS = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? DASH : `${fmtNum(x, 0)} s`);
export const fmtSigned = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? DASH : `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function fmtBytes(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  let v = Math.abs(x);
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${x < 0 ? '-' : ''}${v.toFixed(v >= 100 ? 0 : 1)} ${BYTE_UNITS[u]}`;
}

export const fmtBytesPerHour = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? DASH : `${fmtBytes(x)}/h`);
export const fmtHours = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? DASH : x >= 48 ? `${(x / 24).toFixed(1)} d` : hoursParts(x, 1).join(' ');

/** An SLO row's observed value in its unit. */
export function fmtSloValue(v: number | null, unit: 'ms' | 'ratio' | 'rps'): string {
  if (unit === 'ms') return fmtMs(v);
  if (unit === 'ratio') return fmtPct(v);
  return fmtRps(v);
}
