/**
 * `abbot check`: sync manifests and catalogs, resolve the manifest tree, look at what is installed,
 * and decide the install/update/removal plan; written as Munki's InstallInfo.plist. Nothing is
 * installed. A manifest that cannot be had stops the check and leaves the previous plan in place.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { CatalogIndex } from '../../catalogs/index.js';
import { buildPlist, isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { describeError } from '../../lib/errors.js';
import { acquireRunLock } from '../../lib/lock.js';
import type { Logger } from '../../lib/log.js';
import {
  primaryManifestCandidates,
  resolveManifestTree,
  type Facts,
} from '../../manifests/index.js';
import type { Config } from '../config.js';
import {
  buildInstallPlan,
  memoizeEvidence,
  toInstallInfo,
  type InstallEvidence,
  type InstallPlan,
} from '../plan/index.js';
import type { Platform } from '../platform/platform.js';
import { mergeConditionFacts, runConditionScripts } from '../platform/sandbox/conditions.js';
import { checkSummary, openClientState } from '../state/client-state.js';
import { addAppleUpdatesToCheck, isAppleUpdateCheckEnabled } from '../apple-updates/index.js';
import { httpClientFromConfig } from '../sync/client-for-config.js';
import { syncCatalog, syncManifest, type RepoSync } from './repo-sync.js';

/**
 * The Munki version whose pkginfo semantics Abbot implements: items that need a newer Munki
 * (`minimum_munki_version`) are not offered.
 */
export const MUNKI_COMPATIBLE_VERSION = '7.0.4';

/** What a check produced. */
export interface CheckOutcome {
  manifest: string;
  catalogs: string[];
  plan: InstallPlan;
  facts: Facts;
  warnings: string[];
  /** True when InstallInfo.plist changed. */
  installInfoChanged: boolean;
}

/** Everything a check needs; the composition root builds it. */
export interface CheckContext {
  platform: Platform;
  config: Config;
  logger: Logger;
  now?: Date;
}

function evidenceFrom(
  platform: Platform,
  receipts: Awaited<ReturnType<Platform['listReceipts']>>,
  apps: Awaited<ReturnType<Platform['listApplications']>>,
  osVersion: string,
): InstallEvidence {
  return memoizeEvidence({
    receipts: new Map(receipts.map((r) => [r.packageId, r])),
    applications: apps,
    osVersion,
    readPlist: (path) => platform.readPlist(path),
    exists: (path) => platform.exists(path),
    md5: (path) => platform.md5(path),
    runScript: async (script, name) => {
      const r = await platform.runScript(script, { name });
      return { exitCode: r.exitCode, stdout: r.stdout };
    },
  });
}

async function readLocalPlist(path: string, logger: Logger): Promise<PlistDict | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  try {
    const value = parsePlist(bytes, { source: path });
    if (isPlistDict(value)) return value;
    logger.warn('check.local.invalid', `${path} is not a dictionary; ignored`);
  } catch (e) {
    logger.warn('check.local.invalid', `${describeError(e)}; ignored`);
  }
  return undefined;
}

/** Removes cached manifests and catalogs this run did not use (Munki does the same). */
async function removeUnused(dir: string, keep: ReadonlySet<string>): Promise<void> {
  const walk = async (folder: string): Promise<void> => {
    for (const e of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
      const full = join(folder, e.name);
      if (e.isDirectory()) {
        await walk(full);
        continue;
      }
      const rel = relative(dir, full);
      const base = rel.replace(/\.(http\.json|index)$/, '');
      if (!keep.has(base)) await rm(full, { force: true });
    }
  };
  await walk(dir);
}

/**
 * Runs a check: sync, resolve, evaluate, plan; writes InstallInfo.plist and records the outcome in
 * the client state (for `abbot status`). Throws when the check fails.
 */
export async function runCheck(context: CheckContext): Promise<CheckOutcome> {
  const now = context.now ?? new Date();
  const lock = await acquireRunLock(join(context.platform.paths.stateDir, 'run.lock'), 'check');
  try {
    const outcome = context.config.AppleSoftwareUpdatesOnly
      ? await appleUpdatesOnlyCheck(context, now)
      : await checkUnderLock(context, now);
    if (isAppleUpdateCheckEnabled(context.config))
      await addAppleUpdatesToCheck(outcome, context, now);
    const state = await openClientState(context.platform.paths, { logger: context.logger });
    await state.recordCheck(checkSummary(outcome, now));
    return outcome;
  } catch (e) {
    const state = await openClientState(context.platform.paths, { logger: context.logger }).catch(
      () => undefined,
    );
    await state
      ?.recordCheck({
        at: now,
        result: 'failed',
        error: describeError(e),
        installs: 0,
        removals: 0,
      })
      .catch(() => {});
    throw e;
  } finally {
    await lock.release();
  }
}

/** Writes the plan as InstallInfo.plist unless the file already says the same; true if written. */
async function writeInstallInfo(path: string, plan: InstallPlan): Promise<boolean> {
  const installInfo = buildPlist(toInstallInfo(plan));
  const previous = await readFile(path, 'utf8').catch(() => undefined);
  if (previous === installInfo) return false;
  await writeFileAtomic(path, installInfo, { mkdirs: true });
  return true;
}

