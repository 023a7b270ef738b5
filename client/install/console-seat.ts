/**
 * Who sits at the console, for an install session, where not knowing must not stop the run: the
 * platform's error is logged (so a broken `stat /dev/console` is seen) and the session goes on
 * knowing that it does not know. Callers that would restart the Mac or skip a user's warnings for
 * an empty console must check `known`: an unknown user is not the login window.
 */
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Platform } from '../platform/platform.js';

/** The console as far as the platform could tell. */
export interface ConsoleSeat {
  /** The logged-in user; undefined at the login window or when unknown. */
  user: string | undefined;
  /** False when the platform failed to say (the warning is logged). */
  known: boolean;
}

/** The console user, or (with a warning naming the error) an unknown seat. */
export async function consoleSeat(
  platform: Pick<Platform, 'consoleUser'>,
  logger: Logger,
): Promise<ConsoleSeat> {
  try {
    return { user: await platform.consoleUser(), known: true };
  } catch (e) {
    logger.warn(
      'install.console-user.unknown',
      `Cannot tell who is logged in (${describeError(e)}); Apple updates that restart the Mac wait for their deadline.`,
    );
    return { user: undefined, known: false };
  }
}
