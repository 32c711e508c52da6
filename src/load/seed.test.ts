// A run's seed fixes its users' random choices (docs/CONFIG.md, seed): the same seed gives every user the same
// sequence of tasks and randomInt values, another seed another one. What timing decides (how many requests fit in
// the run) may differ, so sequences are compared over their common length.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSeed, seededRng } from '../common/random.ts';
import { parseConfigObject } from '../config/load.ts';
import { allowTarget } from '../config/target.ts';
import { runLoad } from './engine.ts';
import { planShape } from './shapes/registry.ts';

const flow = parseConfigObject(
  {
    flow: {
      tasks: [
        { name: 'a', weight: 1, path: '/a?u={{userId}}&n={{randomInt 1 1000000}}' },
        { name: 'b', weight: 3, path: '/b?u={{userId}}&n={{randomInt 1 1000000}}' },
      ],
    },
    scenarios: { s: { shape: { kind: 'ramp', users: 1, duration: '1s' } } },
  },
  'test',
).flow;

const USERS = 6;
let server: http.Server;
let url: string;
/** run tag → user → the request paths it sent, in order */
const seen = new Map<string, Map<string, string[]>>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const run = req.headers['x-run'] ? String(req.headers['x-run']) : String(u.searchParams.get('run'));
    const byUser = seen.get(run) ?? new Map<string, string[]>();
    seen.set(run, byUser);
    const user = u.searchParams.get('u') ?? '?';
    byUser.set(user, [...(byUser.get(user) ?? []), `${u.pathname}:${u.searchParams.get('n')}`]);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** One 1.5-s run of USERS users on 2 load threads, its requests tagged with `tag`. */
async function runWith(tag: string, seed: number): Promise<Map<string, string[]>> {
  const tagged = { ...flow, tasks: flow.tasks.map((t) => ({ ...t, headers: { ...t.headers, 'x-run': tag } })) };
  await runLoad({
    flow: tagged,
    target: allowTarget(url, [], 'test'),
    timeline: planShape({ kind: 'ramp', users: USERS, rampUpMs: 0, durationMs: 1_500 }),
    thinkMinMs: 5,
    thinkMaxMs: 25,
    requestTimeoutMs: 2_000,
    workers: 2,
    seed,
    onSecond: () => {},
  });
  return seen.get(tag) ?? new Map();
}

const common = (a: readonly string[], b: readonly string[]): [string[], string[]] => {
  const n = Math.min(a.length, b.length);
  return [a.slice(0, n), b.slice(0, n)];
};

describe('the run seed', () => {
  it('the same seed gives every user the same tasks and randomInt values; another seed other ones', async () => {
    const [first, again, other] = await Promise.all([runWith('first', 42), runWith('again', 42), runWith('other', 43)]);
    expect(first.size).toBe(USERS);
    expect(again.size).toBe(USERS);
    let compared = 0;
    let differing = 0;
    for (const [user, seq] of first) {
      const [a, b] = common(seq, again.get(user) ?? []);
      expect(a.length).toBeGreaterThanOrEqual(10);
      expect(b).toEqual(a);
      compared += a.length;
      const [c, d] = common(seq, other.get(user) ?? []);
      if (c.join() !== d.join()) differing++;
    }
    expect(compared).toBeGreaterThanOrEqual(USERS * 10);
    // randomInt draws from 10⁶ values: with another seed no user's sequence repeats
    expect(differing).toBe(USERS);
  });

  it('derived streams are distinct and reproducible: 10 000 (seed, index) pairs, no collision', () => {
    // 32-bit outputs: 10⁴ values collide by chance with probability ~10⁸/2³³ ≈ 1 %, 10⁵ would expect one collision;
    // what must not happen is the structural kind (seed 1, index 0 = seed 0, index 1)
    const out = new Set<number>();
    for (let seed = 0; seed < 100; seed++) for (let i = 0; i < 100; i++) out.add(deriveSeed(seed, i));
    expect(out.size).toBe(10_000);
    expect(deriveSeed(42, 3, 1)).toBe(deriveSeed(42, 3, 1));
    const a = seededRng(deriveSeed(42, 3));
    const b = seededRng(deriveSeed(42, 3));
    for (let k = 0; k < 100; k++) expect(a()).toBe(b());
  });
});
