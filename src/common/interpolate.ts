// Compose variable interpolation, done by hand so no value ever passes through a shell.
// ${VAR} $VAR ${VAR:-d} ${VAR-d} ${VAR:?err} ${VAR?err} ${VAR:+alt} ${VAR+alt}; $$ is a literal $.

export type Env = Readonly<Record<string, string | undefined>>;

export class InterpolationError extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

/**
 * Expands variables in one string value. Unset variables without a default become "" and are reported
 * through `onUnset` (Compose warns rather than fails). Throws InterpolationError on `:?`/`?` or bad syntax.
 */
export function interpolate(value: string, env: Env, onUnset: (name: string) => void = () => {}): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c !== '$') {
      out += c;
      i += 1;
      continue;
    }
    const next = value[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = matchingBrace(value, i + 2);
      if (end < 0) throw new InterpolationError(`unterminated "\${" in "${value}"`);
      out += expandBraced(value.slice(i + 2, end), env, onUnset);
      i = end + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      const name = NAME.exec(value.slice(i + 1))?.[0] ?? '';
      out += lookup(name, env, onUnset);
      i += 1 + name.length;
    } else {
      throw new InterpolationError(`invalid interpolation format in "${value}": use $$ for a literal $`);
    }
  }
  return out;
}

/** Index of the "}" closing a "${" whose body starts at `from`; nested ${...} in defaults count. */
function matchingBrace(s: string, from: number): number {
  let depth = 1;
  for (let j = from; j < s.length; j += 1) {
    if (s[j] === '{') depth += 1;
    else if (s[j] === '}') {
      depth -= 1;
      if (depth === 0) return j;
    }
  }
  return -1;
}

function expandBraced(body: string, env: Env, onUnset: (name: string) => void): string {
  const m = BRACED.exec(body);
  if (!m) throw new InterpolationError(`invalid interpolation format "\${${body}}"`);
  const name = m[1] ?? '';
  const op = m[2];
  const arg = m[3] ?? '';
  const raw = env[name];
  const unset = raw === undefined;
  const emptyOrUnset = unset || raw === '';
  switch (op) {
    case undefined:
      return lookup(name, env, onUnset);
    case ':-':
      return emptyOrUnset ? interpolate(arg, env, onUnset) : raw;
    case '-':
      return unset ? interpolate(arg, env, onUnset) : raw;
    case ':?':
      if (emptyOrUnset) throw new InterpolationError(requiredMessage(name, arg, env, onUnset, 'not set or empty'));
      return raw;
    case '?':
      if (unset) throw new InterpolationError(requiredMessage(name, arg, env, onUnset, 'not set'));
      return raw;
    case ':+':
      return emptyOrUnset ? '' : interpolate(arg, env, onUnset);
    case '+':
      return unset ? '' : interpolate(arg, env, onUnset);
    default:
      throw new InterpolationError(`invalid interpolation format "\${${body}}"`);
  }
}

function requiredMessage(name: string, arg: string, env: Env, onUnset: (name: string) => void, what: string): string {
  const custom = interpolate(arg, env, onUnset);
  return custom === '' ? `required variable ${name} is ${what}` : `required variable ${name} is ${what}: ${custom}`;
}

function lookup(name: string, env: Env, onUnset: (name: string) => void): string {
  const v = env[name];
  if (v === undefined) {
    onUnset(name);
    return '';
  }
  return v;
}
