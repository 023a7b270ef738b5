/**
 * Reaching the user logged in at the console from a root daemon, on macOS: who they are
 * (`stat -f '%Su %u %g' /dev/console`: the console device belongs to whoever is logged in at the
 * screen, root at the login window) and running a command in their GUI session with `launchctl
 * asuser UID …`, which is how a LaunchDaemon shows a notification or opens a page in the user's
 * browser. Every tool is run from under `commandRoot` (`/` on a Mac), so tests on any OS place fake
 * executables there. Arguments are passed as argv, never through a shell.
 */
import { join } from 'node:path';
import { describeError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { runCommand, type CommandResult } from '../../../lib/run-command.js';

/** The tools this module runs, by their real paths. */
export const USER_SESSION_TOOLS = {
  stat: '/usr/bin/stat',
  launchctl: '/bin/launchctl',
  osascript: '/usr/bin/osascript',
  open: '/usr/bin/open',
} as const;

/** The user at the console. */
export interface ConsoleSession {
  user: string;
  uid: number;
  gid: number;
}

/** What a daemon can do in the console user's session. */
export interface UserSession {
  /** The console user; undefined at the login window or when it cannot be told. */
  consoleSession(): Promise<ConsoleSession | undefined>;
  /** Runs `argv` (its first element a macOS path) as `uid` in their GUI session (`launchctl asuser`). */
  runAsUser(uid: number, argv: readonly string[]): Promise<CommandResult>;
  /** Opens `url` in the default browser of whoever runs this (`open URL`). */
  openUrl(url: string): Promise<CommandResult>;
}

/** Options of {@link macUserSession}. */
export interface UserSessionOptions {
  /** Where Apple's tools are found (default `/`). */
  commandRoot?: string;
  logger: Logger;
  /** Time limit of each command (default 30 s). */
  timeoutMs?: number;
}

/** Reads `stat -f '%Su %u %g'` output: `alice 501 20`; root and loginwindow mean nobody. */
export function parseConsoleStat(text: string): ConsoleSession | undefined {
  const match = /^(\S+) (\d+) (\d+)$/.exec(text.trim());
  if (!match) return undefined;
  const [, user = '', uid = '0', gid = '0'] = match;
  if (user === 'root' || user === 'loginwindow' || Number(uid) === 0) return undefined;
  return { user, uid: Number(uid), gid: Number(gid) };
}

/** The macOS user session, through Apple's tools under `commandRoot`. */
export function macUserSession(options: UserSessionOptions): UserSession {
  const tool = (path: string): string => join(options.commandRoot ?? '/', path);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    async consoleSession() {
      try {
        const r = await runCommand(
          [tool(USER_SESSION_TOOLS.stat), '-f', '%Su %u %g', '/dev/console'],
          { timeoutMs },
        );
        return r.exitCode === 0 ? parseConsoleStat(r.stdout) : undefined;
      } catch (e) {
        options.logger.warn('session.console.unknown', describeError(e));
        return undefined;
      }
    },
    runAsUser(uid, argv) {
      const [command = '', ...args] = argv;
      return runCommand(
        [tool(USER_SESSION_TOOLS.launchctl), 'asuser', String(uid), tool(command), ...args],
        { timeoutMs },
      );
    },
    openUrl(url) {
      return runCommand([tool(USER_SESSION_TOOLS.open), url], { timeoutMs });
    },
  };
}
