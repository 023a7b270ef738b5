/**
 * `abbot install` and the install half of `abbot run --auto`: carries out the plan of the last
 * check (InstallInfo.plist). Removals first, then installs, as Munki does; downloads verified before
 * anything runs; one item's failure never stops the others; items that need a failed or skipped
 * item are skipped too. Results go to the client state, ManagedInstallReport.plist, and back into
 * InstallInfo.plist (what is left to do). Nothing ever restarts the Mac here: a restart is recorded.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildPlist, isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { describeError } from '../../lib/errors.js';
import { acquireRunLock } from '../../lib/lock.js';
import type { Logger } from '../../lib/log.js';
import { noProgress, type Progress } from '../../lib/progress.js';
import { abbotVersion } from '../../lib/version.js';
import type { Facts } from '../../manifests/index.js';
import type { Config } from '../config.js';
import { cachePathFor } from '../download/download-item.js';
import { downloadAll, pruneCache, type DownloadRequest } from '../download/download-queue.js';
import type { Platform, RestartAction } from '../platform/platform.js';
import {
  buildManagedInstallReport,
  runTypeFor,
  writeManagedInstallReport,
  type ReportInstallResult,
  type ReportRemovalResult,
} from '../report/install-report.js';
import { openClientState, type RunKind } from '../state/client-state.js';
import { httpClientFromConfig } from '../sync/client-for-config.js';
import { packageUrl } from '../sync/repo-urls.js';
import { strongerRestartAction } from '../platform/restart-action.js';
import { installEntry, removeEntry, type ItemOutcome } from './apply-item.js';
import { runningBlockers } from './blocking-apps.js';
import { consoleSeat } from './console-seat.js';
import { applyDeadlines } from '../deadlines/deadline-session.js';
import { earliestDate } from '../deadlines/next-deadline.js';
import { notifierFor } from '../notify/notify-user.js';
import {
  osUpgradeContextFrom,
  settlePendingUpgrade,
  upgradesLast,
} from '../os-upgrade/upgrade-session.js';
import { dependencyRefs, refersTo, selectNamedItems } from './item-selection.js';
import { updateOptionalInstalls } from './optional-status.js';
import { runAppleUpdateSession, toAppleUpdateEntry } from '../apple-updates/index.js';

/** Which items a session may do. */
export type InstallMode =
  /** Everything in the plan (`abbot install`; `run --auto` at the login window). */
  | 'all'
  /** Only unattended items whose blocking applications are not running (`run --auto` with a user). */
  | 'unattended';

/** One item's result in a session. */
export interface SessionResult {
  name: string;
  version: string;
  action: 'install' | 'removal';
  result: 'success' | 'failed' | 'skipped';
  reason?: string;
  durationSeconds: number;
}

/** What an install session did. */
export interface InstallOutcome {
  results: SessionResult[];
  restartAction: RestartAction;
  /** Items left in InstallInfo.plist for a later session. */
  remaining: { installs: number; removals: number };
}

