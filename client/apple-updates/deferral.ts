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
import type { AbbotPaths } from '../platform/platform.js';

/** Minutes before a forced restart at which the user is warned, in order. */
export const RESTART_WARNING_MINUTES = [60, 30, 10] as const;

const DAY_MS = 24 * 60 * 60_000;
const MINUTE_MS = 60_000;

/** One warning given. */
export interface SentWarning {
  minutes: number;
  at: string;
}

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

/** What a run should do about a deadline. */
export interface DeadlineStep {
  /** A warning to give now (minutes before the restart), if one is due. */
  warn: number | undefined;
  /** True when the update must be installed now, with a restart. */
  enforce: boolean;
  /** The deadline after late warnings pushed it back. */
  effectiveDeadline: Date;
  /** When the next warning or the enforcement falls due (for a scheduler); undefined if now. */
  nextAt: Date | undefined;
}

/**
 * The next step towards a deadline, given the warnings already sent. Warnings are given in order
 * (60, then 30, then 10 minutes); each pushes the effective deadline to at least its own time
 * plus its lead, so a late run never restarts the Mac sooner than the user was told. Pure.
 */
export function deadlineStep(
  deadline: Date,
  sent: readonly SentWarning[],
  now: Date,
): DeadlineStep {
  let effective = deadline.getTime();
  for (const w of sent)
    effective = Math.max(effective, new Date(w.at).getTime() + w.minutes * MINUTE_MS);
  const given = new Set(sent.map((w) => w.minutes));
  const next = RESTART_WARNING_MINUTES.find((m) => !given.has(m));
  const t = now.getTime();
  if (next !== undefined) {
    const dueAt = effective - next * MINUTE_MS;
    return {
      warn: t >= dueAt ? next : undefined,
      enforce: false,
      effectiveDeadline: new Date(Math.max(effective, t + next * MINUTE_MS)),
      nextAt: t >= dueAt ? undefined : new Date(dueAt),
    };
  }
  return {
    warn: undefined,
    enforce: t >= effective,
    effectiveDeadline: new Date(effective),
    nextAt: t >= effective ? undefined : new Date(effective),
  };
}
