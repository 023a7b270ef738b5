/**
 * Who self service is for: the user logged in at the console. On macOS the console device's owner
 * (`stat /dev/console`, which also gives the uid their token file is given to); in the sandbox the
 * `console_user` of machine.plist.
 */
import type { Logger } from '../../lib/log.js';
import { macUserSession } from '../platform/macos/user-session.js';
import type { Platform } from '../platform/platform.js';
import type { TokenOwner } from './token.js';

/** The console user and, on macOS, who should own their token file. */
export interface ConsoleUser {
  user: string;
  owner?: TokenOwner;
}

/** How the server finds the console user: `stat /dev/console` on macOS, machine.plist in the sandbox. */
export function consoleUserFinder(
  platform: Platform,
  logger: Logger,
): () => Promise<ConsoleUser | undefined> {
  if (platform.kind === 'macos') {
    const session = macUserSession({ commandRoot: platform.paths.root, logger });
    return async () => {
      const s = await session.consoleSession();
      return s ? { user: s.user, owner: { uid: s.uid, gid: s.gid } } : undefined;
    };
  }
  return async () => {
    const user = await platform.consoleUser();
    return user === undefined ? undefined : { user };
  };
}
