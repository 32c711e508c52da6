// Static checks of collectors/ with the real promtool. A missing promtool is a failure, not a skip: these files
// are only trustworthy when promtool has seen them.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './generate.ts';

const PROMTOOL = '/usr/bin/promtool';
const COLLECTORS = join(REPO_ROOT, 'collectors');
const RULES = join(COLLECTORS, 'rules');

function promtool(...args: string[]): string {
  if (!existsSync(PROMTOOL))
    throw new Error(`${PROMTOOL} is missing: install Debian's prometheus package (apt-get install prometheus) to validate collectors/`);
  try {
    return execFileSync(PROMTOOL, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

describe('promtool', () => {
  it('is installed', () => {
    expect(existsSync(PROMTOOL), `${PROMTOOL} is missing: install Debian's prometheus package`).toBe(true);
  });

  it('check config collectors/prometheus.yml (also loads its rule files)', () => {
    expect(promtool('check', 'config', join(COLLECTORS, 'prometheus.yml'))).toContain('SUCCESS');
  });

  it('check rules collectors/rules/*.yml (rule files, not the unit tests)', () => {
    const files = readdirSync(RULES)
      .filter((f) => f.endsWith('.yml') && !f.endsWith('.test.yml'))
      .map((f) => join(RULES, f));
    expect(files.map((f) => f.slice(RULES.length + 1)).sort()).toEqual(['alerts.yml', 'recording.yml']);
    expect(promtool('check', 'rules', ...files)).toContain('SUCCESS');
  });

  it('test rules collectors/rules/alerts.test.yml', () => {
    expect(promtool('test', 'rules', join(RULES, 'alerts.test.yml'))).toContain('SUCCESS');
  });
});
