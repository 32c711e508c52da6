// Lint config: the architecture is checked, not just described (docs/ARCHITECTURE.md). Each outside system has one
// adapter module; analysis/ and report/ are pure (no I/O, no clock, no process, no pipeline stages).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One adapter per outside library: the file allowed to import it, and the restriction everyone else gets. */
const ADAPTERS = [
  { file: 'src/stack/runtime/dockerode-runtime.ts', name: 'dockerode' },
  { file: 'src/samplers/pg-client.ts', name: 'pg' },
  { file: 'src/load/autocannon-driver.ts', name: 'autocannon' },
  { file: 'src/samplers/host.ts', name: 'systeminformation' },
  { file: 'src/telemetry/otel.ts', name: '@opentelemetry/*', pattern: true },
  // the remote-write codec imports the package's compiled proto (a subpath): a pattern covers it
  { file: 'src/telemetry/remote-write-codec.ts', name: 'prometheus-remote-write', pattern: true },
  { file: 'src/telemetry/remote-write-codec.ts', name: 'snappyjs' },
  { file: 'src/telemetry/remote-write-codec.ts', name: 'protobufjs' },
  { file: 'src/load/fleet/kubernetes-client.ts', name: '@kubernetes/client-node' },
];
const adapterPaths = (except) =>
  ADAPTERS.filter((a) => a.file !== except && !a.pattern).map((a) => ({
    name: a.name,
    message: `Only the ${a.name} adapter (${a.file}) may import ${a.name}.`,
  }));
const adapterPatterns = (except) =>
  ADAPTERS.filter((a) => a.file !== except && a.pattern).map((a) => ({ group: [a.name], message: `Only the adapter ${a.file} may import ${a.name}.` }));

const PURE_MESSAGE = 'analysis/ and report/ are pure: no I/O, no clock, no process, no pipeline stages (docs/ARCHITECTURE.md).';
const impureModules = ['**/stack/**', '**/load/**', '**/samplers/**', '**/telemetry/**', '**/store/**', '**/run/**', '**/cli/**'];
const impureNode = ['fs', 'fs/promises', 'os', 'child_process', 'net', 'http', 'https', 'dns', 'worker_threads', 'perf_hooks', 'timers', 'process'];
const pureRestrictions = {
  'no-restricted-imports': [
    'error',
    {
      paths: [...adapterPaths(), ...impureNode.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: PURE_MESSAGE }))],
      // store/run-format.ts is the run directory's format as pure data (zod schemas, no I/O): the analysis reads its types
      patterns: [...adapterPatterns(), ...impureModules.map((group) => ({ group: [group, '!**/store/run-format.ts'], message: PURE_MESSAGE }))],
    },
  ],
  'no-restricted-globals': [
    'error',
    ...['process', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'fetch'].map((name) => ({ name, message: PURE_MESSAGE })),
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: `Date.now(): ${PURE_MESSAGE} Take the time as input.` },
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date(): ${PURE_MESSAGE} Take the time as input.` },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dashboards/**', 'results/**', 'src/**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: adapterPaths(), patterns: adapterPatterns() }],
    },
  },
  ...ADAPTERS.map((a) => ({
    files: [a.file],
    rules: { 'no-restricted-imports': ['error', { paths: adapterPaths(a.file), patterns: adapterPatterns(a.file) }] },
  })),
  { files: ['src/analysis/**/*.ts', 'src/report/**/*.ts'], ignores: ['**/*.test.ts'], rules: pureRestrictions },
  // Small functions (STYLE: functions ≤ ~80 lines): blank lines and comments do not count. Tests are exempt:
  // a describe block is a list of cases, not one piece of logic.
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
);
