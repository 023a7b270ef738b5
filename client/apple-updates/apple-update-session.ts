/**
 * The install half of Apple updates, run by an install session after the repo's items. Which
 * updates go now:
 * - still deferred (AppleUpdateDeferralDays): none;
 * - `abbot install`, or nobody logged in: all the others;
 * - a user logged in (`run --auto`): those needing no restart, and those whose deadline has come
 *   after the user was warned 60, 30 and 10 minutes ahead (through the notifier).
 * `--restart` is passed only when nobody is logged in or a deadline is being enforced; otherwise a
 * restart-needing update is prepared and the restart is only recorded. On Apple silicon
 * softwareupdate needs a volume owner's credentials: without a working credential provider
 * nothing is run, the updates are recorded as waiting for the user, and the user is notified.
 */
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { noProgress, type Progress } from '../../lib/progress.js';
import type { Config } from '../config.js';
import { earliestDate } from '../deadlines/next-deadline.js';
import type { Notifier } from '../notify/notify-user.js';
import type { Platform, RestartAction } from '../platform/platform.js';
import type { AppleUpdate } from './apple-update-types.js';
import { readAppleUpdates, writeAppleUpdates } from './apple-updates-plist.js';
import { isAppleUpdateCheckEnabled } from './check-apple-updates.js';
import {
  credentialSourceFrom,
  describeCredentialSource,
  readCredentials,
  type VolumeOwnerCredentials,
} from './credentials.js';
import { deadlineStep, readSeenState, writeSeenState } from './deferral.js';
import { installAppleUpdateLabels } from './install-updates.js';

/** The preferences an Apple update session reads. */
export type AppleSessionConfig = Pick<
  Config,
  | 'InstallAppleSoftwareUpdates'
  | 'AppleSoftwareUpdatesOnly'
  | 'AppleSoftwareUpdatesIncludeMajorOSUpdates'
  | 'AppleUpdateCredentialScript'
  | 'AppleUpdateKeychainService'
  | 'AppleUpdateKeychainAccount'
  | 'SoftwareUpdateTimeoutMinutes'
>;

/** What a session needs. */
export interface AppleSessionContext {
  platform: Platform;
  config: AppleSessionConfig;
  logger: Logger;
  /** `all`: `abbot install` or the login window; `unattended`: a user is logged in. */
  mode: 'all' | 'unattended';
  notifier: Notifier;
  now: () => Date;
  /** The logged-in user; undefined at the login window. */
  consoleUser: string | undefined;
  /**
   * False when the platform could not tell who is logged in: someone may be, so nothing restarts
   * the Mac before its deadline and warnings are still given (default true).
   */
  consoleUserKnown?: boolean;
  /** The native architecture; read from the platform's facts when absent. */
  arch?: string;
  progress?: Progress;
  /** Time limit of softwareupdate (default: SoftwareUpdateTimeoutMinutes). */
  timeoutMs?: number;
}

/** One Apple update's outcome. */
export interface AppleUpdateResult {
  update: AppleUpdate;
  result: 'success' | 'failed' | 'skipped';
  reason?: string;
  /** softwareupdate's exit status; -1 when it did not run or was killed. */
  status: number;
  durationSeconds: number;
  restartAction: RestartAction;
}

/** What a session did. */
export interface AppleSessionOutcome {
  results: AppleUpdateResult[];
  /** Updates still offered afterwards (the report's AppleUpdates). */
  remaining: AppleUpdate[];
  /** True when updates wait for the user because no volume owner credentials could be had. */
  userActionRequired: boolean;
  /** When a deadline's next warning or enforcement falls due, for a scheduler. */
  nextDeadlineAt?: Date;
}

const EMPTY: AppleSessionOutcome = { results: [], remaining: [], userActionRequired: false };

const titleOf = (u: AppleUpdate): string => `${u.title} ${u.version}`;

