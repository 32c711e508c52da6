// Compose value formats: Go durations, Docker memory units (binary), CPU counts, and shell-like word splitting.

const DURATION_PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go/Compose duration ("1m30s", "500ms", "0") → milliseconds; undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : undefined;
}

// Docker's RAMInBytes: every unit is binary, with optional "i" and "b" ("512m", "1gb", "256MiB").
const MEMORY = /^(\d+(?:\.\d+)?)\s?([kmgtp])?(i)?(b)?$/i;
const MEMORY_SHIFT: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/** Memory size ("512m", "1g", "256MiB", 1073741824) → bytes; undefined when malformed or not positive. */
export function parseMemoryBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  const m = MEMORY.exec(value.trim());
  if (!m) return undefined;
  // "5i" alone is not a unit.
  if (m[3] && !m[2]) return undefined;
  const bytes = Math.floor(Number(m[1]) * 1024 ** (MEMORY_SHIFT[(m[2] ?? '').toLowerCase()] ?? 0));
  return bytes > 0 ? bytes : undefined;
}

/** CPU count (1.5 or "0.5") → Docker NanoCpus; undefined when malformed or not positive. */
export function parseNanoCpus(value: string | number): number | undefined {
  const n = typeof value === 'number' ? value : /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1e9) : undefined;
}

/**
 * Splits a command string into words the way a POSIX shell would tokenize it, without running one:
 * single quotes are literal, double quotes allow \" \\ \$ \` escapes, a bare backslash escapes the next char.
 * Throws on an unterminated quote.
 */
export function shellSplit(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      let closed = false;
      while (i < text.length) {
        const d = text[i] as string;
        if (d === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1] as string)) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i += 1;
        }
      }
      if (!closed) throw new Error('unterminated double quote');
      inWord = true;
    } else if (c === '\\') {
      // Backslash-newline is a line continuation; any other escaped char is taken literally.
      if (text[i + 1] !== '\n') {
        if (i + 1 < text.length) word += text[i + 1];
        inWord = true;
      }
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += 1;
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}
