/**
 * The InstallInfo entries processInstall records (analyze.swift): what to install and how, or
 * that it is already installed. Munki downloads during the check; Abbot downloads at install
 * time, so the entry also carries where to download from (installer_item_location, hash, URLs).
 */
import type { PkgInfo } from '../../catalogs/index.js';
import { isPlistDict, type PlistValue } from '../../formats/index.js';
import { isPastForceInstallDate } from '../deadlines/force-install-after-date.js';
import type { PlanContext } from './plan-context.js';
import type { PlanItem } from './plan-types.js';

/** pkginfo keys Munki copies into a to-install entry when present. */
const COPIED_KEYS = [
  'force_install_after_date',
  'additional_startosinstall_options',
  'allow_untrusted',
  'installer_choices_xml',
  'installer_environment',
  'adobe_install_info',
  'RestartAction',
  'installer_type',
  'adobe_package_name',
  'package_path',
  'blocking_applications',
  'installs',
  'requires',
  'update_for',
  'payloads',
  'preinstall_script',
  'postinstall_script',
  'items_to_copy',
  'apple_item',
  'category',
  'developer',
  'icon_name',
  'PayloadIdentifier',
  'icon_hash',
  'OnDemand',
  'precache',
  'display_name_staged',
  'description_staged',
  'installed_size_staged',
  'blocking_applications_manual_quit_only',
  'blocking_applications_quit_script',
  // Abbot's own deferral policy (client/deadlines/deferrals.ts), read at install time.
  'deferral_days',
  'max_deferrals',
] as const;

/** Keys Abbot adds so the install phase can download and verify without the catalogs. */
const DOWNLOAD_KEYS = [
  'installer_item_location',
  'installer_item_hash',
  'PackageCompleteURL',
  'PackageURL',
  'receipts',
] as const;

/**
 * The entry for an item that needs installing. `offerDeadline` false drops
 * force_install_after_date (an optional install with nothing installed yet, as Munki does).
 * Without an installer_item_location the entry is a problem (no installer_item), as Munki's failed
 * download is; except a macOS upgrade, whose app softwareupdate then fetches from Apple.
 */
export function installEntry(
  ctx: PlanContext,
  pkginfo: PkgInfo,
  reason: string,
  offerDeadline: boolean,
): PlanItem {
  const entry = baseEntry(pkginfo, reason);
  entry.version_to_install = pkginfo.version;
  const size = sizeOf(pkginfo['installer_item_size']) ?? 0;
  entry['installer_item_size'] = size;
  // Munki 7 copies installer_item_size here (Munki 6 used installed_size); the disk-space check
  // wants the installed size, so we follow Munki 6. [7≠6]
  entry['installed_size'] = sizeOf(pkginfo['installed_size']) ?? size;

  const location = pkginfo['installer_item_location'];
  if (pkginfo['installer_type'] === 'nopkg') {
    entry.installer_item = 'packageless_install';
  } else if (pkginfo['installer_type'] === 'startosinstall' && location === undefined) {
    // No item in the repo: softwareupdate --fetch-full-installer gets the app from Apple.
    entry.installer_item = 'fetch_full_installer';
  } else if (typeof location === 'string' && location !== '') {
    entry.installer_item = baseName(location);
  } else {
    // Munki's download raises "No installer_item_location in item info." and records the note.
    ctx.warn(`Can't install ${pkginfo.name}: no installer_item_location in its pkginfo`);
    entry.note = 'Download failed: No installer_item_location in item info.';
    return entry;
  }

  if (pkginfo['unattended_install'] === true || pkginfo['forced_install'] === true) {
    const restart = restartActionOf(pkginfo);
    if (restart !== 'None') {
      ctx.warn(
        `Ignoring unattended_install key for ${pkginfo.name} because RestartAction is ${restart}.`,
      );
    } else {
      entry.unattended_install = true;
    }
  }
  const keys: readonly string[] = [...COPIED_KEYS, ...DOWNLOAD_KEYS];
  for (const key of keys) {
    if (key === 'force_install_after_date' && !offerDeadline) continue;
    const value = pkginfo[key];
    if (value !== undefined) entry[key] = value;
  }
  // kept so a later removal of what this installs knows how (typed: only a string is useful)
  const uninstallMethod = pkginfo['uninstall_method'];
  if (typeof uninstallMethod === 'string') entry.uninstall_method = uninstallMethod;
  if (pkginfo['apple_item'] === undefined && isAppleItem(pkginfo)) entry['apple_item'] = true;
  if (entry.unattended_install !== true && isPastDeadline(ctx, entry)) {
    entry.unattended_install = true;
  }
  return entry;
}

