import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist, type PlistDict } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { installEntry } from '../../../client/install/apply-item.js';
import { loggingNotifier, notificationLogPath } from '../../../client/notify/notify-user.js';
import {
  DEFAULT_OS_UPGRADE,
  type OsUpgradeContext,
} from '../../../client/os-upgrade/upgrade-macos.js';
import { readUpgradeRecord, writeUpgradeRecord } from '../../../client/os-upgrade/upgrade-state.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import type { Platform } from '../../../client/platform/platform.js';
import { readToolCalls } from '../../helpers/fake-tools.js';
import { buildFlatPackage } from '../../helpers/flat-package.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import {
  APP,
  argvLog,
  installerInfoPlist,
  placeInstallerApp,
  placeSoftwareupdate,
  startosinstallScript,
  stdinLog,
} from './fake-installer.js';

const PASSWORD = 's3cret-Pa55';
const TOOL = `${APP}/Contents/Resources/startosinstall`;
const PLENTY = () => Promise.resolve({ bavail: 100 * 1024 ** 2, bsize: 1024 });

let root: string;
let work: string;
let platform: Platform;
beforeEach(async () => {
  root = await makeSandboxRoot({ os: { version: '14.5', build: '23F79' } });
  work = await mkdtemp(join(tmpdir(), 'abbot-upgrade-pkgs-'));
  platform = sandboxPlatform(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** machine.plist with the given arch and power (pmset's words, a number for the percent). */
async function machine(arch: string, power: PlistDict = {}): Promise<void> {
  await writeFile(join(root, 'Library/Abbot/machine.plist'), buildPlist({ arch, ...power }));
}

const ITEM: PlistDict = {
  name: 'Install_macOS_Sequoia',
  display_name: 'Install macOS Sequoia',
  version_to_install: '15.1',
  installer_type: 'startosinstall',
  RestartAction: 'RequireRestart',
};

function context(extra: Partial<OsUpgradeContext> = {}): OsUpgradeContext {
  return {
    ...DEFAULT_OS_UPGRADE,
    timeoutMs: 20_000,
    notifier: loggingNotifier(platform.paths, memoryLogger()),
    statfs: PLENTY,
    ...extra,
  };
}

const STAGED = {
  name: 'Install_macOS_Sequoia',
  version: '15.1',
  appPath: APP,
  stage: 'staged',
  fromVersion: '14.5',
  stagedAt: '2026-03-01T09:00:00.000Z',
} as const;

const ranStartosinstall = async (): Promise<string[][]> =>
  (await readToolCalls(argvLog(root))).filter((c) => c[0]?.endsWith('startosinstall'));

describe('a macOS upgrade delivered as a package', () => {
  it('installs the package under the root and runs startosinstall from the installed app', async () => {
    await machine('x86_64');
    const pkg = join(work, 'InstallAssistant.pkg');
    await writeFile(
      pkg,
      await buildFlatPackage({
        kind: 'product',
        identifier: 'com.apple.pkg.InstallAssistant.macOSSequoia',
        version: '20.1.03',
        installLocation: '/',
        files: [
          {
            path: TOOL.slice(1),
            contents: await startosinstallScript(root, { output: 'prepared-reconstructed.txt' }),
            mode: 0o755,
          },
          { path: `${APP.slice(1)}/Contents/Info.plist`, contents: installerInfoPlist() },
        ],
      }),
    );
    const outcome = await installEntry(platform, ITEM, pkg, memoryLogger(), context());
    expect(outcome).toMatchObject({ ok: true, restartAction: 'RequireRestart' });
    expect(
      existsSync(join(root, 'var/db/receipts/com.apple.pkg.InstallAssistant.macOSSequoia.plist')),
    ).toBe(true);
    const [call] = await ranStartosinstall();
    expect(call).toEqual([
      join(root, TOOL),
      '--agreetolicense',
      '--nointeraction',
      '--rebootdelay',
      '300',
      '--forcequitapps',
    ]);
    const record = await readUpgradeRecord(platform.paths, memoryLogger());
    expect(record).toMatchObject({
      stage: 'started',
      version: '15.1',
      fromVersion: '14.5',
      appPath: APP,
    });
  });
});

describe('a macOS upgrade fetched by softwareupdate', () => {
  it('fetches the full installer for the version, then runs it with the volume owner', async () => {
    await machine('arm64');
    await placeSoftwareupdate(root, 'fetch-finished.txt', { output: 'prepared-reconstructed.txt' });
    const logger = memoryLogger();
    const outcome = await installEntry(
      platform,
      { ...ITEM, additional_startosinstall_options: ['--installpackage', '/Library/x.pkg'] },
      undefined,
      logger,
      context({ credentials: () => Promise.resolve({ user: 'owner', password: PASSWORD }) }),
    );
    expect(outcome.ok).toBe(true);
    const calls = await readToolCalls(argvLog(root));
    expect(calls[0]).toEqual([
      '/usr/sbin/softwareupdate',
      '--fetch-full-installer',
      '--full-installer-version',
      '15.1',
    ]);
    expect(calls[1]?.slice(5)).toEqual([
      '--forcequitapps',
      '--user',
      'owner',
      '--stdinpass',
      '--installpackage',
      '/Library/x.pkg',
    ]);
    expect(await readFile(stdinLog(root), 'utf8')).toBe(`${PASSWORD}\n`);
    expect(JSON.stringify(logger.entries)).not.toContain(PASSWORD);
  });

  it('fails with softwareupdate’s own words when Apple has no such installer', async () => {
    await machine('x86_64');
    await placeSoftwareupdate(root, 'fetch-update-not-found.txt', undefined, 1);
    const outcome = await installEntry(platform, ITEM, undefined, memoryLogger(), context());
    expect(outcome).toMatchObject({
      ok: false,
      error: 'Install_macOS_Sequoia: softwareupdate: Install failed with error: Update not found',
    });
    expect(await ranStartosinstall()).toEqual([]);
  });

  it('reuses an app staged by an earlier attempt instead of fetching it again', async () => {
    await machine('x86_64');
    await placeInstallerApp(root, { output: 'prepared-reconstructed.txt' });
    await writeUpgradeRecord(platform.paths, STAGED);
    const outcome = await installEntry(platform, ITEM, undefined, memoryLogger(), context());
    expect(outcome.ok).toBe(true);
    const calls = await readToolCalls(argvLog(root));
    expect(calls.map((c) => c[0])).toEqual([join(root, TOOL)]);
  });
});

describe('what stops a macOS upgrade before it starts', () => {
  it('asks the user to act, and runs nothing, on Apple silicon without credentials', async () => {
    await machine('arm64');
    await placeInstallerApp(root, { output: 'prepared-reconstructed.txt' });
    const outcome = await installEntry(platform, ITEM, undefined, memoryLogger(), context());
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/needs a volume owner's credentials/);
    expect(await ranStartosinstall()).toEqual([]);
    const notes = (await readFile(notificationLogPath(platform.paths), 'utf8')).trim().split('\n');
    expect(JSON.parse(notes[0] ?? '{}')).toMatchObject({
      kind: 'action-required',
      items: ['Install_macOS_Sequoia'],
    });
  });

  it('refuses on a battery at 40%', async () => {
    await machine('x86_64', { power_source: 'Battery Power', battery_percent: 40 });
    await placeInstallerApp(root, { output: 'prepared-reconstructed.txt' });
    const outcome = await installEntry(platform, ITEM, undefined, memoryLogger(), context());
    expect(outcome.error).toMatch(/on battery power at 40%/);
    expect(await ranStartosinstall()).toEqual([]);
  });

  it('refuses when there is not enough free space', async () => {
    await machine('x86_64');
    await placeInstallerApp(root, { output: 'prepared-reconstructed.txt' });
    const tight = () => Promise.resolve({ bavail: 10 * 1024 ** 2, bsize: 1024 });
    const outcome = await installEntry(
      platform,
      ITEM,
      undefined,
      memoryLogger(),
      context({ statfs: tight }),
    );
    expect(outcome.error).toMatch(/not enough free space .* need 25\.0 GiB, have 10\.0 GiB/);
    expect(await ranStartosinstall()).toEqual([]);
  });

  it('never downgrades', async () => {
    await machine('x86_64');
    await writeFile(
      join(root, 'System/Library/CoreServices/SystemVersion.plist'),
      buildPlist({ ProductVersion: '15.2', ProductBuildVersion: '24C101' }),
    );
    await placeInstallerApp(root, { output: 'prepared-reconstructed.txt' });
    const outcome = await installEntry(platform, ITEM, undefined, memoryLogger(), context());
    expect(outcome.error).toMatch(/macOS 15.2 is running .* never downgrades/);
    expect(await ranStartosinstall()).toEqual([]);
  });

  it('refuses additional options that are not strings, naming the key', async () => {
    await machine('x86_64');
    const outcome = await installEntry(
      platform,
      { ...ITEM, additional_startosinstall_options: [3] },
      undefined,
      memoryLogger(),
      context(),
    );
    expect(outcome.error).toBe(
      'Install_macOS_Sequoia: additional_startosinstall_options must be an array of strings',
    );
  });
});

describe('a macOS upgrade that fails', () => {
  it('puts the record back to staged and reports startosinstall’s error', async () => {
    await machine('x86_64');
    await placeInstallerApp(root, { output: 'could-not-get-authorization.txt', exitCode: 1 });
    await writeUpgradeRecord(platform.paths, STAGED);
    const outcome = await installEntry(platform, ITEM, undefined, memoryLogger(), context());
    expect(outcome).toMatchObject({
      ok: false,
      error: 'Install_macOS_Sequoia: startosinstall failed: Error: could not get authorization...',
    });
    expect((await readUpgradeRecord(platform.paths, memoryLogger()))?.stage).toBe('staged');
  });

  it('says which apps it found when several could be meant', async () => {
    await machine('x86_64');
    await placeSoftwareupdate(root, 'fetch-finished.txt', { output: 'prepared-reconstructed.txt' });
    const other = join(root, 'Applications/Install macOS Sonoma.app/Contents/Resources');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'startosinstall'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const outcome = await installEntry(
      platform,
      { ...ITEM, display_name: 'macOS Sequoia' },
      undefined,
      memoryLogger(),
      context(),
    );
    expect(outcome.error).toMatch(/several Install macOS apps are in \/Applications/);
  });
});
