/**
 * Notifications: the log everywhere, and on macOS the console user's screen through `launchctl
 * asuser UID osascript`, exercised with fake tools under a temporary command root.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/log.js';
import {
  loggingNotifier,
  macNotificationDelivery,
  notificationLogPath,
  NOTIFICATION_SCRIPT,
  type UserNotification,
} from '../../../client/notify/notify-user.js';
import { macUserSession, parseConsoleStat } from '../../../client/platform/macos/user-session.js';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';

// `stat -f '%Su %u %g' /dev/console` prints the console device's owner name, uid and gid. This
// output is reconstructed from stat(1)'s documented format letters, not recorded on a Mac.
const STAT_SOURCE = "reconstructed from stat(1)'s format letters %Su %u %g (not recorded)";

let dir: string;
let argvLog: string;
const logger = memoryLogger();
const notice: UserNotification = {
  kind: 'updates-pending',
  title: '2 software updates are available',
  body: 'Firefox, "Slack" $(reboot). Open Self Service to install them.',
  items: ['Firefox', 'Slack'],
};

async function fakeTools(console: string, launchctlExit = 0): Promise<void> {
  await writeFakeTool(dir, argvLog, '/usr/bin/stat', STAT_SOURCE, `printf '%s\\n' '${console}'`);
  // launchctl asuser prints nothing when the command succeeds (launchctl(1)); the fake only logs.
  await writeFakeTool(
    dir,
    argvLog,
    '/bin/launchctl',
    'launchctl(1): no output',
    `exit ${launchctlExit}`,
  );
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-notify-'));
  argvLog = join(dir, 'argv.log');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('notifications', () => {
  it('records every notification as one JSON line in the notification log', async () => {
    const paths = { logsDir: join(dir, 'Logs') };
    await loggingNotifier(paths, logger).notify(notice);
    const lines = (await readFile(notificationLogPath(paths), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      kind: 'updates-pending',
      title: notice.title,
      items: ['Firefox', 'Slack'],
    });
  });

  it('shows it to the console user with launchctl asuser and osascript, the text as arguments', async () => {
    await fakeTools('alice 501 20');
    const session = macUserSession({ commandRoot: dir, logger });
    const paths = { logsDir: join(dir, 'Logs') };
    await loggingNotifier(paths, logger, macNotificationDelivery(session, logger)).notify(notice);
    const calls = await readToolCalls(argvLog);
    expect(calls[0]).toEqual(['/usr/bin/stat', '-f', '%Su %u %g', '/dev/console']);
    expect(calls[1]).toEqual([
      '/bin/launchctl',
      'asuser',
      '501',
      join(dir, '/usr/bin/osascript'),
      ...NOTIFICATION_SCRIPT.flatMap((line) => ['-e', line]),
      notice.title,
      notice.body,
    ]);
  });

  it('tells nobody at the login window, but still records it', async () => {
    await fakeTools('root 0 0');
    const session = macUserSession({ commandRoot: dir, logger });
    const delivery = macNotificationDelivery(session, logger);
    expect(await delivery.deliver(notice)).toBe(false);
    expect((await readToolCalls(argvLog)).map((c) => c[0])).toEqual(['/usr/bin/stat']);
  });

  it('logs a failed delivery instead of failing', async () => {
    await fakeTools('alice 501 20', 1);
    const log = memoryLogger();
    const session = macUserSession({ commandRoot: dir, logger: log });
    const paths = { logsDir: join(dir, 'Logs') };
    await loggingNotifier(paths, log, macNotificationDelivery(session, log)).notify(notice);
    expect(log.entries.some((e) => e.event === 'notify.deliver.failed')).toBe(true);
    expect(await readFile(notificationLogPath(paths), 'utf8')).toContain(notice.title);
  });

  it.each([
    ['alice 501 20', { user: 'alice', uid: 501, gid: 20 }],
    ['root 0 0', undefined],
    ['loginwindow 88 88', undefined],
    ['', undefined],
    ['two words 501 20', undefined],
  ])('reads the console user from %j', (text, session) => {
    expect(parseConsoleStat(text)).toEqual(session);
  });
});
