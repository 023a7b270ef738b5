/**
 * Self service in a real browser: `abbot daemon` runs on a sandbox root against a repo served over
 * HTTPS, Debian's chromium (driven by playwright-core) opens the address `abbot selfservice url`
 * prints, searches, installs an optional package, and removes it again; the package's files and
 * receipt are checked under the sandbox root. The daemon carries out each request as a child
 * `abbot run --item=…` process, started from a transpiled copy of the sources. A screenshot is saved
 * as test-output/selfservice.png. Skipped only where /usr/bin/chromium is absent (.ci/run installs
 * it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlist } from '../../formats/index.js';
import { memoryLogger } from '../../lib/log.js';
import { runCheck } from '../../client/check/run-check.js';
import { startDaemon, type Daemon } from '../../client/daemon/daemon.js';
import { abbotCli } from '../helpers/cli.js';
import { makeSandboxRoot } from '../helpers/sandbox-root.js';
import { sandboxPlatform } from '../../client/platform/sandbox/sandbox-platform.js';
import { startSelfService } from '../../client/selfservice/server.js';
import { tokenPath } from '../../client/selfservice/token.js';
import { abbotFromSource, type AbbotFromSource } from '../client/daemon/abbot-from-source.js';
import {
  makeSelfServiceWorld,
  sketchpadReceipt,
  type SelfServiceWorld,
} from '../client/selfservice/fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url));

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Waits until the element at `selector` shows exactly `text` (the page polls its status). Polled
 * from here: the page's Content-Security-Policy rightly forbids evaluating strings in it.
 */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  const until = Date.now() + 60_000;
  let seen: string | null = null;
  while (Date.now() < until) {
    seen = await page.locator(selector).textContent();
    if (seen === text) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`${selector} shows ${JSON.stringify(seen)}, not ${JSON.stringify(text)}`);
}

describe.skipIf(!existsSync(CHROMIUM))('self service in chromium', () => {
  let world: SelfServiceWorld;
  let abbot: AbbotFromSource;
  let daemon: Daemon;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    world = await makeSelfServiceWorld({
      extraOffers: 4,
      preferences: { SelfServicePort: await freePort() },
    });
    const logger = memoryLogger();
    await runCheck({ platform: world.platform, config: world.config, logger });
    abbot = await abbotFromSource();
    daemon = await startDaemon({
      platform: world.platform,
      config: world.config,
      logger,
      abbotCommand: abbot.command,
      runArgs: [`--root=${world.root}`],
      networkWaitMs: 5_000,
    });
    profile = await mkdtemp(join(tmpdir(), 'abbot-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1100, height: 900 },
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.close();
    await abbot?.remove();
    await world?.cleanup();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('searches, installs an optional package, and removes it', async () => {
    const printed = await abbotCli(['selfservice', 'url', '--root', world.root]);
    expect(printed.code).toBe(0);
    const address = printed.stdout.trim();
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    expect(daemon.selfServiceUrl).toBe(address.replace(/\?token=.*$/, ''));

    const page = await browser.newPage();
    await page.goto(address);
    // The token went into a cookie; the address bar no longer shows it.
    expect(page.url()).toBe(daemon.selfServiceUrl);
    expect(await page.locator('h1').textContent()).toBe('Self Service');
    expect(await page.locator('#items > li').count()).toBe(7);

    await page.getByLabel('Search').fill('sketch');
    await waitForText(page, '#count', '1 item');
    expect(await page.locator('#items > li:not([hidden])').count()).toBe(1);
    const status = 'li[data-name="Sketchpad"] .status';
    await waitForText(page, status, 'Not installed');

    await page.getByRole('button', { name: 'Install Sketchpad' }).click();
    await waitForText(page, status, 'Installed');
    const receipt = await sketchpadReceipt(world.root);
    expect(receipt?.['PackageIdentifier']).toBe('org.example.sketchpad');

    await page.getByLabel('Search').fill('');
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'selfservice.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(OUTPUT, 'selfservice-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });

    await page.getByRole('button', { name: 'Remove Sketchpad' }).click();
    await waitForText(page, status, 'Not installed');
    expect(await sketchpadReceipt(world.root)).toBeUndefined();
  }, 180_000);

  it('stays quick with 1,000 optional items', async () => {
    const offers = Array.from({ length: 1000 }, (_, i) => ({
      name: `Item${i}`,
      display_name: `Item number ${i}`,
      description: `The ${i % 2 ? 'odd' : 'even'} item`,
      version_to_install: '1.0',
      category: `Category ${i % 10}`,
      installed: false,
      needs_update: false,
      uninstallable: true,
    }));
    const root = await makeSandboxRoot({
      machine: { console_user: 'alice' },
      files: { 'Library/Abbot/InstallInfo.plist': buildPlist({ optional_installs: offers }) },
    });
    const platform = sandboxPlatform(root);
    const service = await startSelfService({
      platform,
      config: world.config,
      logger: memoryLogger(),
      port: 0,
      requestRun: () => Promise.reject(new Error('no runs in this test')),
    });
    try {
      const token = (await readFile(tokenPath(platform.paths, 'alice'), 'utf8')).trim();
      const page = await browser.newPage();
      const opened = Date.now();
      await page.goto(`${service.url}?token=${token}`);
      const loadMs = Date.now() - opened;
      expect(await page.locator('#items > li').count()).toBe(1000);
      // Typing a search: time from the input event to the filtered list, measured in the page.
      const filterMs = await page.evaluate(async () => {
        const win = globalThis as unknown as PageGlobals;
        const input = win.document.getElementById('q');
        const started = performance.now();
        input.value = 'number 99';
        input.dispatchEvent(new Event('input'));
        await new Promise((r) => win.requestAnimationFrame(() => win.requestAnimationFrame(r)));
        return performance.now() - started;
      });
      expect(await page.locator('#count').textContent()).toBe('19 items'); // Item number 99, 199, … 899 and 990–999
      expect(loadMs).toBeLessThan(5_000);
      expect(filterMs).toBeLessThan(250);
      await page.close();
    } finally {
      await service.close();
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The little of the DOM the timing above uses (the project compiles without DOM types). */
interface PageGlobals {
  document: {
    getElementById(id: string): { value: string; dispatchEvent(event: Event): boolean };
  };
  requestAnimationFrame(callback: (time: number) => void): number;
}
