/**
 * The SelfServeManifest (code/cli/munki/shared/updatecheck/selfservice.swift and
 * `processSelfServeManifest` in updatecheck.swift): the user's self-service choices. Manifest
 * default_installs are added to it once (and never again after the user removes them); its
 * managed_installs that are offered optional installs are installed; its managed_uninstalls are
 * removed; removals found already done are dropped from it so the user may reinstall later.
 */
import type { PlistDict, PlistValue } from '../../formats/index.js';
import type { ResolvedItem } from '../../manifests/index.js';
import { inInstallList, listedIn, type PlanContext } from './plan-context.js';
import { processInstall } from './process-install.js';
import { processRemoval } from './process-removal.js';

/** The SelfServeManifest as this check leaves it. */
export interface SelfServeResult {
  manifest: PlistDict | undefined;
  changed: boolean;
}

/**
 * Adds default_installs to the SelfServeManifest's `default_installs` and `managed_installs`,
 * each only the first time it is seen. Creates the manifest only when something is added.
 */
export function addDefaultInstalls(
  current: PlistDict | undefined,
  defaults: readonly ResolvedItem[],
): SelfServeResult & { addedBy: Map<string, ResolvedItem> } {
  const addedBy = new Map<string, ResolvedItem>();
  const manifest: PlistDict = { ...(current ?? {}) };
  const defaultsList = ensureList(manifest, 'default_installs');
  const installs = ensureList(manifest, 'managed_installs');
  for (const item of defaults) {
    // Munki reads both with `as? [String]`: a wrongly typed list blocks additions.
    if (!defaultsList || defaultsList.includes(item.item)) continue;
    defaultsList.push(item.item);
    addedBy.set(item.item, item);
    if (installs && !installs.includes(item.item)) installs.push(item.item);
  }
  if (addedBy.size === 0) return { manifest: current, changed: false, addedBy };
  return { manifest, changed: true, addedBy };
}

/**
 * Processes the user's choices with the primary manifest's catalogs, then marks optional installs
 * that will be installed or removed, and drops finished removals from the manifest.
 */
export async function processSelfServe(
  ctx: PlanContext,
  selfServe: SelfServeResult & { addedBy: ReadonlyMap<string, ResolvedItem> },
  primaryCatalogs: readonly string[],
): Promise<SelfServeResult> {
  const { state } = ctx;
  const manifest = selfServe.manifest;
  if (!manifest) return selfServe;
  const installs = stringsOf(manifest['managed_installs']) ?? [];
  // only offers the user may install: listed, without a note saying why not, seats permitting
  const available = new Set(
    state.optionalInstalls
      .filter((o) => o.note === undefined && o['licensed_seats_available'] !== false)
      .map((o) => o.name),
  );
  for (const item of installs.filter((i) => available.has(i))) {
    const origin = selfServe.addedBy.get(item);
    const reason = origin
      ? listedIn('default_installs', origin.manifest, origin.condition)
      : 'self-service choice';
    await processInstall(ctx, item, primaryCatalogs, { reason, isOptionalInstall: true });
  }
  for (const item of stringsOf(manifest['managed_uninstalls']) ?? []) {
    await processRemoval(ctx, item, primaryCatalogs, 'self-service removal');
  }

  for (const offer of state.optionalInstalls) {
    if (!offer.installed && inInstallList(state.managedInstalls, offer.name)) {
      offer.will_be_installed = true;
    } else if (offer.installed && inInstallList(state.removals, offer.name)) {
      offer.will_be_removed = true;
    }
  }

  // removals that are done (or were never needed) leave the user's list
  const removed = new Set(state.removals.filter((r) => r.installed === false).map((r) => r.name));
  const uninstalls = stringsOf(manifest['managed_uninstalls']);
  if (uninstalls && uninstalls.some((u) => removed.has(u))) {
    const kept = uninstalls.filter((u) => !removed.has(u));
    return { manifest: { ...manifest, managed_uninstalls: kept }, changed: true };
  }
  return { manifest, changed: selfServe.changed };
}

/** The key's array, created empty when absent; undefined when it holds something else. */
function ensureList(manifest: PlistDict, key: string): string[] | undefined {
  const value = manifest[key];
  if (value === undefined) {
    const list: string[] = [];
    manifest[key] = list;
    return list;
  }
  const list = stringsOf(value);
  if (!list) return undefined;
  const copy = [...list];
  manifest[key] = copy;
  return copy;
}

function stringsOf(value: PlistValue | undefined): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : undefined;
}
