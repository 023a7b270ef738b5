/**
 * Telling the logged-in user something (updates pending, a deadline near, a restart coming).
 * Every notification is appended as one JSON line to `Logs/notifications.jsonl` under the state
 * folder, so admins and tests can see what users were told. On macOS it is also shown on the
 * console user's screen: the root daemon runs `launchctl asuser UID /usr/bin/osascript` with a
 * fixed `display notification` script that takes the title and text as arguments (never as script
 * source), so nothing in a message can run as code. In the sandbox the log is the delivery.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import {
  USER_SESSION_TOOLS,
  macUserSession,
  type UserSession,
} from '../platform/macos/user-session.js';
import type { AbbotPaths, Platform } from '../platform/platform.js';

/** Why the user is being told something. */
export type NotificationKind =
  'updates-pending' | 'deadline-warning' | 'restart-warning' | 'action-required' | 'install-failed';

/** One message for the logged-in user. */
export interface UserNotification {
  kind: NotificationKind;
  title: string;
  body: string;
  /** Item names (or Apple update labels) the message is about. */
  items?: readonly string[];
  /** When the deadline or restart the message warns about falls. */
  deadline?: Date;
}

/** Something that delivers notifications to the logged-in user. */
export interface Notifier {
  /** Records and delivers `notification`; never throws for a delivery failure (it is logged). */
  notify(notification: UserNotification): Promise<void>;
}

/** The notification log's path under the client's state folder. */
export function notificationLogPath(paths: Pick<AbbotPaths, 'logsDir'>): string {
  return join(paths.logsDir, 'notifications.jsonl');
}

/** Puts a notification on the user's screen. */
export interface NotificationDelivery {
  /** Shows `notification`; resolves false when nobody could be shown it. */
  deliver(notification: UserNotification): Promise<boolean>;
}

/**
 * The AppleScript osascript runs: the title and text arrive as `argv`, so they are data. (A
 * leading `-` is dropped from them because osascript would read it as an option.)
 */
export const NOTIFICATION_SCRIPT = [
  'on run argv',
  'display notification (item 2 of argv) with title (item 1 of argv)',
  'end run',
];

/** Delivery to the macOS console user's Notification Center through `launchctl asuser`. */
export function macNotificationDelivery(
  session: UserSession,
  logger: Logger,
): NotificationDelivery {
  return {
    async deliver(notification) {
      const console = await session.consoleSession();
      if (!console) return false; // the login window: nobody to tell
      const argv = [
        USER_SESSION_TOOLS.osascript,
        ...NOTIFICATION_SCRIPT.flatMap((line) => ['-e', line]),
        notification.title.replace(/^-+/, ''),
        notification.body.replace(/^-+/, ''),
      ];
      const result = await session.runAsUser(console.uid, argv);
      if (result.exitCode !== 0) {
        logger.warn(
          'notify.deliver.failed',
          `could not show a notification to ${console.user}: osascript exited with ${String(result.exitCode)} ${result.stderr.trim()}`,
        );
        return false;
      }
      return true;
    },
  };
}

/** The notifier for a platform: the log everywhere, and the screen on macOS. */
export function notifierFor(platform: Platform, logger: Logger): Notifier {
  const delivery =
    platform.kind === 'macos'
      ? macNotificationDelivery(
          macUserSession({ commandRoot: platform.paths.root, logger }),
          logger,
        )
      : undefined;
  return loggingNotifier(platform.paths, logger, delivery);
}

/**
 * A notifier that records each notification in the notification log and the client log, then
 * hands it to `delivery` (when given) to show it.
 */
export function loggingNotifier(
  paths: Pick<AbbotPaths, 'logsDir'>,
  logger: Logger,
  delivery?: NotificationDelivery,
): Notifier {
  return {
    async notify(notification) {
      const line = JSON.stringify({
        at: new Date().toISOString(),
        kind: notification.kind,
        title: notification.title,
        body: notification.body,
        ...(notification.items ? { items: notification.items } : {}),
        ...(notification.deadline ? { deadline: notification.deadline.toISOString() } : {}),
      });
      try {
        await mkdir(paths.logsDir, { recursive: true });
        await appendFile(notificationLogPath(paths), line + '\n', { mode: 0o644 });
      } catch (e) {
        logger.warn('notify.log.failed', `could not record a notification: ${String(e)}`);
      }
      logger.info('notify', `${notification.title}: ${notification.body}`, {
        kind: notification.kind,
      });
      try {
        await delivery?.deliver(notification);
      } catch (e) {
        logger.warn('notify.deliver.failed', `could not show a notification: ${describeError(e)}`);
      }
    },
  };
}
