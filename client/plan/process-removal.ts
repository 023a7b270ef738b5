/**
 * Munki's processRemoval and autoremove (code/cli/munki/shared/updatecheck/analyze.swift,
 * catalogs.swift `getAutoRemovalItems`). Removals are not version-specific unless the entry pins a
 * version: the newest catalog item with evidence of being installed says how to remove it. Items
 * that require it are removed first, then updates for it, then it; an item some managed install
 * needs is never removed (install wins).
 */
import { splitNameAndVersion, type CatalogIndex, type PkgInfo } from '../../catalogs/index.js';
import { isPlistDict } from '../../formats/index.js';
import { baseName, isAppleItem, restartActionOf } from './install-entry.js';
import { evidenceThisIsInstalled } from './installed-state.js';
import {
  allItemsNamed,
  entryString,
  lookUp,
  updatesFor,
  versionTargets,
  type PlanContext,
} from './plan-context.js';
import type { PlanItem } from './plan-types.js';

/** pkginfo keys Munki copies into a removal entry when present. */
const COPIED_KEYS = [
  'RestartAction',
  'blocking_applications',
  'installs',
  'requires',
  'update_for',
  'payloads',
  'preuninstall_script',
  'postuninstall_script',
  'apple_item',
  'category',
  'developer',
  'icon_name',
  'PayloadIdentifier',
  'blocking_applications_manual_quit_only',
  'blocking_applications_quit_script',
  // ours: what the install phase needs without the catalogs
  'installer_type',
  'uninstaller_item_location',
  'uninstaller_item_hash',
  'uninstaller_item_size',
] as const;

const BUILT_IN_METHODS = ['remove_copied_items', 'uninstall_script', 'uninstall_package'];

/** Processes one entry for removal; true when it is, or will be, not installed. */
export async function processRemoval(
  ctx: PlanContext,
  rawEntry: string,
  catalogs: readonly string[],
  reason: string,
): Promise<boolean> {
  const { state } = ctx;
  const entry = entryString(rawEntry);
  const { name, version: pinned } = splitNameAndVersion(entry);
  const installNames = state.processedInstalls.map((e) => splitNameAndVersion(e).name);
  if (installNames.includes(name)) {
    ctx.warn(
      `Will not attempt to remove ${name} because some version of it is in the list of managed installs, or it is required by another managed install.`,
    );
    return false;
  }
  if (state.processedUninstalls.includes(name)) return true;
  state.processedUninstalls.push(name);

  let candidates: PkgInfo[];
  if (pinned !== '') {
    const found = lookUp(ctx, name, catalogs, pinned);
    candidates = 'item' in found ? [found.item] : [];
  } else {
    candidates = allItemsNamed(ctx, name, catalogs);
  }
  if (candidates.length === 0) {
    ctx.warn(
      `Could not process item ${name} for removal. No pkginfo found in catalogs: ${catalogs.join(', ')}`,
    );
    return false;
  }
  const installedNames = (): ReadonlySet<string> => ctx.receiptAnalysis().installedNames;
  let item: PkgInfo | undefined;
  for (const candidate of candidates) {
    if (await evidenceThisIsInstalled(candidate, ctx.evidence, installedNames)) {
      item = candidate;
      break;
    }
  }
  if (!item) {
    state.removals.push({ name, reason, installed: false });
    return true;
  }

  const method = await usableUninstallMethod(ctx, item, entry);
  if (method === undefined) return false;

  if (!(await removeDependents(ctx, item, catalogs))) {
    ctx.warn(
      `Will not attempt to remove ${item.name} because could not remove all items dependent on it.`,
    );
    return false;
  }

  const removal = removalEntry(ctx, item, reason, method);
  if (!removal) return false;

  // updates for the item go before it
  const targets = [item.name, ...versionTargets(item.name, item.version)];
  for (const update of updatesFor(ctx, targets, catalogs)) {
    await processRemoval(ctx, update, catalogs, `update for ${item.name}, which is being removed`);
  }
  removal.installed = true;
  removal.installed_version = item.version;
  state.removals.push(removal);
  return true;
}

/**
 * Munki's autoremove: names marked `autoremove` in the primary manifest's catalogs that no
 * managed install, processed install or earlier removal covers are removed. This runs before
 * managed_updates and optional_installs, so an autoremove item listed only there is removed.
 */
export async function processAutoremovals(
  ctx: PlanContext,
  primaryCatalogs: readonly string[],
): Promise<void> {
  const { state } = ctx;
  const covered = new Set([
    ...state.processedInstalls.map((e) => splitNameAndVersion(e).name),
    ...state.managedInstalls.map((e) => e.name.normalize('NFC')),
    ...state.processedUninstalls,
  ]);
  const names: string[] = [];
  for (const catalog of ctx.catalogList(primaryCatalogs)) {
    for (const name of catalog.autoremoveNames()) {
      if (!covered.has(name) && !names.includes(name)) names.push(name);
    }
  }
  for (const name of names) await processRemoval(ctx, name, primaryCatalogs, 'autoremove');
}

