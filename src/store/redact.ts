// The manifest keeps the resolved config, minus secrets: passwords in DSNs and keys that name a secret.
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential/i;
const DSN_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):([^@\s]+)@/i;

export function redactSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (key && SECRET_KEY.test(key)) return '***';
    return value.replace(DSN_PASSWORD, '$1:***@');
  }
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? '***' : redactSecrets(v, k)]),
    );
  }
  return value;
}
