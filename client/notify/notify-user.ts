/**
 * Telling the logged-in user something (updates pending, a deadline near, a restart coming).
 * Every notification is appended as one JSON line to `Logs/notifications.jsonl` under the state
 * folder, so admins and tests can see what users were told; delivery to the user's screen on macOS
 * is the self-service notifier's job and is added to this seam, never called around it.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import type { AbbotPaths } from '../platform/platform.js';

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

/** A notifier that records each notification in the notification log and the client log. */
export function loggingNotifier(paths: Pick<AbbotPaths, 'logsDir'>, logger: Logger): Notifier {
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
    },
  };
}
