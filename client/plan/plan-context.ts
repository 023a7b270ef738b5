/**
 * The state one check builds up (Munki's `installInfo` dictionary during updatecheck) and the
 * catalog look-ups its passes share: item selection, update_for search, all items of a name.
 */
import {
  compareVersions,
  findItem,
  splitNameAndVersion,
  type CatalogIndex,
  type PkgInfo,
  type SelectionEnv,
} from '../../catalogs/index.js';
import { isPlistDict, PlistReal, type PlistDict, type PlistValue } from '../../formats/index.js';
import { evaluateCondition, type Facts } from '../../manifests/index.js';
import { memoizeEvidence, type InstallEvidence } from './install-evidence.js';
import type { OptionalItem, PlanInput, PlanItem, PlanOptions } from './plan-types.js';
import { analyzeReceipts, type ReceiptAnalysis } from './receipt-analysis.js';

/** Munki's installInfo lists while the passes run, plus our problem list and warnings. */
export interface PlanState {
  /** Every processed install entry: to install, installed, and failed (Munki's managed_installs). */
  managedInstalls: PlanItem[];
  /** Every processed removal entry, installed or not. */
  removals: PlanItem[];
  optionalInstalls: OptionalItem[];
  managedUpdates: string[];
  featuredItems: string[];
  /** Raw entry strings (path dropped), as Munki records them. */
  processedInstalls: string[];
  /** Bare names. */
  processedUninstalls: string[];
  /** Installs whose item could not be found or is not eligible here. */
  unresolved: PlanItem[];
  warnings: string[];
}

/** What the passes share. */
export interface PlanContext {
  state: PlanState;
  evidence: InstallEvidence;
  options: PlanOptions;
  env: SelectionEnv<Facts>;
  /** All catalogs loaded, by name. */
  catalogs: ReadonlyMap<string, CatalogIndex>;
  /** Names whose install is being worked out (to stop `requires` cycles). */
  inProgress: string[];
  warn(message: string): void;
  /** The catalogs named, in order; unknown names are skipped (warned about once). */
  catalogList(names: readonly string[]): CatalogIndex[];
  receiptAnalysis(): ReceiptAnalysis;
}

/** A fresh context for one check. */
export function createPlanContext(input: PlanInput): PlanContext {
  const { options } = input;
  const state: PlanState = {
    managedInstalls: [],
    removals: [],
    optionalInstalls: [],
    managedUpdates: [],
    featuredItems: [],
    processedInstalls: [],
    processedUninstalls: [],
    unresolved: [],
    warnings: [],
  };
  const missing = new Set<string>();
  const evidence = memoizeEvidence(input.evidence);
  let analysis: ReceiptAnalysis | undefined;
  const env: SelectionEnv<Facts> = {
    osVersion: options.osVersion,
    arch: options.arch,
    abbotVersion: options.abbotVersion,
    facts: input.facts,
    evaluateCondition: (text, facts) => evaluateCondition(text, facts),
  };
  if (options.x86_64Capable !== undefined) env.x86_64Capable = options.x86_64Capable;
  const ctx: PlanContext = {
    state,
    evidence,
    options,
    env,
    catalogs: input.catalogs,
    inProgress: [],
    warn(message) {
      state.warnings.push(message);
      options.logger?.warn('plan.warning', message);
    },
    catalogList(names) {
      const list: CatalogIndex[] = [];
      for (const name of names) {
        const catalog = input.catalogs.get(name);
        if (catalog) list.push(catalog);
        else if (!missing.has(name)) {
          missing.add(name);
          ctx.warn(`catalog ${name} is not available; items are not looked up in it`);
        }
      }
      return list;
    },
    receiptAnalysis() {
      analysis ??= analyzeReceipts(input.catalogs.values(), evidence.receipts);
      return analysis;
    },
  };
  return ctx;
}

/** The outcome of looking an entry up: the item, or why nothing fits (one sentence). */
export type Lookup = { item: PkgInfo } | { problem: string };

