/**
 * The checks before a macOS upgrade is started, each of which would otherwise leave a Mac
 * half-upgraded or an upgrade failing an hour in: never a downgrade (or a reinstall of the
 * running version), power (on AC, or a battery above 50%), and free space (the item's
 * installed_size, which Munki's makepkginfo sets from Apple's published need, else 25 GiB).
 */
import { compareVersions } from '../../catalogs/index.js';
import { describeError } from '../../lib/errors.js';
import { checkFreeSpace, type StatfsFn } from '../download/disk-space.js';
import type { PowerState } from '../platform/platform.js';

/** Space an upgrade needs when the pkginfo does not say: Apple asks 20–26 GB for recent ones. */
export const DEFAULT_UPGRADE_SPACE_BYTES = 25 * 1024 ** 3;

/** A battery must be above this to start an upgrade away from mains power. */
export const MINIMUM_BATTERY_PERCENT = 50;

/** Which check refused the upgrade. */
export type PreflightCheck = 'version' | 'power' | 'space';

/** Why an upgrade may not start. */
export interface PreflightProblem {
  check: PreflightCheck;
  message: string;
}

/** Refuses a downgrade or a reinstall: the installer's version must be newer than the OS's. */
export function checkUpgradeVersion(
  runningVersion: string,
  installerVersion: string,
): PreflightProblem | undefined {
  const order = compareVersions(installerVersion, runningVersion);
  if (order > 0) return undefined;
  return {
    check: 'version',
    message:
      order === 0
        ? `macOS ${runningVersion} is already running; nothing to upgrade`
        : `macOS ${runningVersion} is running and the installer is for ${installerVersion}: Abbot never downgrades macOS`,
  };
}

/** Refuses to start on a battery at or below 50%; unknown power (a tool that failed) is allowed. */
export function checkUpgradePower(power: PowerState): PreflightProblem | undefined {
  if (power.source !== 'battery') return undefined;
  const percent = power.batteryPercent;
  if (percent !== undefined && percent > MINIMUM_BATTERY_PERCENT) return undefined;
  return {
    check: 'power',
    message: `the Mac is on battery power${percent === undefined ? '' : ` at ${percent}%`}: connect it to power (or charge it above ${MINIMUM_BATTERY_PERCENT}%) to upgrade macOS`,
  };
}

/** Bytes the upgrade needs: installed_size (KiB) when the pkginfo gives one, else 25 GiB. */
export function upgradeSpaceNeeded(installedSizeKib: unknown): number {
  return typeof installedSizeKib === 'number' &&
    Number.isFinite(installedSizeKib) &&
    installedSizeKib > 0
    ? installedSizeKib * 1024
    : DEFAULT_UPGRADE_SPACE_BYTES;
}

/** Refuses when the volume holding `root` has less than `neededBytes` available. */
export async function checkUpgradeSpace(
  root: string,
  neededBytes: number,
  statfs?: StatfsFn,
): Promise<PreflightProblem | undefined> {
  try {
    await checkFreeSpace(root, neededBytes, 0, { statfs });
    return undefined;
  } catch (e) {
    const why = e instanceof Error ? e.message : describeError(e);
    return { check: 'space', message: `${why} to upgrade macOS` };
  }
}
