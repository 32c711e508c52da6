import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, type InputIssue } from '../../common/errors.ts';
import { loadComposeFile, parseCompose } from './parse.ts';

const SOURCE = '/proj/compose/stack.yml';

function issuesOf(text: string, env: Record<string, string | undefined> = {}): InputIssue[] {
  try {
    parseCompose(text, SOURCE, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.source).toBe(SOURCE);
    return [...err.issues];
  }
  throw new Error('expected a ConfigError');
}

function one(service: string, env: Record<string, string | undefined> = {}) {
  const project = parseCompose(`services:\n  s:\n${service.replace(/^/gm, '    ')}\n`, SOURCE, env);
  const [s] = project.services;
  if (!s) throw new Error('no service');
  return s;
}

describe('parseCompose: supported subset', () => {
  it('parses a full service', () => {
    const text = `
name: shop
x-defaults: &defaults
  labels: { team: perf }
services:
  postgres:
    <<: *defaults
    image: postgres:\${PG_VERSION:-16}
    environment:
      POSTGRES_PASSWORD: \${PGPASSWORD:?set PGPASSWORD}
      PGPORT: 5433
      DEBUG: false
    command: postgres -c 'shared_buffers=256MB'
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres"]
      interval: 1s
      timeout: 500ms
      start_period: 1m30s
      retries: 10
    mem_limit: 512m
    cpus: 1.5
    network_mode: host
    restart: "no"
    volumes: ["./init:/docker-entrypoint-initdb.d:ro", "pgdata:/var/lib/postgresql/data"]
  app:
    image: loadscope/app:dev
    entrypoint: ["node", "server.js"]
    environment: ["DATABASE_URL=postgres://localhost:5433/app", "HOME"]
    depends_on:
      postgres: { condition: service_healthy }
    container_name: my-app
    labels: ["tier=web", "flag"]
volumes:
  pgdata:
`;
    const project = parseCompose(text, SOURCE, { PGPASSWORD: 'secret', HOME: '/home/me' });
    expect(project.name).toBe('shop');
    expect(project.sourcePath).toBe(SOURCE);
    expect(project.warnings).toEqual([]);
    const [pg, app] = project.services;
    expect(pg).toEqual({
      name: 'postgres',
      image: 'postgres:16',
      command: ['postgres', '-c', 'shared_buffers=256MB'],
      environment: { POSTGRES_PASSWORD: 'secret', PGPORT: '5433', DEBUG: 'false' },
      networkMode: 'host',
      healthcheck: { test: ['CMD', 'pg_isready', '-U', 'postgres'], intervalMs: 1000, timeoutMs: 500, retries: 10, startPeriodMs: 90_000 },
      dependsOn: [],
      memoryBytes: 512 * 1024 * 1024,
      nanoCpus: 1_500_000_000,
      binds: ['/proj/compose/init:/docker-entrypoint-initdb.d:ro', 'shop_pgdata:/var/lib/postgresql/data'],
      labels: { team: 'perf' },
    });
    expect(app).toEqual({
      name: 'app',
      image: 'loadscope/app:dev',
      entrypoint: ['node', 'server.js'],
      environment: { DATABASE_URL: 'postgres://localhost:5433/app', HOME: '/home/me' },
      networkMode: 'host',
      dependsOn: [{ service: 'postgres', condition: 'service_healthy' }],
      binds: [],
      labels: { tier: 'web', flag: '' },
      containerName: 'my-app',
    });
  });

  it('defaults the project name to the directory and network mode to host', () => {
    const project = parseCompose('services:\n  a:\n    image: x\n', '/some/My Stack/compose.yml', {});
    expect(project.name).toBe('mystack');
    expect(project.services[0]?.networkMode).toBe('host');
  });

  it('reports unset variables as warnings and substitutes ""', () => {
    const project = parseCompose('services:\n  a:\n    image: x\n    environment: { A: "${NOPE}" }\n', SOURCE, {});
    expect(project.services[0]?.environment).toEqual({ A: '' });
    expect(project.warnings).toEqual(['variable NOPE is not set; substituted an empty string']);
  });

  it('does not interpolate keys, and $$ escapes', () => {
    const s = one('image: x\nenvironment:\n  $KEY: "cost $$5"\ncommand: ["sh", "-c", "echo $$HOME"]', { KEY: 'no' });
    expect(s.environment).toEqual({ $KEY: 'cost $5' });
    expect(s.command).toEqual(['sh', '-c', 'echo $HOME']);
  });

  it('reads healthcheck forms and Docker defaults', () => {
    expect(one('image: x\nhealthcheck:\n  test: curl -f http://localhost/ || exit 1').healthcheck).toEqual({
      test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
    });
    expect(one('image: x\nhealthcheck:\n  test: ["CMD-SHELL", "pg_isready"]').healthcheck?.test).toEqual(['CMD-SHELL', 'pg_isready']);
    expect(one('image: x\nhealthcheck:\n  disable: true').healthcheck?.test).toEqual(['NONE']);
    expect(one('image: x\nhealthcheck:\n  test: ["NONE"]').healthcheck?.test).toEqual(['NONE']);
  });

  it('reads depends_on as a list and as a map with default condition', () => {
    const text =
      'services:\n  a: { image: x }\n  b: { image: x, depends_on: [a] }\n  c: { image: x, depends_on: { a: {condition: service_completed_successfully}, b: null } }\n';
    const [, b, c] = parseCompose(text, SOURCE, {}).services;
    expect(b?.dependsOn).toEqual([{ service: 'a', condition: 'service_started' }]);
    expect(c?.dependsOn).toEqual([
      { service: 'a', condition: 'service_completed_successfully' },
      { service: 'b', condition: 'service_started' },
    ]);
  });

  it('accepts restart false (YAML 1.1 "no"), version and x- keys', () => {
    const project = parseCompose('version: "3.9"\nx-anything: { ports: [1] }\nservices:\n  a: { image: x, restart: false, x-note: hi }\n', SOURCE, {});
    expect(project.services).toHaveLength(1);
  });

  it('resolves ~ against HOME', () => {
    expect(one('image: x\nvolumes: ["~/data:/data"]', { HOME: '/home/me' }).binds).toEqual(['/home/me/data:/data']);
  });
});

