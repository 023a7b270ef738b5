/**
 * An install session records the next deadline step (an item's warning or forced install, an
 * Apple update's warning or forced restart) in the client state for the daemon to wake for, and
 * clears it when none is coming.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppleUpdate } from '../../../client/apple-updates/apple-update-types.js';
import { writeAppleUpdates } from '../../../client/apple-updates/apple-updates-plist.js';
import { parseSoftwareUpdateList } from '../../../client/apple-updates/parse-list.js';
import { loadConfig } from '../../../client/config.js';
import { forceInstallDeadline } from '../../../client/deadlines/force-install-after-date.js';
import { runInstall, type InstallMode } from '../../../client/install/run-install.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { clientStateFile, type ClientStateData } from '../../../client/state/client-state.js';
import { buildPlist, type PlistDict } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { abbotCli } from '../../helpers/cli.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const T = new Date('2026-03-02T12:00:00Z');
const minutes = (n: number): number => n * 60_000;
// Plist dates of force_install_after_date are local wall-clock time; compare against the instant.
const FORCE_DATE = new Date('2026-03-02T18:00:00Z');
const ITEM_DEADLINE = forceInstallDeadline(FORCE_DATE)!;

let root: string;
beforeEach(async () => {
  root = await makeSandboxRoot({
    machine: { console_user: 'alice' },
    preferences: { DaysBetweenNotifications: 0, InstallAppleSoftwareUpdates: true },
  });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function plan(items: PlistDict[]): Promise<void> {
  await writeFile(
    join(root, 'Library/Abbot/InstallInfo.plist'),
    buildPlist({
      managed_installs: items.map((item) => ({
        version_to_install: '1.0',
        installer_type: 'nopkg',
        installer_item: 'packageless_install',
        installed: false,
        // A RestartAction keeps it from going unattended: only its deadline installs it.
        RestartAction: 'RequireRestart',
        ...item,
      })),
      removals: [],
    }),
  );
}

const patch = { name: 'SecurityPatch', force_install_after_date: FORCE_DATE };

/** macOS Ventura 13.6 (needs a restart) from a recorded listing, with an Apple-update deadline. */
async function appleUpdate(deadline: Date): Promise<AppleUpdate> {
  const listing = await readFile(
    new URL('../../fixtures/softwareupdate/list-ventura-with-sonoma.txt', import.meta.url),
    'utf8',
  );
  const ventura = parseSoftwareUpdateList(listing).updates.find((u) => u.version === '13.6')!;
  const firstSeen = new Date('2026-03-01T12:00:00Z');
  return { ...ventura, kind: 'minor', firstSeen, deferredUntil: undefined, deadline };
}

async function session(
  at: Date,
  options: { mode?: InstallMode; only?: string[] } = {},
): Promise<string | undefined> {
  const platform = sandboxPlatform(root);
  const config = await loadConfig({ paths: platform.paths });
  await runInstall({
    platform,
    config,
    logger: memoryLogger(),
    mode: options.mode ?? 'unattended',
    kind: 'auto',
    now: () => at,
    ...(options.only ? { only: options.only } : {}),
  });
  const state = JSON.parse(
    await readFile(clientStateFile(platform.paths), 'utf8'),
  ) as ClientStateData;
  return state.nextDeadlineAt;
}

describe('the next deadline step in the client state', () => {
  it("records an item's next warning, 60 minutes before its deadline", async () => {
    await plan([patch]);
    expect(await session(T)).toBe(new Date(ITEM_DEADLINE.getTime() - minutes(60)).toISOString());
  });

  it('moves on to the next warning once one is given', async () => {
    await plan([patch]);
    const at = new Date(ITEM_DEADLINE.getTime() - minutes(60));
    expect(await session(at)).toBe(new Date(ITEM_DEADLINE.getTime() - minutes(30)).toISOString());
    // A warning given late pushes the deadline back, and every step after it.
    const late = new Date(ITEM_DEADLINE.getTime() - minutes(25));
    expect(await session(late)).toBe(new Date(late.getTime() + minutes(20)).toISOString());
  });

  it("records an Apple update's next restart warning", async () => {
    await plan([]);
    const deadline = new Date(T.getTime() + minutes(120));
    await writeAppleUpdates(sandboxPlatform(root).paths, [await appleUpdate(deadline)]);
    expect(await session(T)).toBe(new Date(deadline.getTime() - minutes(60)).toISOString());
  });

  it('records the earliest of the items and the Apple updates', async () => {
    await plan([patch]);
    const apple = new Date(ITEM_DEADLINE.getTime() + minutes(45));
    await writeAppleUpdates(sandboxPlatform(root).paths, [await appleUpdate(apple)]);
    const itemFirst = await session(T);
    expect(itemFirst).toBe(new Date(ITEM_DEADLINE.getTime() - minutes(60)).toISOString());

    await writeAppleUpdates(sandboxPlatform(root).paths, [
      await appleUpdate(new Date(ITEM_DEADLINE.getTime() - minutes(45))),
    ]);
    expect(await session(T)).toBe(new Date(ITEM_DEADLINE.getTime() - minutes(105)).toISOString());
  });

  it('clears it once nothing with a deadline is pending', async () => {
    await plan([patch]);
    expect(await session(T)).toBeDefined();
    await plan([]);
    expect(await session(T)).toBeUndefined();
  });

  it('clears it when the deadline is enforced and the item installed', async () => {
    await plan([patch]);
    expect(await session(T)).toBeDefined();
    // Each warning given in turn, then the install at the deadline.
    for (const lead of [60, 30, 10, 5]) {
      await session(new Date(ITEM_DEADLINE.getTime() - minutes(lead)));
    }
    expect(await session(ITEM_DEADLINE)).toBeUndefined();
  });

  it('leaves it as it was after a self-service request, which saw only its own items', async () => {
    await plan([patch, { name: 'Editor', unattended_install: true }]);
    const recorded = await session(T);
    expect(recorded).toBeDefined();
    expect(await session(T, { only: ['Editor'] })).toBe(recorded);
  });

  it('is shown by abbot status, in local time and in --json', async () => {
    await plan([patch]);
    const recorded = await session(T);
    const text = await abbotCli(['status', '--root', root]);
    expect(text.code).toBe(0);
    const line = /^Next deadline step: (\S+) (\S+) (\S+)$/m.exec(text.stdout);
    expect(new Date(`${line?.[1]}T${line?.[2]}${line?.[3]}`).toISOString()).toBe(recorded);
    const json = await abbotCli(['status', '--json', '--root', root]);
    expect((JSON.parse(json.stdout) as { nextDeadlineAt: string }).nextDeadlineAt).toBe(recorded);
  });
});
