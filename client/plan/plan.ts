/**
 * Builds the install plan the way Munki 7's `checkForUpdates` does
 * (code/cli/munki/shared/updatecheck/updatecheck.swift), pass by pass: managed_installs,
 * managed_uninstalls, autoremove, managed_updates, the LocalOnlyManifest, optional_installs,
 * featured_items, then the self-service choices. Installs always run first, so an item both
 * installed and removed anywhere in the tree is installed. Nothing is downloaded here.
 */
import type { PlistDict, PlistValue } from '../../formats/index.js';
import type { ResolvedItem } from '../../manifests/index.js';
import { createPlanContext, listedIn, type PlanContext } from './plan-context.js';
import type { InstallPlan, LocalOnlyManifest, PlanInput } from './plan-types.js';
import { isProblemEntry, processInstall, processManagedUpdate } from './process-install.js';
import { collectFeatured, processOptionalInstall } from './process-optional.js';
import { processAutoremovals, processRemoval } from './process-removal.js';
import { addDefaultInstalls, processSelfServe } from './self-serve.js';

/** Works out what to install, update and remove on this Mac. Never throws on bad repo data. */
export async function buildInstallPlan(input: PlanInput): Promise<InstallPlan> {
  const ctx = createPlanContext(input);
  const { manifests } = input;
  const primary = manifests.primaryCatalogs;
  for (const warning of manifests.warnings) ctx.state.warnings.push(warning);

  for (const item of manifests.managed_installs) {
    await processInstall(ctx, item.item, item.catalogs, { reason: why('managed_installs', item) });
  }
  for (const item of manifests.managed_uninstalls) {
    await processRemoval(ctx, item.item, item.catalogs, why('managed_uninstalls', item));
  }
  await processAutoremovals(ctx, primary);
  for (const item of manifests.managed_updates) {
    await processManagedUpdate(ctx, item.item, item.catalogs, why('managed_updates', item));
  }
  if (input.localOnlyManifest) {
    await processLocalOnly(ctx, input.localOnlyManifest, primary, manifests.manifestsUsed);
  }
  for (const item of manifests.optional_installs) {
    await processOptionalInstall(ctx, item.item, item.catalogs, why('optional_installs', item));
  }
  collectFeatured(
    ctx,
    manifests.featured_items.map((f) => f.item),
  );
  const withDefaults = addDefaultInstalls(input.selfServeManifest, manifests.default_installs);
  const selfServe = await processSelfServe(ctx, withDefaults, primary);

  const { state } = ctx;
  return {
    managedInstalls: state.managedInstalls.filter((e) => e.installer_item !== undefined),
    removals: state.removals.filter((e) => e.installed),
    optionalInstalls: state.optionalInstalls,
    managedUpdates: state.managedUpdates,
    featuredItems: state.featuredItems,
    problemItems: [...state.managedInstalls.filter(isProblemEntry), ...state.unresolved],
    installedItems: state.managedInstalls.filter((e) => e.installed),
    removedItems: state.removals.filter((e) => !e.installed),
    processedInstalls: state.processedInstalls,
    processedUninstalls: state.processedUninstalls,
    warnings: state.warnings,
    selfServe: selfServe.manifest,
    selfServeChanged: selfServe.changed,
  };
}

/**
 * Munki's processLocalOnlyManifest: a local manifest's managed_installs, managed_uninstalls,
 * managed_updates and optional_installs, with the primary manifest's catalogs. It may not name
 * catalogs, include manifests or hold conditional items (ignored, with a warning), and is skipped
 * when its name is also a manifest from the server.
 */
async function processLocalOnly(
  ctx: PlanContext,
  local: LocalOnlyManifest,
  primary: readonly string[],
  manifestsUsed: readonly string[],
): Promise<void> {
  if (manifestsUsed.includes(local.name)) {
    ctx.warn(
      `LocalOnlyManifest ${local.name} has the same name as an existing manifest, skipping...`,
    );
    return;
  }
  for (const key of ['catalogs', 'included_manifests', 'conditional_items']) {
    if (local.manifest[key] !== undefined) {
      ctx.warn(`Local-only manifest ${local.name} contains section '${key}'. Ignoring.`);
    }
  }
  const where = `LocalOnlyManifest ${local.name}`;
  for (const entry of list(local.manifest, 'managed_installs')) {
    await processInstall(ctx, entry, primary, { reason: `managed_installs in ${where}` });
  }
  for (const entry of list(local.manifest, 'managed_uninstalls')) {
    await processRemoval(ctx, entry, primary, `managed_uninstalls in ${where}`);
  }
  for (const entry of list(local.manifest, 'managed_updates')) {
    await processManagedUpdate(ctx, entry, primary, `managed_updates in ${where}`);
  }
  for (const entry of list(local.manifest, 'optional_installs')) {
    await processOptionalInstall(ctx, entry, primary, `optional_installs in ${where}`);
  }
}

function why(section: string, item: ResolvedItem): string {
  return listedIn(section, item.manifest, item.condition);
}

function list(manifest: PlistDict, key: string): string[] {
  const value: PlistValue | undefined = manifest[key];
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : [];
}
