/**
 * The one moment the daemon wakes for: the earliest next deadline step (an item's warning or
 * forced install, an Apple update's warning or forced restart) that the last full install session
 * worked out. It lives in the client state (`nextDeadlineAt`), so the daemon, which runs each
 * session in a child process, learns it the same way `abbot status` does.
 */
import type { AbbotPaths } from '../platform/platform.js';
import { peekClientState } from '../state/client-state.js';

/** The earliest of `dates`, ignoring the missing ones; undefined when none is given. */
export function earliestDate(dates: readonly (Date | undefined)[]): Date | undefined {
  let earliest: Date | undefined;
  for (const d of dates) if (d !== undefined && (!earliest || d < earliest)) earliest = d;
  return earliest;
}

/**
 * The recorded next deadline step; undefined when none is recorded, or when the state file is
 * missing or corrupt (the next run rewrites it). Reads without changing anything.
 */
export async function readNextDeadline(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<Date | undefined> {
  const state = await peekClientState(paths);
  if (state.state !== 'ok' || state.value.nextDeadlineAt === undefined) return undefined;
  return new Date(state.value.nextDeadlineAt);
}
