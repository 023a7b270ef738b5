/**
 * A macOS upgrade (pkginfo `installer_type: startosinstall`), in the order that wastes the least
 * when something is wrong: the cheap checks first (never a downgrade, power, free space, a volume
 * owner's credentials on Apple silicon), then staging the Install macOS app (reused when an
 * earlier attempt staged it), then startosinstall. The upgrade is recorded as started before
 * startosinstall runs, because its restart ends this process; the next run settles it.
 *
 * pkginfo shape: `installer_type` startosinstall, `version` = the macOS version installed (as
 * Munki's makepkginfo writes it), and either `installer_item_location` (a .pkg such as Apple's
 * InstallAssistant.pkg, or a .dmg with the app at its root) or none, meaning Apple's
 * `softwareupdate --fetch-full-installer --full-installer-version <version>`. Optional:
 * installed_size (KiB of free space needed; default 25 GiB), additional_startosinstall_options,
 * items_to_copy / installs / display_name to name the app, RestartAction (RequireRestart).
 */
import { posix } from 'node:path';
import type { PlistDict } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { StatfsFn } from '../download/disk-space.js';
import { notifierFor, type Notifier } from '../notify/notify-user.js';
import type { PackageInstallProgress, Platform } from '../platform/platform.js';
import {
  checkUpgradePower,
  checkUpgradeSpace,
  checkUpgradeVersion,
  upgradeSpaceNeeded,
  type PreflightProblem,
} from './preflight.js';
import { runStartosinstall, STARTOSINSTALL_IN_APP } from './run-startosinstall.js';
import { isContainedMacPath, stageInstaller } from './stage.js';
import { readUpgradeRecord, writeUpgradeRecord, type UpgradeRecord } from './upgrade-state.js';
import { withoutSecret, type VolumeOwnerSource } from './volume-owner.js';

/** Settings and collaborators of an upgrade; the install session builds them from the config. */
export interface OsUpgradeContext {
  /** startosinstall --rebootdelay (seconds; it allows at most 300). */
  rebootDelaySeconds: number;
  /** Time limit of startosinstall's preparing phase. */
  timeoutMs: number;
  /** Time limit of softwareupdate --fetch-full-installer. */
  fetchTimeoutMs: number;
  /** A volume owner's account for Apple silicon; absent when none is configured. */
  credentials?: VolumeOwnerSource | undefined;
  /** Where "you must act" messages go. */
  notifier: Notifier;
  /** Free-space reader (tests pass their own). */
  statfs?: StatfsFn | undefined;
  now?: () => Date;
  onProgress?: (progress: PackageInstallProgress) => void;
}

/** The context used when the caller passes none: the defaults, no credentials, the notification log. */
export function defaultOsUpgradeContext(platform: Platform, logger: Logger): OsUpgradeContext {
  return { ...DEFAULT_OS_UPGRADE, notifier: notifierFor(platform, logger) };
}

/** How an upgrade attempt went. */
export interface UpgradeOutcome {
  ok: boolean;
  /** Why it did not start or failed; never holds a password. */
  error?: string;
  /** Which check refused it, when one did. */
  refusedBy?: PreflightProblem['check'] | 'credentials';
}

/** The settings used when the caller passes none (Munki 6's 300 s delay, Munki's 2 h limit). */
export const DEFAULT_OS_UPGRADE = {
  rebootDelaySeconds: 300,
  timeoutMs: 2 * 60 * 60_000,
  fetchTimeoutMs: 2 * 60 * 60_000,
} as const;

const refuse = (name: string, problem: PreflightProblem): UpgradeOutcome => ({
  ok: false,
  error: `${name}: ${problem.message}`,
  refusedBy: problem.check,
});

function optionsOf(item: PlistDict): string[] | string {
  const v = item['additional_startosinstall_options'];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((o): o is string => typeof o === 'string'))
    return 'additional_startosinstall_options must be an array of strings';
  return v;
}

