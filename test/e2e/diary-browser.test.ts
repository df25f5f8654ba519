import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { renderDiaryHtml } from '../../src/cli/render/diary-html.js';
import type { Diary } from '../../src/diary/types.js';
import { dayDiary, HOSTILE_SUBJECT, largeDiary, sampleDiary } from '../helpers/diary-fixture.js';
import { commitAll, git, initRepository, startUser, stepper, stepperJson } from '../helpers/e2e.js';
import { makeTempDir } from '../helpers/temp.js';

/** Path of Debian's chromium package, which .ci/run installs in CI. */
const CHROMIUM = '/usr/bin/chromium';
/**
 * Flags that keep Chromium from contacting any host on its own. Without
 * --disable-background-networking, it contacts outside hosts in the background.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** What the browser did while it showed one page. */
interface Visit {
  page: Page;
  url: string;
  pageErrors: string[];
  consoleMessages: string[];
  failedRequests: string[];
  /** Every request other than the page itself, which the route aborted. */
  otherRequests: string[];
}

const contexts: BrowserContext[] = [];

afterEach(async () => {
  for (const context of contexts.splice(0)) {
    await context.close();
  }
});

// A missing browser fails every test rather than skipping it, because CI must run them.
beforeEach(() => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium), as .ci/run does`);
  }
});

/** Writes the page to a file and opens it in a new headless Chromium with an empty profile. */
async function visit(html: string, colorScheme: 'light' | 'dark'): Promise<Visit> {
  const dir = makeTempDir('stepper-diary-browser-');
  const file = path.join(dir, 'diary.html');
  fs.writeFileSync(file, html);
  const url = pathToFileURL(file).href;

  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    colorScheme,
  });
  contexts.push(context);

  const result: Omit<Visit, 'page'> = { url, pageErrors: [], consoleMessages: [], failedRequests: [], otherRequests: [] };
  await context.route('**/*', async (route) => {
    if (route.request().url() === url) {
      await route.continue();
      return;
    }

    if (!result.otherRequests.includes(route.request().url())) {
      result.otherRequests.push(route.request().url());
    }
    await route.abort();
  });
  context.on('request', (request) => {
    if (request.url() !== url && !result.otherRequests.includes(request.url())) {
      result.otherRequests.push(request.url());
    }
  });

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => result.pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      result.consoleMessages.push(`${message.type()}: ${message.text()}`);
    }
  });
  page.on('requestfailed', (request) => result.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));

  await page.emulateMedia({ colorScheme });
  await page.goto(url, { waitUntil: 'load' });
  return { page, ...result };
}

/** Takes a full-page screenshot and checks it is a PNG of plausible size. Returns its width and height. */
async function screenshot(page: Page, name: string): Promise<{ width: number; height: number }> {
  const file = path.join(makeTempDir('stepper-diary-screenshot-'), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const png = fs.readFileSync(file);

  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.length).toBeGreaterThan(20_000);
  expect(png.length).toBeLessThan(30_000_000);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function expectQuiet(result: Visit): void {
  expect(result.pageErrors).toEqual([]);
  expect(result.consoleMessages).toEqual([]);
  expect(result.failedRequests).toEqual([]);
  expect(result.otherRequests).toEqual([]);
}

async function expectChart(page: Page, diary: Diary): Promise<void> {
  const chart = page.locator('svg.chart');
  await expect.poll(() => chart.isVisible()).toBe(true);
  const box = await chart.boundingBox();
  expect(box?.width ?? 0).toBeGreaterThan(400);
  expect(box?.height ?? 0).toBeGreaterThan(100);
  expect(await page.locator('svg.chart g.period').count()).toBe(diary.periods.length);
}

describe('diary HTML in Chromium', () => {
  it('stepper diary --format html renders quietly', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));

    // Three commits in ISO week 2025-W01, none in W02, two in W03.
    const subjects = [
      'feat(queue): add delayed jobs',
      'fix: keep the heartbeat',
      HOSTILE_SUBJECT,
      'docs: explain the diary',
      'chore: not reported yet',
    ];
    const days = [0, 1, 2, 15, 16];
    for (const [position, subject] of subjects.entries()) {
      const { result } = await commitAll(user, repo, { [`file-${position}.txt`]: `line\n`.repeat(position + 1) }, subject, { index: days[position] });
      expect(result.code, result.stderr).toBe(0);
    }
    const reported = await stepper(user, repo, ['report', '--wait', '-q', 'HEAD~4', 'HEAD~3', 'HEAD~2', 'HEAD~1']);
    expect(reported.code, reported.stderr).toBe(0);

    const args = ['diary', '--by', 'week', '--time-zone', 'Europe/Berlin', '--since', '2024-12-30T00:00:00Z', '--until', '2025-01-19T00:00:00Z'];
    const diary = await stepperJson<Diary>(user, repo, args);
    expect(diary.periods.map((period) => period.commits.length)).toEqual([3, 0, 2]);
    expect(diary.totals.reported).toBe(4);
    const page = await stepper(user, repo, [...args, '--format', 'html']);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stderr).toBe('');

    const result = await visit(page.stdout, 'light');
    await expectChart(result.page, diary);
    await screenshot(result.page, 'diary-cli');
    expect(await result.page.locator('li.commit').count()).toBe(5);
    expect(await result.page.locator('.badge.none').count()).toBe(1);
    expect(await result.page.locator('.period.empty').count()).toBe(1);
    expect(await result.page.locator('main').innerText()).toContain('<script>alert("x")</script>');
    expect(await result.page.locator('script').count()).toBe(0);
    expect(git(user, repo, ['rev-list', '--count', 'HEAD']).trim()).toBe('5');
    expectQuiet(result);
  });

  it('sample diary renders quietly in light', async () => {
    const diary = sampleDiary();
    const result = await visit(renderDiaryHtml(diary), 'light');
    const { page } = result;

    await expectChart(page, diary);
    const shot = await screenshot(page, 'diary-light');
    expect(shot.width).toBe(1280);
    expect(shot.height).toBeGreaterThan(900);

    // The stylesheet applied, so the policy's hash matches it.
    expect(await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor')).toBe('rgb(246, 247, 249)');
    expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= document.documentElement.clientWidth')).toBe(true);

    // The hostile subject shows as text and adds no element.
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('main').innerText()).toContain('<script>alert("x")</script>');
    expect(await page.locator('.badge.pending').count()).toBe(1);
    expect(await page.locator('.badge.failed').count()).toBe(1);
    expect(await page.locator('.badge.none').count()).toBe(1);
    expect(await page.locator('.period.empty').innerText()).toContain('No commits');
    expect(HOSTILE_SUBJECT).toContain('<script>');
    expectQuiet(result);
  });

  it('sample diary renders quietly in dark', async () => {
    const diary = sampleDiary();
    const result = await visit(renderDiaryHtml(diary), 'dark');
    const { page } = result;

    await expectChart(page, diary);
    await screenshot(page, 'diary-dark');
    expect(await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor')).toBe('rgb(13, 17, 23)');
    expect(await page.evaluate<string>("getComputedStyle(document.querySelector('svg.chart text')).fill")).not.toBe('rgb(0, 0, 0)');
    expectQuiet(result);
  });

  it('5,000 commits render quietly', async () => {
    const diary = largeDiary(5000);
    const result = await visit(renderDiaryHtml(diary), 'light');

    await expectChart(result.page, diary);
    expect(await result.page.locator('li.commit').count()).toBe(5000);
    expectQuiet(result);
  });

  it('long range renders quietly with apart labels', async () => {
    const diary = dayDiary('2000-01-01', 9000, Array.from({ length: 18 }, (_, index) => index * 500));
    const result = await visit(renderDiaryHtml(diary), 'light');
    const { page } = result;

    await expectChart(page, diary);
    await screenshot(page, 'diary-long');
    expect(await page.locator('.period.empty').count()).toBe(18);

    // Neighbouring x-axis labels, as laid out by the browser, never overlap.
    const boxes = await page.locator('svg.chart text.x-label').evaluateAll((nodes) => nodes.map((node) => node.getBoundingClientRect()).map((box) => [box.left, box.right]));
    expect(boxes.length).toBeGreaterThan(5);
    for (let index = 1; index < boxes.length; index += 1) {
      expect((boxes[index] as number[])[0]).toBeGreaterThan((boxes[index - 1] as number[])[1] as number);
    }
    expectQuiet(result);
  });
});