/** The uninstall_method if Munki could use it, else undefined (with Munki's warning). */
async function usableUninstallMethod(
  ctx: PlanContext,
  item: PkgInfo,
  entry: string,
): Promise<string | undefined> {
  const label = `${item.name}-${item.version}`;
  const method = typeof item['uninstall_method'] === 'string' ? item['uninstall_method'] : '';
  if (item['uninstallable'] !== true) {
    ctx.warn(`Item ${label} is not marked as uninstallable.`);
  } else if (method === '') {
    ctx.warn(`No uninstall_method in ${label}.`);
  } else if (method.startsWith('Adobe')) {
    ctx.warn('Adobe-specific uninstall methods are no longer supported.');
  } else if (method === 'remove_app' || method === 'remove_profile') {
    ctx.warn(`Uninstall method ${method} is no longer supported.`);
  } else if (method === 'removepackages') {
    const installed = ctx.receiptAnalysis().receiptsForName.get(item.name.normalize('NFC'));
    if ((installed ?? []).length > 0) return method;
    ctx.warn(`uninstall_method for ${entry} is removepackages, but no packages found to remove`);
  } else if (BUILT_IN_METHODS.includes(method)) {
    return method;
  } else if (method.startsWith('/') && (await ctx.evidence.exists(method))) {
    // Munki requires an executable file; the evidence can only tell that it exists. [inf]
    return method;
  } else {
    ctx.warn(`Uninstall method ${method} is not a valid method.`);
  }
  return undefined;
}

/**
 * Removes first every installed item that requires this one (`name`, `name-ver`, `name--ver` in
 * an array `requires`). Like Munki, only the first item of each name, in catalog order, is looked
 * at; a failure stops the scan of that catalog and fails the removal.
 */
async function removeDependents(
  ctx: PlanContext,
  item: PkgInfo,
  catalogs: readonly string[],
): Promise<boolean> {
  const targets = [item.name, ...versionTargets(item.name, item.version)];
  const seen = new Set<string>();
  let ok = true;
  for (const catalog of ctx.catalogList(catalogs)) {
    const ordinals = [...new Set(targets.flatMap((t) => catalog.itemsRequiring(t)))].sort(
      (a, b) => a - b,
    );
    let stoppedAt = catalog.size;
    for (const ordinal of ordinals) {
      const dependent = catalog.nameOf(ordinal);
      if (seen.has(dependent) || firstOrdinal(catalog, dependent) !== ordinal) continue;
      const installedNames = (): ReadonlySet<string> => ctx.receiptAnalysis().installedNames;
      if (!(await evidenceThisIsInstalled(catalog.item(ordinal), ctx.evidence, installedNames))) {
        continue;
      }
      const removed = await processRemoval(
        ctx,
        dependent,
        catalogs,
        `requires ${item.name}, which is being removed`,
      );
      if (!removed) {
        ok = false;
        stoppedAt = ordinal;
        break;
      }
    }
    for (let o = 0; o < stoppedAt; o += 1) seen.add(catalog.nameOf(o));
  }
  return ok;
}

function firstOrdinal(catalog: CatalogIndex, name: string): number {
  return Math.min(...[...catalog.versionsOf(name).values()].flat());
}

/** The removal entry (without installed/installed_version), or undefined when Munki gives up. */
function removalEntry(
  ctx: PlanContext,
  item: PkgInfo,
  reason: string,
  method: string,
): PlanItem | undefined {
  const entry: PlanItem = { name: item.name, reason, installed: false };
  const displayName = item['display_name'];
  if (displayName !== undefined) entry['display_name'] = displayName;
  entry.description = 'Will be removed.';
  if (item['unattended_uninstall'] === true || item['forced_uninstall'] === true) {
    const restart = restartActionOf(item);
    if (restart !== 'None') {
      ctx.warn(
        `Ignoring unattended_uninstall key for ${item.name} because RestartAction is ${restart}.`,
      );
    } else {
      entry.unattended_uninstall = true;
    }
  }
  const keys: readonly string[] = COPIED_KEYS;
  for (const key of keys) {
    const value = item[key];
    if (value !== undefined) entry[key] = value;
  }
  if (item['apple_item'] === undefined && isAppleItem(item)) entry['apple_item'] = true;

  if (method === 'removepackages') {
    const packages = uniquePackages(ctx, item.name);
    if (packages.length === 0) return undefined;
    entry.packages = packages;
  }
  entry.uninstall_method = method;
  if (method === 'remove_copied_items') {
    const items = item['items_to_copy'];
    if (!Array.isArray(items) || !items.every(isPlistDict)) {
      ctx.warn(`Can't uninstall ${item.name} because there is no info on installed items.`);
      return undefined;
    }
    entry['items_to_remove'] = items;
  } else if (method === 'uninstall_script') {
    const script = item['uninstall_script'];
    if (typeof script !== 'string') {
      ctx.warn(`Can't uninstall ${item.name} because uninstall_script is undefined or invalid.`);
      return undefined;
    }
    entry['uninstall_script'] = script;
  } else if (method === 'uninstall_package') {
    const location = item['uninstaller_item_location'];
    if (typeof location !== 'string') {
      ctx.warn(`Can't uninstall ${item.name} because there is no URL for the uninstall package.`);
      return undefined;
    }
    entry['uninstaller_item'] = baseName(location);
  }
  return entry;
}

/** removepackages: the item's installed receipts that no other installed item uses. */
function uniquePackages(ctx: PlanContext, rawName: string): string[] {
  const name = rawName.normalize('NFC'); // as the receipt analysis keys names
  const analysis = ctx.receiptAnalysis();
  const unique: string[] = [];
  const notes: string[] = [];
  for (const pkg of analysis.receiptsForName.get(name) ?? []) {
    const references = analysis.pkgReferences.get(pkg);
    if (!references) {
      ctx.warn(`pkg id ${pkg} missing from pkgdata`);
      continue;
    }
    notes.push(`Package ${pkg} references are: ${references.join(', ')}`);
    if (references.includes(name) && references.every((r) => r === name)) unique.push(pkg);
  }
  if (unique.length === 0) {
    ctx.warn(`could not find unique packages to remove for ${name}`);
    for (const note of notes) ctx.warn(note);
  }
  return unique;
}