/** Upgrades macOS with the item's Install macOS app; the Mac restarts on success. */
export async function upgradeMacos(
  platform: Platform,
  item: PlistDict,
  installerPath: string | undefined,
  logger: Logger,
  ctx: OsUpgradeContext,
): Promise<UpgradeOutcome> {
  const now = ctx.now ?? (() => new Date());
  const name = String(item['name']);
  const version = item['version_to_install'] ?? item['version'];
  if (typeof version !== 'string' || version === '')
    return {
      ok: false,
      error: `${name}: the pkginfo has no version (the macOS version it installs)`,
    };
  const options = optionsOf(item);
  if (typeof options === 'string') return { ok: false, error: `${name}: ${options}` };

  const facts = await platform.collectFacts(now());
  const running = String(facts['os_vers'] ?? '');
  const arch = String(facts['arch'] ?? '');
  const versionProblem = checkUpgradeVersion(running, version);
  if (versionProblem) return refuse(name, versionProblem);
  const powerProblem = checkUpgradePower(await platform.powerState());
  if (powerProblem) return refuse(name, powerProblem);
  const spaceProblem = await checkUpgradeSpace(
    platform.paths.root,
    upgradeSpaceNeeded(item['installed_size']),
    ctx.statfs,
  );
  if (spaceProblem) return refuse(name, spaceProblem);

  const credentials = arch === 'arm64' ? await ctx.credentials?.() : undefined;
  if (arch === 'arm64' && credentials === undefined) {
    const displayName = typeof item['display_name'] === 'string' ? item['display_name'] : name;
    await ctx.notifier.notify({
      kind: 'action-required',
      title: `${displayName} is ready to install`,
      body: 'On this Mac a macOS upgrade needs a volume owner to start it. Open Self Service or ask your administrator.',
      items: [name],
    });
    return {
      ok: false,
      refusedBy: 'credentials',
      error: `${name}: upgrading macOS on Apple silicon needs a volume owner's credentials and none are configured; the user was asked to act`,
    };
  }

  const staged = await reuseOrStage(platform, item, version, installerPath, logger, ctx);
  if (!staged.ok) return { ok: false, error: `${name}: ${staged.error}` };
  const base: UpgradeRecord = {
    name,
    ...(typeof item['display_name'] === 'string' ? { display_name: item['display_name'] } : {}),
    version,
    appPath: staged.appPath,
    fromVersion: running,
    stage: 'started',
    stagedAt: staged.stagedAt,
    startedAt: now().toISOString(),
  };
  // Recorded first: once startosinstall succeeds, the restart may come before anything else runs.
  await writeUpgradeRecord(platform.paths, base);
  logger.info('osupgrade.start', `Starting the upgrade to macOS ${version} with ${staged.appPath}`);
  let result;
  try {
    result = await runStartosinstall({
      root: platform.paths.root,
      appPath: staged.appPath,
      rebootDelaySeconds: ctx.rebootDelaySeconds,
      credentials,
      additionalOptions: options,
      timeoutMs: ctx.timeoutMs,
      logger,
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
  } catch (e) {
    result = { ok: false as const, error: withoutSecret(describeError(e), credentials?.password) };
  }
  if (result.ok) {
    logger.warn(
      'osupgrade.restarting',
      `macOS ${version} is prepared; the Mac restarts in ${ctx.rebootDelaySeconds} seconds`,
    );
    return { ok: true };
  }
  const { startedAt: _startedAt, ...again } = base;
  await writeUpgradeRecord(platform.paths, { ...again, stage: 'staged' });
  return { ok: false, error: `${name}: ${result.error}` };
}

/** The app from an earlier attempt when it is still there, else freshly staged. */
async function reuseOrStage(
  platform: Platform,
  item: PlistDict,
  version: string,
  installerPath: string | undefined,
  logger: Logger,
  ctx: OsUpgradeContext,
): Promise<{ ok: true; appPath: string; stagedAt: string } | { ok: false; error: string }> {
  const previous = await readUpgradeRecord(platform.paths, logger);
  if (
    previous !== undefined &&
    previous.name === item['name'] &&
    previous.version === version &&
    isContainedMacPath(previous.appPath) &&
    (await platform.exists(posix.join(previous.appPath, STARTOSINSTALL_IN_APP)))
  ) {
    logger.info('osupgrade.staged', `Using the installer staged earlier: ${previous.appPath}`);
    return { ok: true, appPath: previous.appPath, stagedAt: previous.stagedAt };
  }
  const staged = await stageInstaller(
    {
      platform,
      logger,
      fetchTimeoutMs: ctx.fetchTimeoutMs,
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    },
    { ...item, version },
    installerPath,
  );
  if (!staged.ok) return staged;
  logger.info('osupgrade.staged', `Staged ${staged.appPath} from ${staged.source}`);
  return {
    ok: true,
    appPath: staged.appPath,
    stagedAt: (ctx.now ?? (() => new Date()))().toISOString(),
  };
}
