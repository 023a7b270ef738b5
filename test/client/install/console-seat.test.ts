/**
 * When the platform cannot tell who is logged in, an install session goes on without knowing (never
 * as if at the login window), and says so in its log instead of hiding the error.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../client/config.js';
import { consoleSeat } from '../../../client/install/console-seat.js';
import { runInstall } from '../../../client/install/run-install.js';
import type { Platform } from '../../../client/platform/platform.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { buildPlist, isPlistDict, parsePlist } from '../../../formats/index.js';
import { AppError } from '../../../lib/errors.js';
import { memoryLogger } from '../../../lib/log.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const STAT_FAILED = new AppError(
  'COMMAND_FAILED',
  '/usr/bin/stat exited with status 1: stat: /dev/console: stat: No such file or directory',
);

let root: string;
beforeEach(async () => {
  root = await makeSandboxRoot({ machine: { console_user: 'alice' } });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The sandbox platform, except that asking for the console user fails. */
function platformWithoutConsoleUser(): Platform {
  return { ...sandboxPlatform(root), consoleUser: () => Promise.reject(STAT_FAILED) };
}

const unknownUserWarnings = (logger: ReturnType<typeof memoryLogger>): string[] =>
  logger.entries
    .filter((e) => e.level === 'warn' && e.event === 'install.console-user.unknown')
    .map((e) => e.message);

describe('consoleSeat', () => {
  it('gives the console user when the platform can tell', async () => {
    const logger = memoryLogger();
    expect(await consoleSeat(sandboxPlatform(root), logger)).toEqual({
      user: 'alice',
      known: true,
    });
    expect(logger.entries).toEqual([]);
  });

  it('says it does not know, and logs a warning naming the error, when the platform cannot', async () => {
    const logger = memoryLogger();
    expect(await consoleSeat(platformWithoutConsoleUser(), logger)).toEqual({
      user: undefined,
      known: false,
    });
    expect(unknownUserWarnings(logger)).toEqual([
      `Cannot tell who is logged in (${STAT_FAILED.message}); Apple updates that restart the Mac wait for their deadline.`,
    ]);
  });
});

describe('an install session whose platform cannot tell the console user', () => {
  it('installs its items and logs the error', async () => {
    await writeFile(
      join(root, 'Library/Abbot/InstallInfo.plist'),
      buildPlist({
        managed_installs: [
          {
            name: 'Settings',
            version_to_install: '1.0',
            installer_type: 'nopkg',
            installer_item: 'packageless_install',
            installed: false,
          },
        ],
        removals: [],
      }),
    );
    const platform = platformWithoutConsoleUser();
    const logger = memoryLogger();
    const outcome = await runInstall({
      platform,
      config: await loadConfig({ paths: platform.paths }),
      logger,
      mode: 'all',
      kind: 'install',
      now: () => new Date('2026-03-02T12:00:00Z'),
    });

    expect(outcome.results.map((r) => [r.name, r.result])).toEqual([['Settings', 'success']]);
    // Asked once, for the Apple updates' session and the report.
    expect(unknownUserWarnings(logger)).toHaveLength(1);
    expect(unknownUserWarnings(logger)[0]).toContain(STAT_FAILED.message);
    const report = parsePlist(await readFile(platform.paths.report), {
      source: platform.paths.report,
    });
    // Munki's word for nobody: alice (in machine.plist) was never seen.
    expect(isPlistDict(report) ? report['ConsoleUser'] : undefined).toBe('<None>');
  });
});
