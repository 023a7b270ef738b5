/**
 * The daemon's one-shot wake-up for deadlines: a deadline's warnings (60/30/10/5 minutes ahead)
 * and its forced install are due at moments of their own, which hourly check-ins would miss by up
 * to an hour. After every run (and at startup) the daemon reads the moment the last full session
 * recorded and arms a single timer for it; when it fires, the daemon asks its run coordinator for
 * the same auto run a check-in starts, so the run never overlaps another and keeps the same rules.
 */
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

/**
 * The soonest a wake-up is armed after now: a step just missed, or recorded by a run that did not
 * act on it, waits for a fresh run rather than spinning, and a restarting daemon does not rush.
 */
export const MIN_WAKE_DELAY_MS = 30_000;

/** The longest delay setTimeout keeps (about 24.8 days); a longer wait is armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fire` after `delayMs`; returns what cancels it. */
export type SetTimer = (fire: () => void, delayMs: number) => () => void;

/** Node's timer; it does not keep the process alive by itself (the daemon's socket does). */
export const nodeTimer: SetTimer = (fire, delayMs) => {
  const handle = setTimeout(fire, delayMs);
  handle.unref();
  return () => clearTimeout(handle);
};

/**
 * When to wake for a deadline step due at `moment`: never sooner than 30 s from `now`, never later
 * than the next scheduled check-in (which runs anyway and re-arms); undefined when none is due.
 */
export function deadlineWakeAt(
  moment: Date | undefined,
  now: Date,
  nextCheckIn: Date | null,
): Date | undefined {
  if (moment === undefined) return undefined;
  const at = Math.max(moment.getTime(), now.getTime() + MIN_WAKE_DELAY_MS);
  return new Date(nextCheckIn === null ? at : Math.min(at, nextCheckIn.getTime()));
}

/** What the wake-up needs; the daemon builds it. */
export interface DeadlineWakeOptions {
  /** The recorded next deadline step (the client state's `nextDeadlineAt`). */
  readMoment: () => Promise<Date | undefined>;
  /** When the next scheduled check-in is due (null: never). */
  nextCheckIn: () => Date | null;
  /** Starts the auto run, through the run coordinator. */
  wake: () => Promise<unknown>;
  logger: Logger;
  now?: () => Date;
  setTimer?: SetTimer;
}

/** The armed wake-up. */
export interface DeadlineWake {
  /**
   * Re-reads the moment and arms the timer for it, or clears it when there is none. After a run,
   * pass when it started: a moment not later than that is one the run did not renew (it failed,
   * was killed, or did not look at deadlines), and is left to the next check-in.
   */
  rearm(runStartedAt?: Date): Promise<void>;
  /** When the armed timer fires; undefined when none is armed. */
  armedFor(): Date | undefined;
  /** Cancels the timer; nothing is armed afterwards. */
  close(): void;
}

/** Creates the wake-up, disarmed until the first {@link DeadlineWake.rearm}. */
export function createDeadlineWake(options: DeadlineWakeOptions): DeadlineWake {
  const { logger } = options;
  const now = options.now ?? (() => new Date());
  const setTimer = options.setTimer ?? nodeTimer;
  let cancel: (() => void) | undefined;
  let armedAt: Date | undefined;
  // Reads can overlap (startup and a run ending); only the newest may arm.
  let generation = 0;
  let isClosed = false;

  const disarm = (): void => {
    cancel?.();
    cancel = undefined;
    armedAt = undefined;
  };

  const fire = (): void => {
    const at = armedAt;
    disarm();
    if (at === undefined || isClosed) return;
    const left = at.getTime() - now().getTime();
    if (left > 0) {
      arm(at); // woken early: the wait was longer than one timer can hold
      return;
    }
    logger.info('daemon.deadline.wake', 'Deadline step due: starting a run.');
    options.wake().catch((e: unknown) => {
      logger.warn('daemon.deadline.failed', `deadline run not started: ${describeError(e)}`);
    });
  };

  const arm = (at: Date): void => {
    armedAt = at;
    const delay = Math.min(Math.max(0, at.getTime() - now().getTime()), MAX_TIMER_MS);
    cancel = setTimer(fire, delay);
  };

  return {
    async rearm(runStartedAt) {
      const mine = ++generation;
      let moment: Date | undefined;
      try {
        moment = await options.readMoment();
      } catch (e) {
        logger.warn('daemon.deadline.unreadable', `next deadline step: ${describeError(e)}`);
      }
      if (mine !== generation || isClosed) return;
      if (moment !== undefined && runStartedAt !== undefined && moment <= runStartedAt) {
        logger.debug(
          'daemon.deadline.stale',
          `deadline step ${moment.toISOString()} was not renewed by the last run; left to the next check-in`,
        );
        moment = undefined;
      }
      disarm();
      const at = deadlineWakeAt(moment, now(), options.nextCheckIn());
      if (at === undefined) return;
      arm(at);
      logger.info(
        'daemon.deadline.armed',
        `Waking at ${at.toISOString()} for the next deadline step (due ${moment?.toISOString() ?? ''})`,
      );
    },
    armedFor: () => armedAt,
    close() {
      isClosed = true;
      generation++;
      disarm();
    },
  };
}
