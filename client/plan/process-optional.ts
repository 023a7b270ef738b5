/**
 * Munki's processOptionalInstall (code/cli/munki/shared/updatecheck/analyze.swift): what self
 * service offers, whether each offer is installed, and whether it has an update. Not done here:
 * Munki's unused-software removal (needs the app-usage database), its disk-space note (needs the
 * free space) and license seat counts (need the LicenseInfoURL server); the caller may add them.
 */
import type { PkgInfo } from '../../catalogs/index.js';
import type { PlistValue } from '../../formats/index.js';
import { sizeOf } from './install-entry.js';
import { installedState, needsInstall, someVersionInstalled } from './installed-state.js';
import { entryString, lookUp, plistEqual, type PlanContext } from './plan-context.js';
import type { OptionalItem } from './plan-types.js';

const DISPLAY_KEYS = [
  'category',
  'developer',
  'featured',
  'icon_name',
  'icon_hash',
  'requires',
  'RestartAction',
] as const;

const LATE_KEYS = [
  'preinstall_alert',
  'preuninstall_alert',
  'preupgrade_alert',
  'OnDemand',
  'minimum_os_version',
  'update_available',
  'localized_strings',
  'blocking_applications_manual_quit_only',
  'blocking_applications_quit_script',
] as const;

/** Adds one optional_installs entry to the plan's optional installs (once per name). */
export async function processOptionalInstall(
  ctx: PlanContext,
  rawEntry: string,
  catalogs: readonly string[],
  reason: string,
): Promise<void> {
  const { state } = ctx;
  const entry = entryString(rawEntry);
  if (
    state.optionalInstalls.some((o) => o.name === entry) ||
    state.processedInstalls.includes(entry) ||
    state.processedUninstalls.includes(entry)
  ) {
    return;
  }
  const show = ctx.options.showOptionalInstallsForHigherOSVersions === true;
  const extra: Record<string, PlistValue> = {};
  let found = lookUp(ctx, entry, catalogs);
  if (!('item' in found) && show) {
    // nothing for this Mac's macOS: offer the version a newer macOS would get, with a note
    const higher = lookUp(ctx, entry, catalogs, '', true);
    if ('item' in higher) {
      found = higher;
      Object.assign(extra, higherOsNote(higher.item));
    }
  }
  if (!('item' in found)) {
    ctx.warn(`Could not process item ${entry} for optional install: ${found.problem}`);
    return;
  }
  let pkginfo = found.item;
  const installed = await someVersionInstalled(pkginfo, ctx.evidence);
  let needsUpdate = false;
  if (installed) {
    // Munki skips installedState when there is an installcheck_script: it already answered.
    if (pkginfo['installcheck_script'] === undefined) {
      const status = await installedState(pkginfo, ctx.evidence);
      needsUpdate =
        pkginfo['installer_type'] === 'stage_os_installer'
          ? status.state !== 'newer' // staged but not yet installed still needs the upgrade
          : needsInstall(status.state);
    }
    if (!needsUpdate && show) {
      const higher = lookUp(ctx, entry, catalogs, '', true);
      if ('item' in higher && !plistEqual(higher.item, pkginfo)) {
        pkginfo = higher.item;
        Object.assign(extra, higherOsNote(pkginfo));
      }
    }
  }

  const item: OptionalItem = {
    name: pkginfo.name,
    reason,
    display_name: typeof pkginfo['display_name'] === 'string' ? pkginfo['display_name'] : '',
    description: typeof pkginfo['description'] === 'string' ? pkginfo['description'] : '',
    version_to_install: pkginfo.version,
    needs_update: needsUpdate,
    installed,
    licensed_seat_info_available: pkginfo['licensed_seat_info_available'] === true,
    uninstallable:
      pkginfo['uninstallable'] === true &&
      typeof pkginfo['uninstall_method'] === 'string' &&
      pkginfo['uninstall_method'] !== '',
  };
  copyKeys(item, pkginfo, DISPLAY_KEYS);
  copyPrecache(item, pkginfo);
  const size = sizeOf(pkginfo['installer_item_size']) ?? 0;
  item['installer_item_size'] = size;
  item['installed_size'] = sizeOf(pkginfo['installed_size']) ?? size;
  Object.assign(item, extra);
  const note = pkginfo['note'];
  if (typeof note === 'string' && item.note === undefined) item.note = note;
  // Munki 7 assigns these unconditionally, which erases its own update_available flag when the
  // pkginfo has none [bug?]; like Munki 6 we copy only keys the pkginfo has.
  copyKeys(item, pkginfo, LATE_KEYS);
  // ours: lets `abbot check --json` say what kind of install it would be
  const type = pkginfo['installer_type'];
  if (type !== undefined) item['installer_type'] = type;
  state.optionalInstalls.push(item);
}

/**
 * featured_items must also be optional installs; Munki warns about the others (self service
 * ignores them) and keeps the list de-duplicated.
 */
export function collectFeatured(ctx: PlanContext, names: readonly string[]): void {
  const offered = new Set(ctx.state.optionalInstalls.map((o) => o.name));
  for (const name of names) {
    if (ctx.state.featuredItems.includes(name)) continue;
    ctx.state.featuredItems.push(name);
    if (!offered.has(name)) {
      ctx.warn(
        `${name} is in the list of featured_items, but is not in the list of optional_installs. Will be ignored.`,
      );
    }
  }
}

function higherOsNote(pkginfo: PkgInfo): Record<string, PlistValue> {
  const minimum = pkginfo['minimum_os_version'];
  const extra: Record<string, PlistValue> = { update_available: true };
  if (minimum !== undefined) extra['note'] = `Requires macOS version ${String(minimum)}.`;
  return extra;
}

/** A precache item also carries where to download it from, unless something blocks it. */
function copyPrecache(item: OptionalItem, pkginfo: PkgInfo): void {
  const location = pkginfo['installer_item_location'];
  if (
    typeof location === 'string' &&
    location !== '' &&
    pkginfo['precache'] === true &&
    pkginfo['note'] === undefined &&
    pkginfo['licensed_seats_available'] !== false
  ) {
    item['precache'] = true;
    copyKeys(item, pkginfo, [
      'installer_item_location',
      'installer_item_hash',
      'PackageCompleteURL',
      'PackageURL',
    ]);
  }
}

function copyKeys(item: OptionalItem, pkginfo: PkgInfo, keys: readonly string[]): void {
  for (const key of keys) {
    const value = pkginfo[key];
    if (value !== undefined) item[key] = value;
  }
}
