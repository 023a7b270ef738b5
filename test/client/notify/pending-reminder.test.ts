/** When the user is reminded of pending updates. */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { loggingNotifier, notificationLogPath } from '../../../client/notify/notify-user.js';
import { reminderFor, remindOfPendingUpdates } from '../../../client/notify/pending-reminder.js';
import type { PendingUpdateView } from '../../../client/selfservice/pending-updates.js';

const NOW = new Date('2030-03-01T12:00:00Z');
const HOUR = 3600_000;
const update = (name: string, deadline?: Date): PendingUpdateView => ({
  name,
  displayName: name,
  version: '2.0',
  restart: false,
  ...(deadline ? { deadline: deadline.toISOString() } : {}),
});

describe('reminderFor', () => {
  it('reminds of pending updates when none was sent yet', () => {
    expect(reminderFor([update('Firefox')], undefined, 1, NOW)).toMatchObject({
      kind: 'updates-pending',
      title: 'A software update is available',
      items: ['Firefox'],
    });
  });

  it('waits DaysBetweenNotifications before reminding again', () => {
    const yesterdayish = new Date(NOW.getTime() - 20 * HOUR);
    expect(reminderFor([update('Firefox')], yesterdayish, 1, NOW)).toBeUndefined();
    expect(reminderFor([update('Firefox')], yesterdayish, 0, NOW)).toBeDefined();
  });

  it('always warns when a deadline is less than 4 hours away', () => {
    const soon = new Date(NOW.getTime() + 3 * HOUR);
    const n = reminderFor(
      [update('Zoom', soon), update('Firefox')],
      new Date(NOW.getTime() - HOUR),
      7,
      NOW,
    );
    expect(n).toMatchObject({ kind: 'deadline-warning', items: ['Zoom'], deadline: soon });
  });

  it('repeats a deadline warning at most hourly', () => {
    const soon = new Date(NOW.getTime() + 3 * HOUR);
    const tenMinutesAgo = new Date(NOW.getTime() - 10 * 60_000);
    expect(reminderFor([update('Zoom', soon)], tenMinutesAgo, 0, NOW)).toBeUndefined();
  });

  it('says nothing when nothing is pending', () => {
    expect(reminderFor([], undefined, 0, NOW)).toBeUndefined();
  });

  it('names a long list briefly', () => {
    const n = reminderFor(
      ['A', 'B', 'C', 'D', 'E'].map((x) => update(x)),
      undefined,
      1,
      NOW,
    );
    expect(n?.body).toBe('A, B, C and 2 more. Open Self Service to install them.');
  });
});

describe('remindOfPendingUpdates', () => {
  let stateDir: string;
  let paths: { stateDir: string; installInfo: string; logsDir: string };
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'abbot-remind-'));
    paths = {
      stateDir,
      installInfo: join(stateDir, 'InstallInfo.plist'),
      logsDir: join(stateDir, 'Logs'),
    };
    await mkdir(stateDir, { recursive: true });
    await writeFile(
      join(stateDir, 'InstallInfo.plist'),
      buildPlist({
        managed_installs: [{ name: 'Firefox', version_to_install: '2.0', installed: false }],
      }),
    );
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('notifies the logged-in user once a day, recording when', async () => {
    const notifier = loggingNotifier(paths, memoryLogger());
    const ctx = { paths, config: { DaysBetweenNotifications: 1 }, notifier, consoleUser: 'alice' };
    expect(await remindOfPendingUpdates({ ...ctx, now: NOW })).toBeDefined();
    expect(
      await remindOfPendingUpdates({ ...ctx, now: new Date(NOW.getTime() + HOUR) }),
    ).toBeUndefined();
    expect(
      await remindOfPendingUpdates({ ...ctx, now: new Date(NOW.getTime() + 25 * HOUR) }),
    ).toBeDefined();
    const log = (await readFile(notificationLogPath(paths), 'utf8')).trim().split('\n');
    expect(log).toHaveLength(2);
  });

  it('tells nobody at the login window', async () => {
    const notifier = loggingNotifier(paths, memoryLogger());
    const ctx = {
      paths,
      config: { DaysBetweenNotifications: 0 },
      notifier,
      consoleUser: undefined,
    };
    expect(await remindOfPendingUpdates({ ...ctx, now: NOW })).toBeUndefined();
  });
});