describe('parseCompose: errors', () => {
  it.each([
    ['ports', 'ports: ["80:80"]'],
    ['networks', 'networks: [default]'],
    ['build', 'build: .'],
    ['privileged', 'privileged: true'],
    ['deploy', 'deploy: { replicas: 2 }'],
    ['expose', 'expose: ["80"]'],
    ['user', 'user: root'],
    ['cap_add', 'cap_add: [NET_ADMIN]'],
  ])('services.app.%s is an unsupported Compose key', (key, line) => {
    expect(issuesOf(`services:\n  app:\n    image: x\n    ${line}\n`)).toEqual([{ path: `services.app.${key}`, message: 'unsupported Compose key' }]);
  });

  it('rejects unsupported keys at the top level and inside nested objects', () => {
    const text = `networks: { n: {} }
configs: {}
services:
  app:
    image: x
    healthcheck: { test: "true", start_interval: 1s }
    depends_on: { db: { condition: service_started, restart: true } }
  db: { image: x }
volumes:
  data: { driver: local }
`;
    expect(issuesOf(text)).toEqual(
      expect.arrayContaining([
        { path: 'networks', message: 'unsupported Compose key' },
        { path: 'configs', message: 'unsupported Compose key' },
      ]),
    );
    const rest = issuesOf(text.replace('networks: { n: {} }\nconfigs: {}\n', ''));
    expect(rest).toEqual(
      expect.arrayContaining([
        { path: 'volumes.data.driver', message: 'unsupported Compose key' },
        { path: 'services.app.healthcheck.start_interval', message: 'unsupported Compose key' },
        { path: 'services.app.depends_on.db.restart', message: 'unsupported Compose key' },
      ]),
    );
    expect(rest).toHaveLength(3);
  });

  it('reports every problem at once, with paths', () => {
    const text = `services:
  app:
    build: .
    network_mode: bridge
    mem_limit: lots
    cpus: -1
    restart: always
    command: "echo 'unterminated"
    environment: { A: "\${REQUIRED:?needed for app}" }
    healthcheck: { test: ["RUN", "x"], interval: 10, timeout: 5 seconds, retries: 1.5 }
    volumes: ["/only-container-path", "undeclared:/data", "./x:relative", "/a:/b:rx"]
    depends_on: [ghost]
  web:
    image: x
    depends_on: { app: { condition: when_ready } }
`;
    const issues = issuesOf(text);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'services.app.environment.A',
        'services.app.build',
        'services.app.image',
        'services.app.network_mode',
        'services.app.mem_limit',
        'services.app.cpus',
        'services.app.restart',
        'services.app.command',
        'services.app.healthcheck.interval',
        'services.app.healthcheck.timeout',
        'services.app.healthcheck.retries',
        'services.web.depends_on.app.condition',
      ]),
    );
    const byPath = new Map(issues.map((i) => [i.path, i.message]));
    expect(byPath.get('services.app.environment.A')).toBe('required variable REQUIRED is not set or empty: needed for app');
    expect(byPath.get('services.app.network_mode')).toMatch(/"bridge" is not supported.*host/);
    expect(byPath.get('services.app.image')).toMatch(/required/);
    expect(byPath.get('services.app.healthcheck.timeout')).toMatch(/invalid duration "5 seconds"/);
    expect(byPath.get('services.app.restart')).toMatch(/only "no"/);
  });

  it('checks volumes, dependencies and container names across services', () => {
    const text = `services:
  a:
    image: x
    volumes: ["/only-container-path", "undeclared:/data", "./x:relative", "/a:/b:rx", "data:/ok"]
    depends_on: [ghost]
  b: { image: x, container_name: loadscope-p-a }
name: p
volumes: { data: null }
`;
    expect(issuesOf(text)).toEqual([
      { path: 'services.a.volumes.0', message: expect.stringMatching(/anonymous volume/) },
      { path: 'services.a.volumes.1', message: 'named volume "undeclared" is not declared under the top-level volumes: key' },
      { path: 'services.a.volumes.2', message: expect.stringMatching(/container path must be absolute/) },
      { path: 'services.a.volumes.3', message: expect.stringMatching(/invalid volume mode "rx"/) },
      { path: 'services.a.depends_on.ghost', message: 'unknown service "ghost"' },
      { path: 'services.b.container_name', message: 'container name "loadscope-p-a" is also used by a' },
    ]);
  });

  it('detects dependency cycles', () => {
    const text = 'services:\n  a: { image: x, depends_on: [c] }\n  b: { image: x, depends_on: [a] }\n  c: { image: x, depends_on: [b] }\n';
    expect(issuesOf(text)).toEqual([{ path: 'services.a.depends_on', message: 'dependency cycle: a → c → b → a' }]);
  });

  it('rejects service_healthy on a service whose healthcheck is disabled', () => {
    const text = 'services:\n  a: { image: x, healthcheck: { disable: true } }\n  b: { image: x, depends_on: { a: { condition: service_healthy } } }\n';
    expect(issuesOf(text)).toEqual([{ path: 'services.b.depends_on.a', message: 'condition service_healthy but a has its healthcheck disabled' }]);
  });

  it('checks the healthcheck test form', () => {
    expect(issuesOf('services:\n  a: { image: x, healthcheck: { test: [RUN, x] } }\n')).toEqual([
      { path: 'services.a.healthcheck.test.0', message: 'must start with "CMD", "CMD-SHELL" or "NONE", got "RUN"' },
    ]);
    expect(issuesOf('services:\n  a: { image: x, healthcheck: { test: [CMD] } }\n')).toEqual([
      { path: 'services.a.healthcheck.test', message: '"CMD" needs a command after it' },
    ]);
  });

  it('requires a healthcheck test unless disabled', () => {
    expect(issuesOf('services:\n  a: { image: x, healthcheck: { interval: 1s } }\n')).toEqual([
      { path: 'services.a.healthcheck.test', message: expect.stringMatching(/^required/) },
    ]);
  });

  it('reports malformed YAML with line and column', () => {
    const issues = issuesOf('services:\n  a: { image: x\n');
    expect(issues[0]?.path).toBe('(yaml)');
    expect(issues[0]?.message).toMatch(/^line \d+ col \d+: /);
  });

  it('rejects a document that is not a mapping, and a missing services key', () => {
    expect(issuesOf('- a\n- b\n')).toEqual([{ path: '', message: expect.stringMatching(/mapping/) }]);
    expect(issuesOf('name: x\n')).toEqual([{ path: 'services', message: 'required: a map of services' }]);
  });

  it('rejects bad project and service names', () => {
    expect(issuesOf('name: Bad Name\nservices:\n  "a b": { image: x }\n').map((i) => i.path)).toEqual(['name', 'services.a b']);
  });
});