/** getItemDetail over the named catalogs, with the rejection reasons folded into one sentence. */
export function lookUp(
  ctx: PlanContext,
  entry: string,
  catalogNames: readonly string[],
  version = '',
  skipMinOsCheck = false,
): Lookup {
  const env = skipMinOsCheck ? { ...ctx.env, skipMinOsCheck } : ctx.env;
  const found = findItem(entry, version, ctx.catalogList(catalogNames), env);
  if ('item' in found) return found;
  if (found.rejected.length > 0) return { problem: found.rejected.join('; ') };
  const wanted = version === '' ? entry : `${entry} version ${version}`;
  return {
    problem: `not available in any catalog: ${wanted} (catalogs: ${catalogNames.join(', ')})`,
  };
}

/**
 * Munki's lookForUpdatesFor: names of items whose update_for lists `target` exactly, over the
 * catalogs in order, each name once (Munki de-duplicates through a Set; we keep first-seen order).
 */
export function updatesFor(
  ctx: PlanContext,
  targets: readonly string[],
  catalogNames: readonly string[],
): string[] {
  const names: string[] = [];
  for (const target of targets) {
    for (const catalog of ctx.catalogList(catalogNames)) {
      for (const ordinal of catalog.updatesFor(target)) {
        const name = catalog.nameOf(ordinal);
        if (!names.includes(name)) names.push(name);
      }
    }
  }
  return names;
}

/** The update_for targets that mean "this version of `name`": `name-ver` and `name--ver`. */
export function versionTargets(name: string, version: string): string[] {
  return [`${name}-${version}`, `${name}--${version}`];
}

/**
 * Munki's getAllItemsWithName: every item of that name in the catalogs, identical ones once,
 * newest first, with no OS or architecture filtering (removals must find what is installed).
 */
export function allItemsNamed(
  ctx: PlanContext,
  entry: string,
  catalogNames: readonly string[],
): PkgInfo[] {
  const { name } = splitNameAndVersion(entry);
  const items: PkgInfo[] = [];
  for (const catalog of ctx.catalogList(catalogNames)) {
    for (const item of catalog.itemsNamed(name)) {
      if (!items.some((known) => plistEqual(known, item))) items.push(item);
    }
  }
  return items.sort((a, b) => compareVersions(b.version, a.version));
}

/**
 * Munki's itemInInstallInfo: an entry with this name is in `list` and, when `version` is given,
 * is installed at or above it, or will install a version at or above it.
 */
export function inInstallList(list: readonly PlistDict[], name: string, version = ''): boolean {
  return list.some((entry) => {
    if (entry['name'] !== name) return false;
    if (version === '') return true;
    const installed = entry['installed_version'];
    if (entry['installed'] === true && typeof installed === 'string') {
      if (compareVersions(installed, version) >= 0) return true;
    }
    const toInstall = entry['version_to_install'];
    return typeof toInstall === 'string' && compareVersions(toInstall, version) >= 0;
  });
}

/** The entry as Munki keys it: its last path component (`apps/Foo--1.0` → `Foo--1.0`). */
export function entryString(entry: string): string {
  let end = entry.length;
  while (end > 1 && entry.charCodeAt(end - 1) === 0x2f) end -= 1;
  const trimmed = entry.slice(0, end);
  return trimmed === '/' ? trimmed : trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** `requires`/`update_for` as a list: Munki accepts one string; a mixed array counts as none. */
export function stringListOf(value: PlistValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : [];
}

/** Deep equality of plist values (NSDictionary isEqual), used to de-duplicate catalog items. */
export function plistEqual(a: PlistValue | undefined, b: PlistValue | undefined): boolean {
  if (a === b) return true;
  if (a instanceof PlistReal || b instanceof PlistReal) {
    return a instanceof PlistReal && b instanceof PlistReal && a.value === b.value;
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((byte, i) => byte === b[i])
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((v, i) => plistEqual(v, b[i]))
    );
  }
  if (!isPlistDict(a) || !isPlistDict(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((k) => Object.hasOwn(b, k) && plistEqual(a[k], b[k]))
  );
}

/** The reason text for an item listed in a manifest section. */
export function listedIn(section: string, manifest: string, condition?: string): string {
  return condition === undefined
    ? `${section} in ${manifest}`
    : `${section} in ${manifest} (when ${condition})`;
}
