#!/usr/bin/env node
// Runs before dependencies exist, so it uses Node built-ins only: install deps when missing or stale,
// then hand over to the TypeScript bootstrap (engine, images, tools).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.loadscope-lock-sha256');
const lockHash = createHash('sha256').update(readFileSync(lock)).digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== lockHash) {
  process.stderr.write('loadscope bootstrap: installing dependencies (npm ci)…\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write('loadscope bootstrap: npm ci failed\n');
    process.exit(3);
  }
  writeFileSync(stamp, `${lockHash}\n`);
}

const { register } = await import('tsx/esm/api');
register();
const { runBootstrap } = await import('./bootstrap.ts');
process.exitCode = await runBootstrap(process.argv.slice(2), root);
