/**
 * Warnings before a deadline forces an item on a logged-in user: 60, 30, 10 and 5 minutes ahead,
 * every one of them mandatory, as Munki's logouthelper gives them. Runs come when they come (hourly,
 * or when the daemon wakes), so a warning given late pushes the enforcement back: after an
 * N-minute warning the user always has N minutes. `deadlineStep` is pure; `giveWarning` sends one
 * through the notification seam.
 */
import type { Notifier } from '../notify/notify-user.js';

/** Minutes before enforcement at which the user is warned, in order. */
export const DEADLINE_WARNING_MINUTES = [60, 30, 10, 5] as const;

const MINUTE_MS = 60_000;

/** A warning given. */
export interface SentWarning {
  minutes: number;
  /** ISO date. */
  at: string;
}

/** What a run should do about one deadline. */
export interface DeadlineStep {
  /** The warning to give now (minutes ahead), if one is due. */
  warn: number | undefined;
  /** True when the item is to be installed now, user or not. */
  enforce: boolean;
  /** When it will be enforced, counting the lead every warning (including `warn`) promised. */
  enforceAt: Date;
  /**
   * When the next warning or the enforcement falls due after what this run does (for a
   * scheduler); undefined when the item is enforced now.
   */
  nextAt: Date | undefined;
}

/**
 * The next step towards `deadline`, given the warnings already sent: the next warning in order
 * once its time has come, then enforcement once every warning's lead has passed.
 */
export function deadlineStep(
  deadline: Date,
  sent: readonly SentWarning[],
  now: Date,
  schedule: readonly number[] = DEADLINE_WARNING_MINUTES,
): DeadlineStep {
  let effective = deadline.getTime();
  for (const w of sent)
    effective = Math.max(effective, new Date(w.at).getTime() + w.minutes * MINUTE_MS);
  const given = new Set(sent.map((w) => w.minutes));
  const next = schedule.find((m) => !given.has(m));
  const t = now.getTime();
  if (next !== undefined) {
    const dueAt = effective - next * MINUTE_MS;
    const due = t >= dueAt;
    // Once this warning is given now, the scheduler's next moment is the step after it.
    const after = due
      ? deadlineStep(deadline, [...sent, { minutes: next, at: now.toISOString() }], now, schedule)
      : undefined;
    return {
      warn: due ? next : undefined,
      enforce: false,
      enforceAt: new Date(due ? Math.max(effective, t + next * MINUTE_MS) : effective),
      nextAt: due ? after?.nextAt : new Date(dueAt),
    };
  }
  return {
    warn: undefined,
    enforce: t >= effective,
    enforceAt: new Date(effective),
    nextAt: t >= effective ? undefined : new Date(effective),
  };
}

/** Tells the logged-in user that `displayName` will be installed at `enforceAt`. */
export async function giveWarning(
  notifier: Notifier,
  item: { name: string; displayName: string },
  minutes: number,
  enforceAt: Date,
): Promise<void> {
  await notifier.notify({
    kind: 'deadline-warning',
    title: `${item.displayName} will be installed in ${minutes} minutes`,
    body: `Its deadline has come: save your work. ${item.displayName} is installed at ${enforceAt.toLocaleTimeString()}, and applications may be quit.`,
    items: [item.name],
    deadline: enforceAt,
  });
}
