// Lint config; layering rules keep analysis/ and report/ pure and dockerode/pg/autocannon/OTel in one adapter each.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureLayers = ['**/stack/**', '**/load/**', '**/samplers/**', '**/telemetry/**', '**/store/**', '**/run/**', '**/cli/**', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:net', 'node:http'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dashboards/**', 'results/**', 'src/**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'dockerode', message: 'Only src/stack/runtime/dockerode-runtime.ts may import dockerode.' },
          { name: 'pg', message: 'Only the pg adapter (src/samplers/pg-client.ts) may import pg.' },
          { name: 'autocannon', message: 'Only the autocannon adapter (src/load/autocannon-driver.ts) may import autocannon.' },
        ],
      }],
    },
  },
  { files: ['src/stack/runtime/dockerode-runtime.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/samplers/pg-client.ts'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['src/load/autocannon-driver.ts'], rules: { 'no-restricted-imports': 'off' } },
  {
    files: ['src/analysis/**/*.ts', 'src/report/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: pureLayers.map((group) => ({ group: [group], message: 'analysis/ and report/ are pure: no I/O, no pipeline stages.' })) }] },
  },
);