/** The fields every processed install entry starts with. */
export function baseEntry(pkginfo: PkgInfo, reason: string): PlanItem {
  const entry: PlanItem = {
    name: pkginfo.name,
    reason,
    installed: false,
    display_name: displayNameOf(pkginfo),
    description: typeof pkginfo['description'] === 'string' ? pkginfo['description'] : '',
  };
  for (const key of ['localized_strings', 'developer', 'icon_name'] as const) {
    const value = pkginfo[key];
    if (value !== undefined) entry[key] = value;
  }
  return entry;
}

/** display_name, defaulting to the name. */
export function displayNameOf(pkginfo: PkgInfo): string {
  const dn = pkginfo['display_name'];
  return typeof dn === 'string' ? dn : pkginfo.name;
}

/** The entry for an item already installed at this version or newer. */
export function installedEntry(
  pkginfo: PkgInfo,
  reason: string,
  installedVersion: string,
): PlanItem {
  const entry = baseEntry(pkginfo, reason);
  entry.installed = true;
  entry['installed_size'] =
    sizeOf(pkginfo['installed_size']) ?? sizeOf(pkginfo['installer_item_size']) ?? 0;
  entry.installed_version = installedVersion;
  return entry;
}

/**
 * Munki's forceInstallPackageCheck: once `force_install_after_date` (a plist date read as LOCAL
 * wall-clock time: the UTC offset is subtracted) has passed, an item with no RestartAction at all
 * is installed unattended. A string date (Munki 7's makepkginfo writes one) is ignored.
 */
function isPastDeadline(ctx: PlanContext, entry: PlanItem): boolean {
  if (entry['RestartAction'] !== undefined) return false;
  return isPastForceInstallDate(
    entry['force_install_after_date'],
    ctx.options.now,
    ctx.options.utcOffsetMinutes,
  );
}

/** RestartAction as Munki reads it for the unattended rule: missing counts as "None". */
export function restartActionOf(pkginfo: PkgInfo): string {
  const value = pkginfo['RestartAction'];
  return typeof value === 'string' ? value : 'None';
}

/**
 * Munki's isAppleItem: startosinstall, or any receipt package id or installs bundle id starting
 * with `com.apple.`; such items make Munki skip Apple software updates that run.
 */
export function isAppleItem(pkginfo: PkgInfo): boolean {
  if (pkginfo['installer_type'] === 'startosinstall') return true;
  const hasApplePrefix = (list: PlistValue | undefined, key: string): boolean =>
    Array.isArray(list) &&
    list.some((d) => {
      const v = isPlistDict(d) ? d[key] : undefined;
      return typeof v === 'string' && v.startsWith('com.apple.');
    });
  return (
    hasApplePrefix(pkginfo['receipts'], 'packageid') ||
    hasApplePrefix(pkginfo['installs'], 'CFBundleIdentifier')
  );
}

/** A size in KiB, if the value is an integer. */
export function sizeOf(value: PlistValue | undefined): number | bigint | undefined {
  return typeof value === 'number' || typeof value === 'bigint' ? value : undefined;
}

/** The last component of a repo-relative path (`apps/Foo-1.0.pkg` → `Foo-1.0.pkg`). */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
