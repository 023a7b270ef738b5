/**
 * The Apple update session with an injected clock: deferrals, deadline warnings before a forced
 * restart, and a hung softwareupdate. The fake softwareupdate prints recorded output (see
 * test/fixtures/softwareupdate/README.md).
 */
import { readFile, rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  runAppleUpdateSession,
  type AppleSessionConfig,
} from '../../../client/apple-updates/apple-update-session.js';
import type { AppleUpdate } from '../../../client/apple-updates/apple-update-types.js';
import { writeAppleUpdates } from '../../../client/apple-updates/apple-updates-plist.js';
import {
  readSeenState,
  recordListing,
  writeSeenState,
} from '../../../client/apple-updates/deferral.js';
import { loggingNotifier, notificationLogPath } from '../../../client/notify/notify-user.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { memoryLogger } from '../../../lib/log.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import { softwareupdateCalls, writeFakeSoftwareUpdate } from './fake-softwareupdate.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

const CONFIG: AppleSessionConfig = {
  InstallAppleSoftwareUpdates: true,
  AppleSoftwareUpdatesOnly: false,
  AppleSoftwareUpdatesIncludeMajorOSUpdates: false,
  AppleUpdateCredentialScript: undefined,
  AppleUpdateKeychainService: undefined,
  AppleUpdateKeychainAccount: undefined,
  SoftwareUpdateTimeoutMinutes: 120,
};

const FIRST_SEEN = new Date('2026-03-01T12:00:00Z');
// From list-ventura-with-sonoma.txt.
const VENTURA: AppleUpdate = {
  label: 'macOS Ventura 13.6-22G120',
  title: 'macOS Ventura 13.6',
  version: '13.6',
  sizeKb: 594108,
  recommended: true,
  restartRequired: true,
  kind: 'minor',
  firstSeen: FIRST_SEEN,
  deferredUntil: undefined,
  deadline: undefined,
};

async function setup(update: AppleUpdate, installSleep?: number) {
  const root = await makeSandboxRoot();
  roots.push(root);
  await writeFakeSoftwareUpdate(root, {
    install: 'install-bigsur-download.txt',
    ...(installSleep ? { installSleep } : {}),
  });
  const logger = memoryLogger();
  const platform = sandboxPlatform(root, { logger });
  await writeAppleUpdates(platform.paths, [update]);
  await writeSeenState(
    platform.paths,
    recordListing({ version: 1, updates: {} }, [update.label], FIRST_SEEN),
  );
  const session = (
    now: string,
    consoleUser: string | undefined,
    extra: { timeoutMs?: number; consoleUserKnown?: boolean } = {},
  ) =>
    runAppleUpdateSession({
      platform,
      config: CONFIG,
      logger,
      mode: consoleUser === undefined ? 'all' : 'unattended',
      notifier: loggingNotifier(platform.paths, logger),
      now: () => new Date(now),
      consoleUser,
      arch: 'x86_64',
      ...extra,
    });
  const notifications = async () =>
    (await readFile(notificationLogPath(platform.paths), 'utf8').catch(() => ''))
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { kind: string; title: string; deadline?: string });
  return { root, platform, logger, session, notifications };
}

describe('deferral', () => {
  it('skips an update until its deferral ends, then installs it', async () => {
    const t = await setup({ ...VENTURA, deferredUntil: new Date('2026-03-04T12:00:00Z') });
    const early = await t.session('2026-03-03T12:00:00Z', undefined);
    expect(early.results).toEqual([
      expect.objectContaining({
        result: 'skipped',
        reason: 'deferred until 2026-03-04T12:00:00.000Z',
      }),
    ]);
    expect(await softwareupdateCalls(t.root)).toEqual([]);
    const later = await t.session('2026-03-04T12:00:01Z', undefined);
    expect(later.results).toEqual([
      expect.objectContaining({ result: 'success', restartAction: 'RequireRestart' }),
    ]);
    expect(later.remaining).toEqual([]);
  });
});

