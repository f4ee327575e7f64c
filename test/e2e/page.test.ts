import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/service.js';
import { liveAssetsByPath, waitFor, World, type Daemon, ROOT } from '../support/world.js';

/** Debian's chromium; .ci/run installs it when it is missing, so this test never skips. */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let world: World | undefined;
let daemon: Daemon | undefined;
let browser: BrowserContext | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await browser?.close();
  await daemon?.stop();
  await world?.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  browser = undefined;
  daemon = undefined;
  world = undefined;
});

async function launch(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  const profile = mkdtempSync(join(tmpdir(), 'sqsync-chromium-'));
  dirs.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 800 },
  });
}

/** Screenshots of every step go to a temp folder; UPDATE_DOCS=1 puts the first into docs/dashboard.png for the README. */
async function shot(page: Page, dir: string, step: string): Promise<void> {
  await page.screenshot({ path: join(dir, `${step}.png`), fullPage: true });
  if (step === '1-in-sync' && process.env.UPDATE_DOCS === '1')
    await page.screenshot({ path: join(ROOT, 'docs/dashboard.png'), fullPage: true });
}

describe('the local page in a real browser', () => {
  it('shows sync state, activity, failures with Retry, Pause/Resume, and held deletions with Delete them', async () => {
    const port = await freePort();
    world = await World.create({
      server: { maxUploadBytes: 64 * 1024 },
      mapping: { deletes: 'delete' },
      extra: { http: { port }, deleteGuard: { enabled: true, maxShare: 0.5, minFiles: 3 } },
    });
    const w = world;
    for (let i = 1; i <= 6; i++) w.write(`brand/logo-${i}.svg`, `<svg id="${i}"/>`);
    w.write('docs/brief.txt', 'the brief');
    daemon = w.startDaemon();
    await daemon.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(() => liveAssetsByPath(w.inspect()).size === 7);
    const token = readFileSync(join(dirname(w.statePath), 'web-token'), 'utf8').trim();
    const shots = mkdtempSync(join(tmpdir(), 'sqsync-shots-'));
    dirs.push(shots);

    browser = await launch();
    const page = await browser.newPage();
    // 1. Open the page with the token: the mapping is in sync, and the token left the address bar.
    await page.goto(`http://127.0.0.1:${port}/?token=${token}`);
    expect(page.url()).toBe(`http://127.0.0.1:${port}/`);
    const state = page.locator('#mappings tr').first().locator('.sync-state');
    await state.filter({ hasText: 'in sync' }).waitFor({ timeout: 10_000 });
    await shot(page, shots, '1-in-sync');

    // 2. A new file appears in recent activity.
    w.write('brand/new-banner.svg', '<svg id="banner"/>');
    await page.locator('#activity', { hasText: 'brand/new-banner.svg' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#activity a', { hasText: 'brand/new-banner.svg' }).getAttribute('href')).toMatch(/\/api\/assets\//);
    await shot(page, shots, '2-activity');

    // 2b. A big file goes through tus in pieces: the page shows its bytes while it is under way.
    w.server.setMaxUploadBytes(5 * 1024 * 1024); // Squidex's default; the step after this one lowers it again
    w.server.setFaults({ latencyMs: 800 });
    w.write('video/launch.mov', Buffer.alloc(13 * 1024 * 1024, 3));
    await page.locator('#uploads tr', { hasText: 'video/launch.mov' }).filter({ hasText: ' of 13.6 MB' }).waitFor({ timeout: 20_000 });
    await shot(page, shots, '2b-big-upload');
    w.server.setFaults({ latencyMs: 0 });
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/video/launch.mov'), 30_000);
    await page.locator('#uploads-section').waitFor({ state: 'hidden', timeout: 10_000 });
    w.server.setMaxUploadBytes(64 * 1024);

    // 3. A file the server refuses shows under "Files that failed", with its reason.
    w.write('video/teaser.mov', Buffer.alloc(200 * 1024, 7));
    const failedRow = page.locator('#failed tr', { hasText: 'video/teaser.mov' });
    await failedRow.waitFor({ timeout: 20_000 });
    expect(await failedRow.textContent()).toMatch(/larger|too large/i);
    await shot(page, shots, '3-failed');

    // 4. The limit is raised; Retry syncs it.
    w.server.setMaxUploadBytes(1024 * 1024);
    await failedRow.getByRole('button', { name: 'Retry' }).click();
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/video/teaser.mov'), 20_000);
    await page.locator('#failed-section').waitFor({ state: 'hidden', timeout: 10_000 });
    await shot(page, shots, '4-retried');

    // 5. Pause: the page and `status` both say paused. Then Resume.
    await page.getByRole('button', { name: 'Pause all' }).click();
    await state.filter({ hasText: 'paused' }).waitFor({ timeout: 10_000 });
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).mappings[0].paused).toBe(true);
    await shot(page, shots, '5-paused');
    await page.getByRole('button', { name: 'Resume all' }).click();
    await state.filter({ hasText: 'in sync' }).waitFor({ timeout: 10_000 });
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).mappings[0].paused).toBe(false);

    // 6. Most of the mapping's files go at once (deletes: delete): the guard holds them, the page shows it,
    //    and "Delete them" (after the browser's confirmation) deletes their assets.
    const doomed = [1, 2, 3, 4, 5, 6].map((i) => `brand/logo-${i}.svg`);
    for (const p of [...doomed, 'docs/brief.txt']) w.rm(p);
    const heldRow = page.locator('#held tr', { hasText: 'share' });
    await heldRow.getByRole('button', { name: 'Delete them' }).waitFor({ timeout: 20_000 });
    expect(await heldRow.textContent()).toMatch(/vanished at once/);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/brand/logo-1.svg')).toBeDefined();
    await shot(page, shots, '6-held');
    page.once('dialog', (d) => void d.accept());
    await heldRow.getByRole('button', { name: 'Delete them' }).click();
    await waitFor(
      () => doomed.every((p) => !liveAssetsByPath(w.inspect()).has(`Design/Shared/${p}`)),
      20_000,
      () => daemon!.stdout.slice(-2000),
    );
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/video/teaser.mov')).toBeDefined();
    await page.locator('#held-section').waitFor({ state: 'hidden', timeout: 10_000 });
    await shot(page, shots, '6-deleted');
  });
});
