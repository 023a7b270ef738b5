/**
 * Deferrals and deadlines for Apple updates. A check records when each label was first listed
 * (`<state>/AppleUpdatesSeen.json`, written atomically, root-only); from that date:
 * - AppleUpdateDeferralDays later the update may be installed (before that it is only listed);
 * - AppleUpdateDeadlineDays later it is installed even with a user logged in, and the Mac restarts.
 * The logged-in user is warned 60, 30 and 10 minutes before that restart. As Munki's logouthelper
 * does, every warning is mandatory: when a run comes late, the deadline moves back so that each
 * warning is still followed by its full lead time (the 10-minute warning is always given at least
 * 10 minutes before the restart).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import type { Logger } from '../../lib/log.js';
import { deadlineStep as itemDeadlineStep } from '../deadlines/warnings.js';
import type { DeadlineStep, SentWarning } from '../deadlines/warnings.js';
import type { AbbotPaths } from '../platform/platform.js';

/** Minutes before a forced restart at which the user is warned, in order. */
export const RESTART_WARNING_MINUTES = [60, 30, 10] as const;

const DAY_MS = 24 * 60 * 60_000;

export type { DeadlineStep, SentWarning };

/** What is remembered about one label. */
export interface SeenUpdate {
  firstSeen: string;
  warnings: SentWarning[];
}

/** The whole of `AppleUpdatesSeen.json`. */
export interface SeenState {
  version: 1;
  updates: Record<string, SeenUpdate>;
}

/** The admin's deferral and deadline, in days (0: none). */
export interface AppleUpdatePolicy {
  deferralDays: number;
  deadlineDays: number;
}

/** `<stateDir>/AppleUpdatesSeen.json`. */
export function seenStateFile(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'AppleUpdatesSeen.json');
}

const isIso = (v: unknown): v is string =>
  typeof v === 'string' && !Number.isNaN(new Date(v).getTime());

/** Reads the seen-state; a missing file is empty, an unreadable one is empty with a warning. */
export async function readSeenState(
  paths: Pick<AbbotPaths, 'stateDir'>,
  logger: Logger,
): Promise<SeenState> {
  const file = seenStateFile(paths);
  const empty: SeenState = { version: 1, updates: {} };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn(
        'appleupdates.seen.unreadable',
        `cannot read ${file}: ${String(e)}; starting afresh`,
      );
    }
    return empty;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    logger.warn('appleupdates.seen.invalid', `${file} is not JSON; starting afresh`);
    return empty;
  }
  const updates = (data as { updates?: unknown } | null)?.updates;
  if (typeof updates !== 'object' || updates === null || Array.isArray(updates)) return empty;
  for (const [label, value] of Object.entries(updates)) {
    const v = value as { firstSeen?: unknown; warnings?: unknown };
    if (!isIso(v?.firstSeen)) continue;
    const warnings = Array.isArray(v.warnings)
      ? v.warnings.filter(
          (w): w is SentWarning =>
            typeof (w as SentWarning)?.minutes === 'number' && isIso((w as SentWarning).at),
        )
      : [];
    Object.defineProperty(empty.updates, label, {
      value: { firstSeen: v.firstSeen, warnings },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return empty;
}

/** Writes the seen-state atomically (temp file, fsync, rename), readable by root only. */
export async function writeSeenState(
  paths: Pick<AbbotPaths, 'stateDir'>,
  state: SeenState,
): Promise<void> {
  await writeFileAtomic(seenStateFile(paths), JSON.stringify(state, null, 2) + '\n', {
    mkdirs: true,
    mode: 0o600,
  });
}

/**
 * The state after a listing of `labels` at `now`: new labels start their clock, labels no longer
 * listed are forgotten (installed or withdrawn), the others keep theirs. Pure.
 */
export function recordListing(state: SeenState, labels: readonly string[], now: Date): SeenState {
  const updates: Record<string, SeenUpdate> = {};
  for (const label of labels) {
    const known = Object.hasOwn(state.updates, label) ? state.updates[label] : undefined;
    Object.defineProperty(updates, label, {
      value: known ?? { firstSeen: now.toISOString(), warnings: [] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { version: 1, updates };
}

/** When an update first seen at `firstSeen` may be installed, and when it is forced. Pure. */
export function scheduleFor(
  firstSeen: Date,
  policy: AppleUpdatePolicy,
): { deferredUntil: Date | undefined; deadline: Date | undefined } {
  const after = (days: number): Date | undefined =>
    days > 0 ? new Date(firstSeen.getTime() + days * DAY_MS) : undefined;
  return { deferredUntil: after(policy.deferralDays), deadline: after(policy.deadlineDays) };
}

/**
 * The next step towards an Apple update's deadline: the items' deadline rule (every warning
 * mandatory, a late one pushes the restart back) with the restart warnings' 60/30/10 schedule.
 */
export function deadlineStep(
  deadline: Date,
  sent: readonly SentWarning[],
  now: Date,
): DeadlineStep {
  return itemDeadlineStep(deadline, sent, now, RESTART_WARNING_MINUTES);
}