/** What a session needs; the composition root builds it. */
export interface InstallContext {
  platform: Platform;
  config: Config;
  logger: Logger;
  mode: InstallMode;
  kind: RunKind;
  progress?: Progress;
  /** Facts for the report's MachineInfo (the check's, when a check ran first). */
  facts?: Facts;
  now?: () => Date;
  /** Only these items and what they need (a self-service request); default: the whole plan. */
  only?: readonly string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function entries(info: PlistDict, key: string): PlistDict[] {
  const v = info[key];
  return Array.isArray(v) ? v.filter(isPlistDict) : [];
}

function dependsOnFailure(
  item: PlistDict,
  failed: readonly SessionResult[],
): SessionResult | undefined {
  const refs = dependencyRefs(item);
  return failed.find((f) => refs.some((r) => refersTo(r, f.name, f.version)));
}

/** Runs one install session over the last check's plan. */
export async function runInstall(ctx: InstallContext): Promise<InstallOutcome> {
  const { platform, config, logger } = ctx;
  const now = ctx.now ?? (() => new Date());
  const progress = ctx.progress ?? noProgress;
  const paths = platform.paths;
  const startTime = now();
  const lock = await acquireRunLock(join(paths.stateDir, 'run.lock'), ctx.kind);
  const state = await openClientState(paths, { logger });
  await state.startRun(ctx.kind, startTime);
  const client = httpClientFromConfig(config, logger, Math.max(1, config.DownloadConcurrency));
  const results: SessionResult[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const installReport: ReportInstallResult[] = [];
  const removalReport: ReportRemovalResult[] = [];
  // Widened on purpose: it changes inside `apply`, which narrowing cannot see.
  let restart = 'None' as RestartAction;
  const unattended = ctx.mode === 'unattended';
  const osUpgrade = {
    ...osUpgradeContextFrom(config, platform, logger, notifierFor(platform, logger)),
    onProgress: (p: { percent?: number }) => {
      if (p.percent !== undefined) progress.update('Preparing the macOS upgrade', p.percent, 100);
    },
  };
  try {
    let info: PlistDict = {};
    try {
      const parsed = parsePlist(await readFile(paths.installInfo), { source: paths.installInfo });
      if (isPlistDict(parsed)) info = parsed;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      logger.info('install.nothing', 'No plan yet: run abbot check first.');
    }
    const planned = {
      removals: entries(info, 'removals').filter((e) => e['installed'] === true),
      installs: entries(info, 'managed_installs').filter((e) => e['installed'] !== true),
    };
    const { removals, installs } = ctx.only
      ? selectNamedItems(ctx.only, planned.installs, planned.removals)
      : planned;

    // What may be done now.
    const processes = unattended ? await platform.listProcesses() : [];
    // Reminders, deadline warnings, and items whose deadline has come (installed user or not).
    const deadlines = unattended
      ? await applyDeadlines(
          {
            paths,
            logger,
            notifier: osUpgrade.notifier,
            now: now(),
            daysBetweenReminders: config.DaysBetweenNotifications,
            userLoggedIn: (await platform.consoleUser()) !== undefined,
          },
          installs,
        )
      : undefined;
    const skipped: SessionResult[] = [];
    const allowed = (item: PlistDict, action: 'install' | 'removal'): boolean => {
      if (!unattended) return true;
      const flag = action === 'install' ? item['unattended_install'] : item['unattended_uninstall'];
      const forced = action === 'install' ? item['forced_install'] : item['forced_uninstall'];
      const name = String(item['name']);
      const version = str(item['version_to_install']) ?? str(item['installed_version']) ?? '';
      const isDue = action === 'install' && deadlines?.forced.has(name) === true;
      if (flag !== true && forced !== true && !isDue) {
        skipped.push({
          name,
          version,
          action,
          result: 'skipped',
          reason: 'needs a user (not unattended)',
          durationSeconds: 0,
        });
        return false;
      }
      const blockers = runningBlockers(item, processes);
      if (blockers.length > 0) {
        skipped.push({
          name,
          version,
          action,
          result: 'skipped',
          reason: `blocked by running ${blockers.join(', ')}`,
          durationSeconds: 0,
        });
        return false;
      }
      return true;
    };
    const toRemove = removals.filter((r) => allowed(r, 'removal'));
    const toInstall = upgradesLast(installs.filter((i) => allowed(i, 'install')));

    // Downloads first, all verified before anything is installed.
    const requests: DownloadRequest[] = [];
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v * 1024 : undefined);
    for (const item of toInstall) {
      const location = str(item['installer_item_location']);
      if (location === undefined || item['installer_type'] === 'nopkg') continue;
      requests.push({
        name: `install:${String(item['name'])}`,
        url: packageUrl(config, item),
        dest: cachePathFor(paths.cacheDir, location),
        expectedHash: str(item['installer_item_hash']),
        expectedSize: num(item['installer_item_size']),
        installedSize: num(item['installed_size']),
      });
    }
    for (const item of toRemove) {
      const location = str(item['uninstaller_item_location']);
      if (location === undefined || item['uninstall_method'] !== 'uninstall_package') continue;
      requests.push({
        name: `removal:${String(item['name'])}`,
        url: packageUrl(config, item, { uninstalling: true }),
        dest: cachePathFor(paths.cacheDir, location),
        expectedHash: str(item['uninstaller_item_hash']),
      });
    }
    const downloads =
      requests.length > 0
        ? await downloadAll(requests, {
            client,
            cacheDir: paths.cacheDir,
            verification: config.PackageVerificationMode,
            logger,
            concurrency: config.DownloadConcurrency,
            progress,
          })
        : new Map();
    const downloaded = (key: string): { path?: string; error?: string } => {
      const r = downloads.get(key);
      if (r === undefined) return {};
      return r instanceof Error ? { error: describeError(r) } : { path: r.path };
    };

    const record = async (
      r: SessionResult,
      item: PlistDict,
      status: number,
      error?: string,
    ): Promise<void> => {
      results.push(r);
      const at = now();
      await state.recordResult({
        at,
        action: r.action,
        name: r.name,
        ...(r.version ? { version: r.version } : {}),
        result: r.result,
        durationSeconds: r.durationSeconds,
        ...(error !== undefined ? { error } : {}),
        unattended,
      });
      const displayName = str(item['display_name']);
      if (r.action === 'install') {
        installReport.push({
          name: r.name,
          ...(displayName ? { displayName } : {}),
          version: r.version,
          status,
          time: at,
          durationSeconds: r.durationSeconds,
          unattended,
          ...(item['Label'] !== undefined ? { appleUpdate: true } : {}),
        });
      } else {
        removalReport.push({
          name: r.name,
          ...(displayName ? { displayName } : {}),
          status,
          time: at,
          unattended,
        });
      }
      const verb = r.action === 'install' ? 'Install' : 'Removal';
      const label = `${displayName ?? r.name}${r.action === 'install' && r.version ? `-${r.version}` : ''}`;
      if (r.result === 'success')
        logger.info('install.item.done', `${verb} of ${label}: SUCCESSFUL`);
      else {
        logger.error(
          'install.item.failed',
          `${verb} of ${label}: FAILED${error ? ` (${error})` : ''}`,
        );
        errors.push(error ?? `${verb} of ${label} failed`);
      }
    };

    /** Applies one entry (its download, if any, already verified) and records the outcome. */
    const apply = async (
      item: PlistDict,
      action: 'install' | 'removal',
      version: string,
      work: (path: string | undefined) => Promise<ItemOutcome>,
    ): Promise<void> => {
      const name = String(item['name']);
      const started = Date.now();
      const dl = downloaded(`${action}:${name}`);
      const outcome: ItemOutcome =
        dl.error !== undefined
          ? { ok: false, status: -1, restartAction: 'None', error: `${name}: ${dl.error}` }
          : await work(dl.path);
      restart = strongerRestartAction(restart, outcome.restartAction);
      await record(
        {
          name,
          version,
          action,
          result: outcome.ok ? 'success' : 'failed',
          durationSeconds: (Date.now() - started) / 1000,
          ...(outcome.error ? { reason: outcome.error } : {}),
        },
        item,
        outcome.status,
        outcome.error,
      );
    };

    // A macOS upgrade started before the last restart: its result belongs in this run's report.
    const upgrade = await settlePendingUpgrade(platform, logger, now());
    if (upgrade !== undefined) {
      const { record: u } = upgrade;
      const ok = upgrade.result === 'installed';
      await record(
        {
          name: u.name,
          version: u.version,
          action: 'install',
          result: ok ? 'success' : 'failed',
          durationSeconds: 0,
          ...(ok ? {} : { reason: upgrade.message }),
        },
        { name: u.name, ...(u.display_name ? { display_name: u.display_name } : {}) },
        ok ? 0 : -1,
        ok ? undefined : upgrade.message,
      );
    }

    // Removals first, as Munki does.
    for (const [i, item] of toRemove.entries()) {
      progress.update(`Removing ${String(item['name'])}`, i + 1, toRemove.length);
      await apply(item, 'removal', str(item['installed_version']) ?? '', (path) =>
        removeEntry(platform, item, logger, path),
      );
    }

    for (const [i, item] of toInstall.entries()) {
      const name = String(item['name']);
      const version = str(item['version_to_install']) ?? '';
      const blocker = dependsOnFailure(item, [
        ...skipped,
        ...results.filter((r) => r.result !== 'success'),
      ]);
      if (blocker) {
        const reason = `needs ${blocker.name}, which was ${blocker.result === 'skipped' ? 'skipped' : 'not installed'}`;
        skipped.push({
          name,
          version,
          action: 'install',
          result: 'skipped',
          reason,
          durationSeconds: 0,
        });
        continue;
      }
      progress.update(`Installing ${name}`, i + 1, toInstall.length);
      await apply(item, 'install', version, (path) =>
        installEntry(platform, item, path, logger, osUpgrade),
      );
    }
    progress.done();

    // Apple's updates after the repo's items, as Munki 6 ordered them; a self-service request
    // does only its own items, so Apple's wait for a full run.
    const appleSession: typeof runAppleUpdateSession = ctx.only
      ? () => Promise.resolve({ results: [], remaining: [], userActionRequired: false })
      : runAppleUpdateSession;
    // Asked once, for Apple's updates and the report; not knowing is logged, never fatal.
    const seat = await consoleSeat(platform, logger);
    const apple = await appleSession({
      platform,
      config,
      logger,
      mode: ctx.mode,
      notifier: notifierFor(platform, logger),
      now,
      consoleUser: seat.user,
      consoleUserKnown: seat.known,
      ...(typeof ctx.facts?.['arch'] === 'string' ? { arch: ctx.facts['arch'] } : {}),
      progress,
    });
    for (const r of apple.results) {
      const { title, version, label } = r.update;
      const entry: SessionResult = {
        name: title,
        version,
        action: 'install',
        result: r.result,
        durationSeconds: r.durationSeconds,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
      };
      if (r.result === 'skipped') skipped.push(entry);
      else {
        restart = strongerRestartAction(restart, r.restartAction);
        await record(entry, { name: title, display_name: title, Label: label }, r.status, r.reason);
      }
    }
    if (apple.userActionRequired) {
      warnings.push('Apple updates wait for the user: no volume owner credentials could be had.');
    }
    for (const s of skipped) {
      logger.info(
        'install.item.skipped',
        `Skipped ${s.action === 'install' ? 'install' : 'removal'} of ${s.name}: ${s.reason}`,
      );
      await state.recordResult({
        at: now(),
        action: s.action,
        name: s.name,
        ...(s.version ? { version: s.version } : {}),
        result: 'skipped',
        durationSeconds: 0,
        ...(s.reason ? { error: s.reason } : {}),
        unattended,
      });
      results.push(s);
    }

    // What is left for a later session goes back into InstallInfo.plist, as Munki writes it back.
    const done = new Set(
      results.filter((r) => r.result === 'success').map((r) => `${r.action}:${r.name}`),
    );
    const leftRemovals = entries(info, 'removals').filter(
      (e) => !done.has(`removal:${String(e['name'])}`),
    );
    const leftInstalls = entries(info, 'managed_installs').filter(
      (e) => !done.has(`install:${String(e['name'])}`),
    );
    if (Object.keys(info).length > 0) {
      await writeFileAtomic(
        paths.installInfo,
        buildPlist({
          ...info,
          removals: leftRemovals,
          managed_installs: leftInstalls,
          optional_installs: updateOptionalInstalls(entries(info, 'optional_installs'), results),
        }),
        { mkdirs: true },
      );
    }
    // pruneCache keeps names relative to the cache: the items still to do, and their partials.
    const keep = new Set(
      [...leftInstalls, ...leftRemovals]
        .flatMap((e) => [str(e['installer_item_location']), str(e['uninstaller_item_location'])])
        .filter((x): x is string => x !== undefined)
        .map((l) => relative(paths.cacheDir, cachePathFor(paths.cacheDir, l))),
    );
    await pruneCache(paths.cacheDir, keep).catch((e: unknown) =>
      warnings.push(`cache clean-up: ${describeError(e)}`),
    );

    const restartRequired =
      restart === 'RequireRestart' ||
      restart === 'RecommendRestart' ||
      restart === 'RequireShutdown';
    if (restartRequired) {
      const names = results.filter((r) => r.result === 'success').map((r) => r.name);
      await platform.requestRestart(`${restart} after ${names.join(', ')}`);
      logger.warn(
        'install.restart',
        'A restart is required to finish; it has been recorded (see abbot status).',
      );
    }
    // The daemon wakes for this; a self-service request saw only its own items, so it keeps the
    // moment the last full session worked out.
    if (!ctx.only) {
      await state.recordNextDeadline(earliestDate([deadlines?.nextAt, apple.nextDeadlineAt]));
    }
    await state.finishRun({
      restartRequired,
      logoutRequired: restart === 'RequireLogout',
      at: now(),
    });
    const report = buildManagedInstallReport({
      startTime,
      endTime: now(),
      runType: runTypeFor(ctx.kind),
      machineInfo: ctx.facts ?? {},
      installResults: installReport,
      removalResults: removalReport,
      errors,
      warnings,
      restartRequired,
      logoutRequired: restart === 'RequireLogout',
      ...(seat.user ? { consoleUser: seat.user } : {}),
      availableDiskSpaceKb: 0,
      version: abbotVersion(),
      itemsToInstall: leftInstalls,
      itemsToRemove: leftRemovals,
      appleUpdates: apple.remaining.map(toAppleUpdateEntry),
    });
    await writeManagedInstallReport(paths, report, { logger });
    return {
      results,
      restartAction: restart,
      remaining: { installs: leftInstalls.length, removals: leftRemovals.length },
    };
  } finally {
    await client.close();
    await lock.release();
  }
}
