/**
 * Deadlines in an install session. With a user logged in, each pending item with a deadline
 * (force_install_after_date, deferral_days, max_deferrals) gets its reminders (each one a
 * deferral) and its 60/30/10/5-minute warnings through the notification seam, and once every
 * warning's lead has passed it is installed without waiting for the user, even when it needs a
 * restart (Munki forces the logout for those at the deadline; Abbot installs and records the
 * restart). At the login window there is nobody to warn: an item is forced at its deadline (which
 * matters outside the InstallWindow, where only unattended items would otherwise go). The record
 * of what was seen and said is updated in one locked write.
 */
import type { PlistDict } from '../../formats/index.js';
import type { Logger } from '../../lib/log.js';
import type { Notifier } from '../notify/notify-user.js';
import type { AbbotPaths } from '../platform/platform.js';
import {
  afterReminder,
  deferralPolicyOf,
  deferralStore,
  deferralsLeft,
  hasDeferralPolicy,
  itemDeadline,
  type DeferralData,
  type DeferralRecord,
} from './deferrals.js';
import { DEADLINE_WARNING_MINUTES, deadlineStep, giveWarning } from './warnings.js';

const DAY_MS = 24 * 60 * 60_000;

/** What the deadline pass needs. */
export interface DeadlineContext {
  paths: Pick<AbbotPaths, 'stateDir'>;
  logger: Logger;
  notifier: Notifier;
  now: Date;
  /** DaysBetweenNotifications: days between reminders (0: every run). */
  daysBetweenReminders: number;
  /** Whether someone is logged in to be reminded and warned. */
  userLoggedIn: boolean;
  utcOffsetMinutes?: (at: Date) => number;
}

/** What the deadline pass decided. */
export interface DeadlineOutcome {
  /** Items whose deadline and warnings have passed: installed now, user or not. */
  forced: Set<string>;
  /** When the next warning or enforcement falls due (for a scheduler to wake then). */
  nextAt: Date | undefined;
}

const displayNameOf = (item: PlistDict): string =>
  typeof item['display_name'] === 'string' ? item['display_name'] : String(item['name']);

/** Reminds, warns and decides enforcement for `pending` installs; forgets items no longer pending. */
export async function applyDeadlines(
  ctx: DeadlineContext,
  pending: readonly PlistDict[],
): Promise<DeadlineOutcome> {
  const store = deferralStore(ctx.paths, ctx.logger);
  const forced = new Set<string>();
  let nextAt: number | undefined;
  const iso = ctx.now.toISOString();
  await store.exclusive(async () => {
    const before = (await store.read()) ?? { version: 1, items: {} };
    const after: DeferralData = { version: 1, items: {} };
    for (const item of pending) {
      const name = String(item['name']);
      const policy = deferralPolicyOf(item, ctx.logger);
      const hasForceDate = item['force_install_after_date'] instanceof Date;
      if (!hasDeferralPolicy(policy) && !hasForceDate) continue;
      let record: DeferralRecord = Object.hasOwn(before.items, name)
        ? (before.items[name] as DeferralRecord)
        : { firstSeen: iso, deferrals: 0, warnings: [] };
      if (ctx.userLoggedIn && hasDeferralPolicy(policy) && record.exhaustedAt === undefined) {
        const last = record.lastReminder ? new Date(record.lastReminder).getTime() : undefined;
        if (last === undefined || ctx.now.getTime() - last >= ctx.daysBetweenReminders * DAY_MS) {
          record = afterReminder(record, policy, ctx.now);
          const left = deferralsLeft(policy, record);
          await ctx.notifier.notify({
            kind: 'updates-pending',
            title: `${displayNameOf(item)} is waiting to be installed`,
            body:
              left === undefined
                ? 'Install it from Self Service when it suits you, before its deadline.'
                : left > 0
                  ? `Install it from Self Service; you can put it off ${left} more time${left === 1 ? '' : 's'}.`
                  : 'It can no longer be put off and will be installed shortly.',
            items: [name],
          });
        }
      }
      const deadline = itemDeadline(item, policy, record, ctx.utcOffsetMinutes);
      if (deadline !== undefined) {
        // Nobody to warn at the login window: the deadline itself is enough (plus the lead of any
        // warning a user was given before logging out).
        const step = deadlineStep(
          deadline,
          record.warnings,
          ctx.now,
          ctx.userLoggedIn ? DEADLINE_WARNING_MINUTES : [],
        );
        if (step.warn !== undefined) {
          await giveWarning(
            ctx.notifier,
            { name, displayName: displayNameOf(item) },
            step.warn,
            step.enforceAt,
          );
          record = { ...record, warnings: [...record.warnings, { minutes: step.warn, at: iso }] };
          ctx.logger.info('deadlines.warned', `${name}: warned ${step.warn} minutes ahead`);
        }
        if (step.enforce) forced.add(name);
        const at = step.nextAt?.getTime();
        if (at !== undefined) nextAt = nextAt === undefined ? at : Math.min(nextAt, at);
      }
      Object.defineProperty(after.items, name, { value: record, enumerable: true, writable: true });
    }
    await store.write(after);
  });
  return { forced, nextAt: nextAt === undefined ? undefined : new Date(nextAt) };
}
