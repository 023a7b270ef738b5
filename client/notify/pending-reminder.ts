/**
 * Reminding the logged-in user of pending updates, as Munki does after a check: at most once every
 * DaysBetweenNotifications days (0: every time it is asked), but hourly when an update's deadline
 * (force_install_after_date) is less than 4 hours away, since it will then be installed without
 * asking. Nobody is reminded at the login window. When the last reminder went out is kept in
 * `<state>/notify-state.json`, so asking often (the self-service server does, every few minutes)
 * never nags.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import type { Config } from '../config.js';
import type { AbbotPaths } from '../platform/platform.js';
import { pendingUpdates, type PendingUpdateView } from '../selfservice/pending-updates.js';
import type { Notifier, UserNotification } from './notify-user.js';

/** Munki warns this long before a deadline whatever DaysBetweenNotifications says. */
export const DEADLINE_WARNING_MS = 4 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Deadline warnings repeat at most this often (Munki warns at each hourly run). */
export const DEADLINE_REPEAT_MS = 60 * 60 * 1000;

/** What a reminder needs. */
export interface ReminderContext {
  paths: Pick<AbbotPaths, 'installInfo' | 'stateDir'>;
  config: Pick<Config, 'DaysBetweenNotifications'>;
  notifier: Notifier;
  /** The console user; undefined at the login window. */
  consoleUser: string | undefined;
  now?: Date;
}

/** `<state>/notify-state.json`. */
export function notifyStatePath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'notify-state.json');
}

/** The reminder for `pending` at `now`, or undefined when none is due. */
export function reminderFor(
  pending: readonly PendingUpdateView[],
  lastNotified: Date | undefined,
  daysBetween: number,
  now: Date,
): UserNotification | undefined {
  if (pending.length === 0) return undefined;
  const names = pending.map((p) => p.displayName);
  const list =
    names.length > 3
      ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`
      : names.join(', ');
  const soonest = pending[0]?.deadline;
  const deadline = soonest === undefined ? undefined : new Date(soonest);
  const since = lastNotified ? now.getTime() - lastNotified.getTime() : Infinity;
  if (deadline && deadline.getTime() - now.getTime() <= DEADLINE_WARNING_MS) {
    if (since < DEADLINE_REPEAT_MS) return undefined;
    const due = pending.filter(
      (p) =>
        p.deadline !== undefined &&
        Date.parse(p.deadline) <= deadline.getTime() + DEADLINE_WARNING_MS,
    );
    return {
      kind: 'deadline-warning',
      title: 'Updates will be installed soon',
      body: `${due.map((p) => p.displayName).join(', ')} must be installed by ${deadline.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' })}. Save your work.`,
      items: due.map((p) => p.name),
      deadline,
    };
  }
  if (since < daysBetween * DAY_MS) return undefined;
  return {
    kind: 'updates-pending',
    title:
      pending.length === 1
        ? 'A software update is available'
        : `${pending.length} software updates are available`,
    body: `${list}. Open Self Service to install them.`,
    items: pending.map((p) => p.name),
    ...(deadline ? { deadline } : {}),
  };
}

async function readDict(path: string): Promise<PlistDict> {
  try {
    const value = parsePlist(await readFile(path), { source: path });
    return isPlistDict(value) ? value : {};
  } catch {
    return {};
  }
}

async function readLastNotified(path: string): Promise<Date | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as { lastNotified?: unknown };
    const at = typeof value.lastNotified === 'string' ? new Date(value.lastNotified) : undefined;
    return at && !Number.isNaN(at.getTime()) ? at : undefined;
  } catch {
    return undefined;
  }
}

/** Sends the reminder that is due, if any, and returns it. Call it after each check. */
export async function remindOfPendingUpdates(
  ctx: ReminderContext,
): Promise<UserNotification | undefined> {
  if (ctx.consoleUser === undefined) return undefined;
  const now = ctx.now ?? new Date();
  const statePath = notifyStatePath(ctx.paths);
  const pending = pendingUpdates(await readDict(ctx.paths.installInfo));
  const notification = reminderFor(
    pending,
    await readLastNotified(statePath),
    ctx.config.DaysBetweenNotifications,
    now,
  );
  if (!notification) return undefined;
  await ctx.notifier.notify(notification);
  await writeFileAtomic(statePath, JSON.stringify({ lastNotified: now.toISOString() }), {
    mkdirs: true,
  });
  return notification;
}