describe('loadComposeFile', () => {
  it('reads a file and anchors relative binds at its directory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'loadscope-compose-'));
    const file = path.join(dir, 'stack.yml');
    await writeFile(file, 'services:\n  a: { image: "${IMG}", volumes: ["./sql:/sql:ro"] }\n');
    const project = loadComposeFile(file, { IMG: 'postgres:16' });
    expect(project.sourcePath).toBe(file);
    expect(project.services[0]?.image).toBe('postgres:16');
    expect(project.services[0]?.binds).toEqual([`${dir}/sql:/sql:ro`]);
  });

  it('turns a missing file into a ConfigError', () => {
    expect(() => loadComposeFile('/nonexistent/stack.yml', {})).toThrow(ConfigError);
  });
});

describe('the repository stack (compose/stack.yml)', () => {
  const file = fileURLToPath(new URL('../../../compose/stack.yml', import.meta.url));

  it('exists and parses into postgres and app, app waiting for a healthy postgres', () => {
    expect(existsSync(file), `${file} should exist`).toBe(true);
    // An empty environment: every variable in the file must have a default.
    const project = loadComposeFile(file, {});
    expect(project.warnings).toEqual([]);
    const pg = project.services.find((s) => s.name === 'postgres');
    const app = project.services.find((s) => s.name === 'app');
    expect(pg?.healthcheck?.test.length).toBeGreaterThan(0);
    expect(app?.dependsOn).toContainEqual({ service: 'postgres', condition: 'service_healthy' });
    for (const s of project.services) expect(s.networkMode).toBe('host');
    expect(project.services.some((s) => s.memoryBytes !== undefined)).toBe(true);
    expect(project.services.some((s) => s.nanoCpus !== undefined)).toBe(true);
    expect(app?.environment.DATABASE_URL).toMatch(/^postgres:\/\/\S+@127\.0\.0\.1:\d+\/\S+$/);
  });
});
