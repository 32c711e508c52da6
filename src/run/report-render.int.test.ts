// Opens generated report.html files in the system's headless Chromium (offline, file://): the charts must
// draw, nothing may be fetched, the console must stay clean; report.png is saved in the run directory.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRunFiles, type SyntheticRunOptions } from '../report/testing/synthetic-run.ts';
import { analyzeRunDir } from './analyze-run.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Evaluated in the page (a string: the test's tsconfig has no DOM lib). Counts non-transparent pixels per
// chart canvas: proof that uPlot actually drew.
const COUNT_PAINTED_JS = `[...document.querySelectorAll('.chart')].map((el) => {
  const canvas = el.querySelector('canvas');
  if (!canvas) return { id: el.id, painted: -1 };
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return { id: el.id, painted: n };
})`;

let root: string;
let context: BrowserContext | undefined;

function runDir(name: string, o: SyntheticRunOptions & { killed?: boolean }): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [f, text] of Object.entries(syntheticRunFiles(o))) writeFileSync(join(dir, f), text);
  analyzeRunDir(dir, { generatedAt: new Date('2024-01-01T00:00:00Z') });
  return dir;
}

async function open(dir: string) {
  if (!context) throw new Error('browser not started');
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(join(dir, 'report.html')).href;
  await page.setViewportSize({ width: 1360, height: 900 });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-charts-ready]', { timeout: 15_000 });
  // non-transparent pixels per chart canvas: proof that uPlot actually drew
  const painted = await page.evaluate<{ id: string; painted: number }[]>(COUNT_PAINTED_JS);
  const ready = Number(await page.getAttribute('body', 'data-charts-ready'));
  const incompleteShown = await page.isVisible('#incomplete-marker');
  // an injected <img onerror> would exist as an element; escaped names are text only
  const injected = await page.locator('img').count();
  await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  await page.close();
  return { url, consoleErrors, requests, painted, ready, incompleteShown, injected };
}

describe('report.html in headless Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (apt-get install -y chromium)`);
    root = mkdtempSync(join(tmpdir(), 'loadscope-report-'));
    // a fresh profile per run: no state, no first-run fetches
    context = await chromium.launchPersistentContext(join(root, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, offline: true });
  }, 60_000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      if (root) rmSync(root, { recursive: true, force: true });
    }
  });

  it('draws every chart of a stepped stress run, offline and without console errors', async () => {
    const dir = runDir('stress', { kind: 'steps' });
    const r = await open(dir);
    expect(r.consoleErrors).toEqual([]);
    expect(r.requests.every((u) => u === r.url)).toBe(true);
    expect(r.ready).toBe(6);
    expect(r.incompleteShown).toBe(false);
    expect(r.painted).toHaveLength(6);
    for (const c of r.painted) expect(c.painted, c.id).toBeGreaterThan(2000);
    expect(statSync(join(dir, 'report.png')).size).toBeGreaterThan(20_000);
  });

  it('draws a killed soak run with hostile names, marked incomplete, no script injection', async () => {
    const dir = runDir('soak-killed', { kind: 'soak', killed: true, hostile: true });
    const r = await open(dir);
    expect(r.consoleErrors).toEqual([]);
    expect(r.requests.every((u) => u === r.url)).toBe(true);
    for (const c of r.painted) expect(c.painted, c.id).toBeGreaterThan(2000);
    expect(r.incompleteShown).toBe(true);
    expect(r.injected).toBe(0);
    expect(existsSync(join(dir, 'report.png'))).toBe(true);
  });
});
