/**
 * Munki's processInstall and processManagedUpdate (code/cli/munki/shared/updatecheck/
 * analyze.swift). processInstall handles an item's `requires` first (recursively, so
 * prerequisites land earlier in the list), then decides by installedState, then looks for items
 * that declare themselves `update_for` it. It answers whether the item is or will be installed,
 * which is what a dependent item's own install hangs on.
 */
import { compareVersions, splitNameAndVersion, type PkgInfo } from '../../catalogs/index.js';
import {
  entryString,
  inInstallList,
  lookUp,
  stringListOf,
  updatesFor,
  versionTargets,
  type PlanContext,
} from './plan-context.js';
import { baseEntry, displayNameOf, installEntry, installedEntry } from './install-entry.js';
import {
  installedState,
  installedVersionOf,
  needsInstall,
  someVersionInstalled,
} from './installed-state.js';
import type { PlanItem } from './plan-types.js';

/** How an install was asked for. */
export interface InstallRequest {
  /** Why, for the plan entry ("managed_installs in site_default"). */
  reason: string;
  /** From managed_updates: not recorded in processed_installs. */
  isManagedUpdate?: boolean;
  /** From self service: force_install_after_date only applies once some version is installed. */
  isOptionalInstall?: boolean;
}

/** Processes one entry for install; true when it is, or will be, installed. */
export async function processInstall(
  ctx: PlanContext,
  rawEntry: string,
  catalogs: readonly string[],
  request: InstallRequest,
): Promise<boolean> {
  const { state } = ctx;
  const entry = entryString(rawEntry);
  const { name: entryName, version: pinned } = splitNameAndVersion(entry);
  // Munki records the entry string as written, so `Foo` and `Foo--1.0` are separate entries.
  if (state.processedInstalls.includes(entry)) return true;
  if (state.processedUninstalls.includes(entryName)) {
    ctx.options.logger?.debug(
      'plan.install.skipped',
      `${entry} was already processed for removal; not installing it`,
    );
    return false;
  }
  if (ctx.inProgress.includes(entryName)) {
    // Munki would recurse forever on a `requires` cycle; we stop and fail the dependency.
    ctx.warn(`requires cycle: ${[...ctx.inProgress, entryName].join(' → ')}`);
    return false;
  }

  const found = lookUp(ctx, entry, catalogs);
  if (!('item' in found)) {
    ctx.warn(`Could not process item ${entry} for install: ${found.problem}`);
    recordUnresolved(ctx, entryName, found.problem, request.reason);
    return false;
  }
  const pkginfo = found.item;
  const { name, version } = pkginfo;

  if (inInstallList(state.managedInstalls, name, version)) {
    // Already handled under another spelling; it failed if it is a problem entry.
    return !state.managedInstalls.some((e) => e.name === name && isProblemEntry(e));
  }

  ctx.inProgress.push(entryName);
  let dependenciesMet = true;
  try {
    for (const dependency of requiresOf(pkginfo)) {
      const ok = await processInstall(ctx, dependency, catalogs, {
        ...request,
        reason: `required by ${name}`,
      });
      if (!ok) dependenciesMet = false;
    }
  } finally {
    ctx.inProgress.pop();
  }

  const status = await installedState(pkginfo, ctx.evidence);
  if (needsInstall(status.state)) {
    if (!dependenciesMet) {
      ctx.warn(`Didn't attempt to install ${entry} because could not resolve all dependencies.`);
      const displayName = displayNameOf(pkginfo);
      state.managedInstalls.push({
        ...baseEntry(pkginfo, request.reason),
        installed: false,
        note: `Can't install ${displayName} because could not verify all other items it requires are or will be installed.`,
      });
      return false;
    }
    const offerDeadline =
      request.isOptionalInstall !== true || (await someVersionInstalled(pkginfo, ctx.evidence));
    const item = installEntry(ctx, pkginfo, request.reason, offerDeadline);
    state.managedInstalls.push(item);
    if (item.installer_item === undefined) return false; // cannot be downloaded
    // updates for this item, or only for the pinned version when one was named
    const targets =
      pinned !== ''
        ? versionTargets(entryName, pinned)
        : [entryName, ...versionTargets(entryName, version)];
    for (const update of updatesFor(ctx, targets, catalogs)) {
      await processInstall(ctx, update, catalogs, { reason: `update for ${name}` });
    }
  } else {
    if (!dependenciesMet) {
      ctx.warn(`Could not resolve all dependencies for ${entry}, but no install or update needed.`);
    }
    const installedVersion = status.state === 'same' ? version : await newerVersionOf(ctx, pkginfo);
    state.managedInstalls.push(installedEntry(pkginfo, request.reason, installedVersion));
    let targets: string[] = [];
    if (pinned === '') {
      targets = [name];
      if (!installedVersion.startsWith('(newer than')) {
        targets.push(...versionTargets(name, installedVersion));
      }
    } else if (compareVersions(pinned, installedVersion) === 0) {
      targets = versionTargets(name, pinned);
    }
    for (const update of updatesFor(ctx, targets, catalogs)) {
      await processInstall(ctx, update, catalogs, { ...request, reason: `update for ${name}` });
    }
  }
  if (request.isManagedUpdate !== true) state.processedInstalls.push(entry);
  return true;
}

/**
 * Munki's processManagedUpdate: an item listed in managed_updates is updated only where some
 * version of it is already installed; otherwise it is left alone.
 */
export async function processManagedUpdate(
  ctx: PlanContext,
  rawEntry: string,
  catalogs: readonly string[],
  reason: string,
): Promise<void> {
  const { state } = ctx;
  const entry = entryString(rawEntry);
  if (
    state.managedUpdates.includes(entry) ||
    state.processedInstalls.includes(entry) ||
    state.processedUninstalls.includes(entry)
  ) {
    return;
  }
  const found = lookUp(ctx, entry, catalogs);
  if (!('item' in found)) {
    ctx.warn(`Could not process item ${entry} for update: ${found.problem}`);
    return;
  }
  if (!(await someVersionInstalled(found.item, ctx.evidence))) return;
  state.managedUpdates.push(entry);
  await processInstall(ctx, entry, catalogs, { reason, isManagedUpdate: true });
}

/** True for Munki's problem entries: not installed and nothing to install it from. */
export function isProblemEntry(entry: PlanItem): boolean {
  return entry.installed === false && (entry.installer_item ?? '') === '';
}

function requiresOf(pkginfo: PkgInfo): string[] {
  return stringListOf(pkginfo['requires']);
}

/** The installed version to report when something newer is there. */
async function newerVersionOf(ctx: PlanContext, pkginfo: PkgInfo): Promise<string> {
  const found = await installedVersionOf(pkginfo, ctx.evidence);
  return found === 'UNKNOWN' ? `(newer than ${pkginfo.version})` : found;
}

/** A problem entry for an item that cannot be found or is not eligible, once per name and note. */
function recordUnresolved(ctx: PlanContext, name: string, note: string, reason: string): void {
  if (ctx.state.unresolved.some((p) => p.name === name && p.note === note)) return;
  ctx.state.unresolved.push({ name, reason, installed: false, note });
}
