/**
 * One unattended run: check, then install what may be installed now. What `abbot run --auto` does,
 * what the daemon's scheduled check-ins run, and (with `bootstrap`) one pass of bootstrap mode.
 */
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Progress } from '../../lib/progress.js';
import type { Facts } from '../../manifests/index.js';
import type { Config } from '../config.js';
import { isInInstallWindow, parseInstallWindow } from '../daemon/check-in-schedule.js';
import type { InstallMode, InstallOutcome } from '../install/run-install.js';
import type { Platform } from '../platform/platform.js';
import { openClientState } from '../state/client-state.js';

/** What an unattended run needs; the composition root builds it. */
export interface AutoRunContext {
  platform: Platform;
  config: Config;
  logger: Logger;
  progress: Progress;
  /**
   * A bootstrap pass (Munki's checkandinstallatstartup): everything in the plan is installed, with
   * or without a user, whatever the install window says.
   */
  bootstrap?: boolean;
  now?: () => Date;
}

/** How an unattended run went. */
export interface AutoRunOutcome {
  /** The CLI's exit code: 1 when the check or any item failed. */
  exitCode: 0 | 1;
  checkFailed: boolean;
  /** The install session; absent when SuppressAutoInstall kept it from running. */
  install?: InstallOutcome;
}

/**
 * Which items a run may do: everything at the login window (unless SuppressLoginwindowInstall, or
 * outside the InstallWindow), only unattended items with a user logged in; everything in bootstrap.
 */
export function autoInstallMode(
  config: Pick<Config, 'SuppressLoginwindowInstall' | 'InstallWindow'>,
  consoleUser: string | undefined,
  now: Date,
  bootstrap = false,
): InstallMode {
  if (bootstrap) return 'all';
  if (consoleUser !== undefined || config.SuppressLoginwindowInstall) return 'unattended';
  if (config.InstallWindow === undefined) return 'all';
  return isInInstallWindow(parseInstallWindow(config.InstallWindow), now) ? 'all' : 'unattended';
}

/** Checks, then installs what may be installed now; a failed check still installs the last plan. */
export async function runAuto(ctx: AutoRunContext): Promise<AutoRunOutcome> {
  const { platform, config, logger } = ctx;
  const now = ctx.now ?? (() => new Date());
  const { runCheck } = await import('../check/run-check.js');
  let checkFailed = false;
  let facts: Facts | undefined;
  try {
    facts = (await runCheck({ platform, config, logger })).facts;
  } catch (e) {
    // Munki carries on with the previous plan when a check fails; the exit code still says so.
    if (e instanceof AppError && e.code === 'ALREADY_RUNNING') throw e;
    logger.error(
      'run.check.failed',
      `check failed: ${describeError(e)}; installing from the previous plan`,
    );
    checkFailed = true;
  }
  if (config.SuppressAutoInstall && ctx.bootstrap !== true) {
    logger.info(
      'run.suppressed',
      'SuppressAutoInstall is set: nothing is installed automatically.',
    );
    // Nothing is enforced either, so no deadline step is left for the daemon to wake for.
    await (await openClientState(platform.paths, { logger })).recordNextDeadline(undefined);
    return { exitCode: checkFailed ? 1 : 0, checkFailed };
  }
  const user = await platform.consoleUser();
  const mode = autoInstallMode(config, user, now(), ctx.bootstrap);
  if (mode === 'unattended' && user === undefined && config.InstallWindow !== undefined) {
    logger.info(
      'run.outside-window',
      `Outside the install window (${config.InstallWindow}): only unattended items are installed.`,
    );
  }
  const { runInstall } = await import('../install/run-install.js');
  const install = await runInstall({
    platform,
    config,
    logger,
    mode,
    kind: ctx.bootstrap === true ? 'bootstrap' : 'auto',
    progress: ctx.progress,
    ...(facts ? { facts } : {}),
  });
  const failed = checkFailed || install.results.some((r) => r.result === 'failed');
  return { exitCode: failed ? 1 : 0, checkFailed, install };
}
