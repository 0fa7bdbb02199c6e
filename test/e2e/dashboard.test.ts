/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser download): it loads, shows what /stats says after known traffic,
 * and resets a limited client through its button once the admin token is entered.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { WEB_CONFIG } from '../observe/web-config.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-token-71c';

let rg: TestSidecar;
let profile: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

interface Stats {
  totals: Record<string, number>;
  topLimited: { domain: string; descriptor: { key: string; value: string }[]; limited: number }[];
}

const stats = async () => (await (await fetch(`${rg.httpUrl}/stats`)).json()) as Stats;

beforeAll(async () => {
  // Identities in full: reset buttons need the real descriptor values (hashed ones name no bucket).
  rg = await startTestSidecar({ 'web.yaml': WEB_CONFIG }, ['--admin-token', TOKEN, '--stats-identities', 'full']);
  for (let i = 0; i < 13; i++) await rg.call(request('web', [['user', 'alice']]));
  for (let i = 0; i < 11; i++) await rg.call(request('web', [['user', 'bob']]));
  for (let i = 0; i < 3; i++) await rg.call(request('web', [['path', '/beta']]));
  profile = mkdtempSync(join(tmpdir(), 'rg-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
}, 60_000);
afterAll(async () => {
  await context?.close();
  await rg?.stop();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
});

/** The top-limited table as [domain, descriptor, limited] rows. */
const topRows = () =>
  page.$$eval('#top-limited tbody tr', (rows) => rows.map((row) => [...row.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent ?? '')));

describe('GET /dashboard', () => {
  it('loads and shows the numbers /stats gives after known traffic', async () => {
    const res = await page.goto(`${rg.httpUrl}/dashboard?refresh=300`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.waitForSelector('body[data-generated-at]', { timeout: 10_000 });
    const expected = await stats();
    expect(expected.totals).toMatchObject({ requests: 27, allowed: 22, overLimit: 4, shadowOverLimit: 1, failureMode: 0 });
    const shown = await page.$$eval(
      ['requests', 'allowed', 'over-limit', 'shadow', 'failure-mode', 'local-cache'].map((id) => `#total-${id}`).join(','),
      (cells) => cells.map((c) => c.textContent),
    );
    expect(shown).toEqual([27, 22, 4, 1, 0, 0].map(String));
    // Answers that did not come from the store are labelled so.
    expect(await page.$$eval('.card.failure .label', (labels) => labels.map((l) => l.textContent))).toEqual([
      'failure mode (not from the store)',
      'local cache (not from the store)',
    ]);
    expect(await topRows()).toEqual([
      ['web', 'user=alice', '3'],
      ['web', 'user=bob', '1'],
    ]);
    expect(await page.textContent('#store-kind')).toBe('memory');
    expect(await page.textContent('#rlconfig')).toContain('web.user: unit=MINUTE requests_per_unit=10');
    expect(await page.textContent('#config-loads')).toMatch(/^1 ok, 0 rejected/);
    // No token yet: no reset buttons.
    expect(await page.$$('button.reset')).toHaveLength(0);
    expect(await page.textContent('#admin-state')).toBe('enter the token to reset');
  });

  it('refreshes itself', async () => {
    for (let i = 0; i < 2; i++) await rg.call(request('web', [['user', 'carol']]));
    await expect.poll(() => page.textContent('#total-requests'), { timeout: 10_000 }).toBe('29');
  });

  it('resets a client through its button once the token is entered', async () => {
    await page.fill('#token', TOKEN);
    await page.click('#token-save');
    await page.waitForSelector('button.reset', { timeout: 10_000 });
    expect(await page.textContent('#admin-state')).toBe('reset enabled');
    const aliceRow = page.locator('#top-limited tbody tr', { hasText: 'user=alice' });
    await aliceRow.locator('button.reset').click();
    await expect.poll(() => page.textContent('#message'), { timeout: 10_000 }).toBe('reset web user=alice: 1 of 1 buckets cleared');
    const bucket = (await (await fetch(`${rg.httpUrl}/buckets?domain=web&descriptor=user=alice`)).json()) as { buckets: { remaining: number }[] };
    expect(bucket.buckets.map((b) => b.remaining)).toEqual([10]);
    expect((await rg.call(request('web', [['user', 'alice']]))).overallCode).toBe(Code.OK);
    await expect.poll(async () => (await topRows()).map((row) => row[1]), { timeout: 10_000 }).toEqual(['user=bob']);
    expect((await stats()).topLimited.map((t) => t.descriptor[0]!.value)).toEqual(['bob']);
    expect(pageErrors).toEqual([]);
  });

  it('on an HTTP port bound to 0.0.0.0 it needs the token, and with identities hashed it offers no reset', async () => {
    const exposed = await startTestSidecar({ 'web.yaml': WEB_CONFIG }, ['--admin-token', TOKEN, '--host', '0.0.0.0']);
    try {
      for (let i = 0; i < 13; i++) await exposed.call(request('web', [['user', 'mallory']]));
      const res = await page.goto(`http://127.0.0.1:${exposed.sidecar.httpPort}/dashboard?refresh=300`);
      expect(res?.status()).toBe(200);
      await expect.poll(() => page.textContent('#message'), { timeout: 10_000 }).toBe('this port shows the numbers with the admin token only: enter it above');
      await page.fill('#token', TOKEN);
      await page.click('#token-save');
      await page.waitForSelector('body[data-generated-at]', { timeout: 10_000 });
      const digest = createHash('sha256').update('mallory').digest('hex').slice(0, 16);
      expect(await topRows()).toEqual([['web', `user=sha256:${digest}`, '3']]);
      expect(await page.textContent('#admin-state')).toBe('identities shown as hash: reset with POST /reset');
      expect(await page.$$('button.reset')).toHaveLength(0);
      // Chromium logs each refused /stats (before the token) as a failed resource; nothing else went wrong.
      expect(new Set(pageErrors)).toEqual(new Set(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']));
    } finally {
      await exposed.stop();
    }
  });
});

/** Where one cell of the top-K table is drawn, and whether its content fits it. */
interface CellBox {
  text: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** Content wider or taller than the cell (clipped or spilling into its neighbour). */
  overflows: boolean;
  /** The element drawn at the cell's centre is the cell or inside it: nothing covers it. */
  onTop: boolean;
}

describe('GET /dashboard/ layout: the whole "Top limited identities" table is visible', () => {
  const LONG_KEY = `api-key-${'f3a9c07e'.repeat(10)}`; // an 88-character identity
  let wide: TestSidecar;
  let errorsBefore: number;
  beforeAll(async () => {
    wide = await startTestSidecar({ 'web.yaml': WEB_CONFIG }, ['--admin-token', TOKEN, '--stats-identities', 'full']);
    for (const user of [LONG_KEY, 'bob', 'carol']) for (let i = 0; i < 13; i++) await wide.call(request('web', [['user', user]]));
    // The previous test's page polls a sidecar that is gone: leave it before counting errors.
    await page.goto('about:blank');
    errorsBefore = pageErrors.length;
  });
  afterAll(async () => {
    await wide?.stop();
  });

  it.each([
    [1280, 800],
    [1920, 1080],
  ])('at %d×%d px every cell, reset button included, is inside the viewport, not zero-size, not clipped', async (width, height) => {
    await page.setViewportSize({ width, height });
    // The trailing slash: the page's requests go to /stats, not /dashboard/stats.
    const res = await page.goto(`${wide.httpUrl}/dashboard/?refresh=300`);
    expect(res?.status()).toBe(200);
    await page.fill('#token', TOKEN);
    await page.click('#token-save');
    await page.waitForSelector('button.reset', { timeout: 10_000 });
    expect(await page.textContent('#message')).toBe('');
    expect(await page.textContent('#total-requests')).toBe('39');
    expect(await topRows()).toEqual([
      ['web', `user=${LONG_KEY}`, '3'],
      ['web', 'user=bob', '3'],
      ['web', 'user=carol', '3'],
    ]);
    expect(await page.$$('#top-limited button.reset')).toHaveLength(3);

    const { cells, section } = await page.$eval('#top-limited', (table) => {
      const box = (r: { left: number; right: number; top: number; bottom: number }) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
      const measured = [...table.querySelectorAll('th, td, button')].map((element) => {
        const r = element.getBoundingClientRect();
        const hit = table.ownerDocument.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {
          text: element.textContent ?? '',
          ...box(r),
          overflows: element.scrollWidth > element.clientWidth || element.scrollHeight > element.clientHeight,
          onTop: hit !== null && (hit === element || element.contains(hit)),
        };
      });
      const container = table.closest('section')!;
      return { cells: measured, section: { ...box(container.getBoundingClientRect()), scrolls: container.scrollWidth > container.clientWidth } };
    });
    // 5 header cells, 3 rows of 5 cells, 3 buttons.
    expect(cells).toHaveLength(23);
    expect(section.scrolls).toBe(false);
    const problems = (cell: CellBox) => [
      ...(cell.right - cell.left > 0 && cell.bottom - cell.top > 0 ? [] : ['zero-size']),
      ...(cell.left >= 0 && cell.right <= width && cell.top >= 0 && cell.bottom <= height ? [] : ['outside the viewport']),
      ...(cell.left >= section.left && cell.right <= section.right ? [] : ['outside its panel']),
      ...(cell.overflows ? ['clipped'] : []),
      ...(cell.onTop ? [] : ['covered']),
    ];
    // Empty header and action cells have no text to see; they must still be laid out.
    expect(cells.map((cell) => ({ text: cell.text, problems: problems(cell) })).filter((c) => c.problems.length > 0)).toEqual([]);
  });

  it('the page raised no error at either width', () => {
    expect(pageErrors.slice(errorsBefore)).toEqual([]);
  });
});