describe('deadline with a user logged in', () => {
  const deadline = new Date('2026-03-08T12:00:00Z');

  it('warns 60, 30 and 10 minutes ahead, then installs with --restart', async () => {
    const t = await setup({ ...VENTURA, deadline });
    const before = await t.session('2026-03-08T10:00:00Z', 'jane');
    expect(before.results[0]).toMatchObject({
      result: 'skipped',
      reason: expect.stringMatching(/needs a restart/),
    });
    expect(before.nextDeadlineAt).toEqual(new Date('2026-03-08T11:00:00Z'));

    for (const [now, minutes] of [
      ['2026-03-08T11:00:00Z', 60],
      ['2026-03-08T11:30:00Z', 30],
      ['2026-03-08T11:50:00Z', 10],
    ] as const) {
      const step = await t.session(now, 'jane');
      expect(step.results[0]?.result, now).toBe('skipped');
      expect((await t.notifications()).at(-1)).toMatchObject({
        kind: 'restart-warning',
        title: `Restart in ${minutes} minutes`,
      });
    }
    expect(await softwareupdateCalls(t.root)).toEqual([]);

    const due = await t.session('2026-03-08T12:00:00Z', 'jane');
    expect(due.results).toEqual([expect.objectContaining({ result: 'success' })]);
    expect(await softwareupdateCalls(t.root)).toEqual([
      ['--install', 'macOS Ventura 13.6-22G120', '--agree-to-license', '--restart'],
    ]);
    const seen = await readSeenState(t.platform.paths, t.logger);
    expect(seen.updates[VENTURA.label]?.warnings.map((w) => w.minutes)).toEqual([60, 30, 10]);
  });

  it('gives every warning even when the first run comes after the deadline', async () => {
    const t = await setup({ ...VENTURA, deadline });
    const late = await t.session('2026-03-09T09:00:00Z', 'jane');
    expect(late.results[0]?.result).toBe('skipped');
    expect((await t.notifications()).map((n) => n.title)).toEqual(['Restart in 60 minutes']);
    expect((await t.notifications())[0]?.deadline).toBe('2026-03-09T10:00:00.000Z');
  });

  it('ignores the deferral once the deadline is enforced', async () => {
    const t = await setup({
      ...VENTURA,
      deadline,
      deferredUntil: new Date('2026-03-20T00:00:00Z'),
    });
    const r = await t.session('2026-03-08T12:00:00Z', undefined);
    expect(r.results[0]?.result).toBe('success');
  });
});

describe('a hung softwareupdate', () => {
  it('is killed at the time limit and recorded as failed', async () => {
    const t = await setup(VENTURA, 30);
    const started = Date.now();
    const r = await t.session('2026-03-02T00:00:00Z', undefined, { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.results).toEqual([
      expect.objectContaining({
        result: 'failed',
        status: -1,
        reason: expect.stringMatching(/did not finish within .* minutes and was killed/),
      }),
    ]);
    expect(r.remaining.map((u) => u.label)).toEqual([VENTURA.label]);
    expect(t.logger.entries.some((e) => e.event === 'appleupdates.install.failed')).toBe(true);
  });
});

describe('deadline at the login window', () => {
  it('names the deadline as the next moment until it is due (unattended: restart items wait)', async () => {
    const deadline = new Date('2026-03-08T12:00:00Z');
    const t = await setup({ ...VENTURA, deadline });
    const session = (now: string) =>
      runAppleUpdateSession({
        platform: t.platform,
        config: CONFIG,
        logger: t.logger,
        mode: 'unattended',
        notifier: loggingNotifier(t.platform.paths, t.logger),
        now: () => new Date(now),
        consoleUser: undefined,
        arch: 'x86_64',
      });
    const early = await session('2026-03-08T10:00:00Z');
    expect(early.results[0]?.result).toBe('skipped');
    expect(early.nextDeadlineAt).toEqual(deadline);
    const due = await session('2026-03-08T12:00:00Z');
    expect(due.results[0]?.result).toBe('success');
    expect(due.nextDeadlineAt).toBeUndefined();
    expect(await t.notifications()).toEqual([]);
  });
});

describe('when the console user cannot be told', () => {
  it('installs at the login window with --restart, but never restarts for an unknown user', async () => {
    const known = await setup(VENTURA);
    await known.session('2026-03-02T00:00:00Z', undefined);
    expect(await softwareupdateCalls(known.root)).toEqual([
      ['--install', VENTURA.label, '--agree-to-license', '--restart'],
    ]);

    const unknown = await setup(VENTURA);
    const r = await unknown.session('2026-03-02T00:00:00Z', undefined, { consoleUserKnown: false });
    expect(r.results).toEqual([expect.objectContaining({ result: 'success' })]);
    // Someone may be working: installed, and the restart is left to them (recorded, not forced).
    expect(await softwareupdateCalls(unknown.root)).toEqual([
      ['--install', VENTURA.label, '--agree-to-license'],
    ]);
  });

  it('warns before a deadline and installs without forcing the restart', async () => {
    const t = await setup({ ...VENTURA, deadline: new Date('2026-03-08T12:00:00Z') });
    const r = await t.session('2026-03-08T12:00:00Z', undefined, { consoleUserKnown: false });
    expect(r.results).toEqual([expect.objectContaining({ result: 'success' })]);
    expect((await t.notifications()).map((n) => n.title)).toEqual(['Restart in 60 minutes']);
    expect(await softwareupdateCalls(t.root)).toEqual([
      ['--install', VENTURA.label, '--agree-to-license'],
    ]);
  });
});

describe('when Apple updates are off', () => {
  it('does nothing even with updates on file', async () => {
    const t = await setup(VENTURA);
    const r = await runAppleUpdateSession({
      platform: t.platform,
      config: { ...CONFIG, InstallAppleSoftwareUpdates: false },
      logger: t.logger,
      mode: 'all',
      notifier: loggingNotifier(t.platform.paths, t.logger),
      now: () => new Date('2026-03-02T00:00:00Z'),
      consoleUser: undefined,
    });
    expect(r.results).toEqual([]);
    expect(await softwareupdateCalls(t.root)).toEqual([]);
  });
});