/** AppleSoftwareUpdatesOnly: the repo is not consulted at all (as Munki); the plan is empty. */
async function appleUpdatesOnlyCheck(context: CheckContext, now: Date): Promise<CheckOutcome> {
  const { platform } = context;
  const facts = await platform.collectFacts(now);
  const plan: InstallPlan = {
    managedInstalls: [],
    removals: [],
    optionalInstalls: [],
    managedUpdates: [],
    featuredItems: [],
    problemItems: [],
    installedItems: [],
    removedItems: [],
    processedInstalls: [],
    processedUninstalls: [],
    warnings: [],
    selfServe: undefined,
    selfServeChanged: false,
  };
  const changed = await writeInstallInfo(platform.paths.installInfo, plan);
  return { manifest: '', catalogs: [], plan, facts, warnings: [], installInfoChanged: changed };
}

async function checkUnderLock(context: CheckContext, now: Date): Promise<CheckOutcome> {
  const { platform, config, logger } = context;
  const paths = platform.paths;
  const client = httpClientFromConfig(config, logger, 1);
  try {
    const warnings: string[] = [];
    const builtIn = await platform.collectFacts(now);
    const scripted = await runConditionScripts(platform, paths, logger);
    const facts = mergeConditionFacts(builtIn, scripted);
    const sync: RepoSync = {
      client,
      config,
      manifestsDir: paths.manifestsDir,
      catalogsDir: paths.catalogsDir,
      logger,
    };

    // The primary manifest: the first candidate the server has.
    const candidates = primaryManifestCandidates({
      clientIdentifier: config.ClientIdentifier,
      hostname: String(facts['hostname'] ?? ''),
      serialNumber: String(facts['serial_number'] ?? ''),
    });
    const loaded = new Map<string, PlistDict>();
    let primary: string | undefined;
    for (const [i, name] of candidates.entries()) {
      try {
        loaded.set(name, await syncManifest(sync, name));
        primary = name;
        break;
      } catch (e) {
        if (i === candidates.length - 1) throw e;
        logger.debug(
          'check.manifest.candidate',
          `manifest ${name} not available: ${describeError(e)}`,
        );
      }
    }
    const primaryName = primary!;
    const loadManifest = async (name: string): Promise<PlistDict> => {
      const hit = loaded.get(name);
      if (hit) return hit;
      const manifest = await syncManifest(sync, name);
      loaded.set(name, manifest);
      return manifest;
    };
    const resolved = await resolveManifestTree(primaryName, loadManifest, facts, { logger });
    warnings.push(...resolved.warnings);

    // Every catalog any level of the tree names, in first-seen order.
    const catalogNames: string[] = [...resolved.primaryCatalogs];
    for (const section of [
      'managed_installs',
      'managed_uninstalls',
      'managed_updates',
      'optional_installs',
      'featured_items',
      'default_installs',
    ] as const) {
      for (const item of resolved[section])
        for (const c of item.catalogs) if (!catalogNames.includes(c)) catalogNames.push(c);
    }
    const catalogs = new Map<string, CatalogIndex>();
    for (const name of catalogNames) {
      const result = await syncCatalog(sync, name);
      if (result.warning) {
        warnings.push(result.warning);
        logger.warn('check.catalog.problem', result.warning);
      }
      if (result.index) catalogs.set(name, result.index);
    }

    const [receipts, apps] = await Promise.all([
      platform.listReceipts(),
      platform.listApplications(),
    ]);
    const osVersion = String(facts['os_vers'] ?? '');
    const evidence = evidenceFrom(platform, receipts, apps, osVersion);

    let localOnly: { name: string; manifest: PlistDict } | undefined;
    const localName = config.LocalOnlyManifest;
    if (localName && !loaded.has(localName)) {
      const manifest = await readLocalPlist(join(paths.manifestsDir, localName), logger);
      if (manifest) localOnly = { name: localName, manifest };
    }
    const selfServePath = join(paths.manifestsDir, 'SelfServeManifest');
    const selfServe = await readLocalPlist(selfServePath, logger);

    const plan = await buildInstallPlan({
      manifests: resolved,
      catalogs,
      facts,
      evidence,
      ...(localOnly ? { localOnlyManifest: localOnly } : {}),
      ...(selfServe ? { selfServeManifest: selfServe } : {}),
      options: {
        abbotVersion: MUNKI_COMPATIBLE_VERSION,
        osVersion,
        arch: String(facts['arch'] ?? ''),
        x86_64Capable: facts['x86_64_capable'] === true,
        showOptionalInstallsForHigherOSVersions: config.ShowOptionalInstallsForHigherOSVersions,
        now,
        logger,
      },
    });
    warnings.push(...plan.warnings);

    const changed = await writeInstallInfo(paths.installInfo, plan);
    if (plan.selfServeChanged && plan.selfServe) {
      await writeFileAtomic(selfServePath, buildPlist(plan.selfServe), { mkdirs: true });
    }

    const keepManifests = new Set([
      ...loaded.keys(),
      'SelfServeManifest',
      ...(localName ? [localName] : []),
    ]);
    await removeUnused(paths.manifestsDir, keepManifests);
    await removeUnused(paths.catalogsDir, new Set(catalogNames));

    return {
      manifest: primaryName,
      catalogs: resolved.primaryCatalogs,
      plan,
      facts,
      warnings,
      installInfoChanged: changed,
    };
  } finally {
    await client.close();
  }
}