/** Installs what may be installed now of the last check's Apple updates. */
export async function runAppleUpdateSession(
  ctx: AppleSessionContext,
): Promise<AppleSessionOutcome> {
  const { platform, config, logger, notifier } = ctx;
  if (!isAppleUpdateCheckEnabled(config)) return EMPTY;
  const updates = await readAppleUpdates(platform.paths, logger);
  if (updates.length === 0) return EMPTY;
  const now = ctx.now();
  const seen = await readSeenState(platform.paths, logger);
  const results: AppleUpdateResult[] = [];
  const skip = (update: AppleUpdate, reason: string): void => {
    results.push({
      update,
      result: 'skipped',
      reason,
      status: -1,
      durationSeconds: 0,
      restartAction: 'None',
    });
  };
  const toInstall: AppleUpdate[] = [];
  const enforced = new Set<string>();
  let nextDeadlineAt: Date | undefined;

  for (const update of updates) {
    if (update.kind === 'major' && !config.AppleSoftwareUpdatesIncludeMajorOSUpdates) {
      skip(update, 'a major upgrade, and AppleSoftwareUpdatesIncludeMajorOSUpdates is off');
      continue;
    }
    let enforce = false;
    if (update.deadline) {
      if (atLoginWindow(ctx)) {
        // Nobody to warn: the deadline itself is enough, and the daemon wakes for it.
        enforce = now >= update.deadline;
        if (!enforce) nextDeadlineAt = earliestDate([nextDeadlineAt, update.deadline]);
      } else {
        const record = seen.updates[update.label] ?? {
          firstSeen: update.firstSeen.toISOString(),
          warnings: [],
        };
        const step = deadlineStep(update.deadline, record.warnings, now);
        if (step.warn !== undefined) {
          record.warnings.push({ minutes: step.warn, at: now.toISOString() });
          seen.updates[update.label] = record;
          await notifier.notify({
            kind: 'restart-warning',
            title: `Restart in ${step.warn} minutes`,
            body: `${titleOf(update)} must be installed: this Mac will restart in ${step.warn} minutes. Save your work.`,
            items: [update.label],
            deadline: step.enforceAt,
          });
        }
        enforce = step.enforce;
        nextDeadlineAt = earliestDate([nextDeadlineAt, step.nextAt]);
      }
    }
    if (!enforce && update.deferredUntil && now < update.deferredUntil) {
      skip(update, `deferred until ${update.deferredUntil.toISOString()}`);
      continue;
    }
    if (enforce) enforced.add(update.label);
    if (ctx.mode === 'all' || !update.restartRequired || enforce) {
      toInstall.push(update);
      continue;
    }
    skip(
      update,
      update.deadline
        ? `needs a restart: installed at the login window, or at its deadline ${update.deadline.toISOString()}`
        : 'needs a restart: installed at the login window or by abbot install',
    );
  }
  await writeSeenState(platform.paths, seen);

  let userActionRequired = false;
  if (toInstall.length > 0) {
    const arch = ctx.arch ?? String((await platform.collectFacts(now))['arch'] ?? '');
    let credentials: VolumeOwnerCredentials | undefined;
    let credentialProblem: string | undefined;
    if (arch === 'arm64') {
      const source = credentialSourceFrom(config);
      if (source === undefined) {
        credentialProblem =
          'no volume owner credentials are configured (AppleUpdateCredentialScript or AppleUpdateKeychainService/Account)';
      } else {
        try {
          credentials = await readCredentials(source, platform.paths.root);
        } catch (e) {
          credentialProblem = `${describeCredentialSource(source)} failed: ${describeError(e)}`;
        }
      }
    }
    if (credentialProblem !== undefined) {
      userActionRequired = true;
      logger.warn(
        'appleupdates.user-action-required',
        `Apple updates need a user on this Apple silicon Mac: ${credentialProblem}`,
      );
      for (const u of toInstall) skip(u, `user action required: ${credentialProblem}`);
      await notifier.notify({
        kind: 'action-required',
        title: 'Apple updates need you',
        body: `Open System Settings > General > Software Update to install: ${toInstall.map(titleOf).join(', ')}.`,
        items: toInstall.map((u) => u.label),
      });
    } else {
      results.push(...(await install(ctx, toInstall, enforced, credentials)));
    }
  }

  if (nextDeadlineAt) {
    logger.info(
      'appleupdates.deadline.next',
      `Next Apple update deadline step (warning or restart) at ${nextDeadlineAt.toISOString()}`,
    );
  }
  const installed = new Set(
    results.filter((r) => r.result === 'success').map((r) => r.update.label),
  );
  const remaining = updates.filter((u) => !installed.has(u.label));
  if (installed.size > 0) await writeAppleUpdates(platform.paths, remaining);
  return {
    results,
    remaining,
    userActionRequired,
    ...(nextDeadlineAt ? { nextDeadlineAt } : {}),
  };
}

/** Runs softwareupdate once for all of `updates` and turns its outcome into per-update results. */
async function install(
  ctx: AppleSessionContext,
  updates: readonly AppleUpdate[],
  enforced: ReadonlySet<string>,
  credentials: VolumeOwnerCredentials | undefined,
): Promise<AppleUpdateResult[]> {
  const { logger } = ctx;
  const progress = ctx.progress ?? noProgress;
  const needsRestart = updates.some((u) => u.restartRequired);
  const allowRestart =
    needsRestart && (atLoginWindow(ctx) || updates.some((u) => enforced.has(u.label)));
  const labels = updates.map((u) => u.label);
  logger.info(
    'appleupdates.install.start',
    `Installing Apple updates: ${updates.map(titleOf).join(', ')}${allowRestart ? ' (the Mac restarts when they ask for it)' : ''}`,
  );
  const started = Date.now();
  let current = 'Apple updates';
  const run = await installAppleUpdateLabels(ctx.platform.paths.root, {
    labels,
    allowRestart,
    ...(credentials ? { credentials } : {}),
    timeoutMs: ctx.timeoutMs ?? ctx.config.SoftwareUpdateTimeoutMinutes * 60_000,
    onEvent: (event) => {
      if (event.kind === 'installing' || event.kind === 'downloading') {
        current = `${event.kind === 'installing' ? 'Installing' : 'Downloading'} ${event.name}`;
        progress.update(current, 0, 100);
      } else if (event.kind === 'progress') {
        progress.update(current, event.percent, 100);
      }
    },
  });
  progress.done();
  for (const line of run.log) logger.debug('appleupdates.install.output', line);
  const durationSeconds = (Date.now() - started) / 1000;
  if (!run.ok) {
    logger.error('appleupdates.install.failed', `Apple updates not installed: ${run.error ?? ''}`);
  }
  return updates.map((update) => ({
    update,
    result: run.ok ? 'success' : 'failed',
    ...(run.ok ? {} : { reason: run.error ?? 'softwareupdate failed' }),
    status: run.ok ? 0 : (run.exitCode ?? -1) === 0 ? -1 : (run.exitCode ?? -1),
    durationSeconds,
    restartAction:
      run.ok && (update.restartRequired || run.restartRequired) ? 'RequireRestart' : 'None',
  }));
}

/** True at the login window; an unknown console user may be a logged-in one. */
function atLoginWindow(
  ctx: Pick<AppleSessionContext, 'consoleUser' | 'consoleUserKnown'>,
): boolean {
  return ctx.consoleUser === undefined && ctx.consoleUserKnown !== false;
}
