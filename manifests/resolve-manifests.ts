/**
 * Resolves a primary manifest and everything it pulls in into ordered item lists, the way Munki's
 * `processManifest` (code/cli/munki/shared/updatecheck/manifests.swift) walks the tree for every
 * key pass: for each manifest, its included_manifests first (depth first, empty names skipped),
 * then its conditional_items whose condition is true (each processed as an embedded manifest),
 * then its own items. A manifest without catalogs inherits its parent's effective list; one with
 * its own replaces it for its subtree. Munki walks the tree once per key; facts do not change
 * during a run, so one walk collecting every key gives the same order.
 */
import { AppError, describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { isPlistDict, type PlistDict, type PlistValue } from '../formats/plist-value.js';
import { evaluateCondition, type Facts } from './condition-eval.js';

/** The manifest keys that list items, in Munki's pass order. */
export const MANIFEST_SECTIONS = [
  'managed_installs',
  'managed_uninstalls',
  'managed_updates',
  'optional_installs',
  'featured_items',
  'default_installs',
] as const;

/** One of {@link MANIFEST_SECTIONS}. */
export type ManifestSection = (typeof MANIFEST_SECTIONS)[number];

/** One item string from a manifest, with the catalogs it is looked up in and where it came from. */
export interface ResolvedItem {
  /** The entry as written (`Firefox`, `Firefox--120.0`, `apps/Firefox`). */
  item: string;
  /** The effective catalog list at the point it was listed. */
  catalogs: string[];
  /** The manifest it is listed in (for conditional items: the manifest holding them). */
  manifest: string;
  /** The condition of the conditional item it is listed in, if any (innermost). */
  condition?: string;
}

/** A resolved manifest tree: every section's items in Munki's processing order. */
export type ResolvedManifests = Record<ManifestSection, ResolvedItem[]> & {
  /** The primary manifest's own catalogs (autoremove and self service use these). */
  primaryCatalogs: string[];
  /** Every manifest loaded, primary first, each once. */
  manifestsUsed: string[];
  /** Problems that did not stop resolution (bad conditions, cycles, wrongly typed keys). */
  warnings: string[];
};

/** Options for {@link resolveManifestTree}. */
export interface ResolveOptions {
  logger?: Logger;
}

/**
 * Loads `primaryName` and its included manifests through `loadManifest` and resolves the tree.
 * Rejects when any manifest fails to load (the caller keeps its previous plan, as Munki keeps its
 * InstallInfo) and with `SCHEMA_INVALID` when the primary manifest has no catalogs.
 */
export async function resolveManifestTree(
  primaryName: string,
  loadManifest: (name: string) => Promise<PlistDict>,
  facts: Facts,
  options: ResolveOptions = {},
): Promise<ResolvedManifests> {
  const result: ResolvedManifests = {
    managed_installs: [],
    managed_uninstalls: [],
    managed_updates: [],
    optional_installs: [],
    featured_items: [],
    default_installs: [],
    primaryCatalogs: [],
    manifestsUsed: [],
    warnings: [],
  };
  const loaded = new Map<string, Promise<PlistDict>>();
  const load = (name: string): Promise<PlistDict> => {
    // Munki fetches each manifest once per run however often it is included.
    let pending = loaded.get(name);
    if (!pending) {
      result.manifestsUsed.push(name);
      loaded.set(name, (pending = loadManifest(name)));
    }
    return pending;
  };
  const warn = (message: string): void => {
    result.warnings.push(message);
    options.logger?.warn('manifest.resolve.warning', message);
  };

  const primary = await load(primaryName);
  const catalogs = strings(primary['catalogs']);
  if (!catalogs || catalogs.length === 0) {
    throw new AppError('SCHEMA_INVALID', `manifest ${primaryName} has no catalogs list`, {
      hint: 'the primary manifest needs a non-empty `catalogs` array of strings',
    });
  }
  result.primaryCatalogs = [...catalogs];

  const walk = async (
    manifest: PlistDict,
    name: string,
    parentCatalogs: readonly string[],
    includePath: readonly string[],
    condition: string | undefined,
  ): Promise<void> => {
    const own = typedList(manifest, 'catalogs', name, warn);
    const effective = own && own.length > 0 ? own : parentCatalogs;
    if (effective.length === 0) {
      // Munki skips such a manifest entirely ("Manifest X has no catalogs").
      warn(`manifest ${name} has no catalogs; skipped`);
      return;
    }

    const includes = typedList(manifest, 'included_manifests', name, warn) ?? [];
    // Start every fetch at once (they are memoised); the catch only keeps a failure that is
    // never awaited, because an earlier include failed first, from being an unhandled rejection.
    for (const include of includes) {
      if (include !== '' && !includePath.includes(include)) load(include).catch(() => {});
    }
    for (const include of includes) {
      if (include === '') continue;
      if (includePath.includes(include)) {
        // Munki has no cycle check and would recurse forever; we report and do not follow.
        warn(`manifest ${include} includes itself: ${[...includePath, include].join(' → ')}`);
        continue;
      }
      let included: PlistDict;
      try {
        included = await load(include);
      } catch (e) {
        throw new AppError(
          e instanceof AppError ? e.code : 'IO',
          `included manifest ${include} (from ${name}) could not be loaded: ${describeError(e)}`,
          { cause: e },
        );
      }
      await walk(included, include, effective, [...includePath, include], undefined);
    }

    const conditionals = manifest['conditional_items'];
    if (conditionals !== undefined) {
      if (!Array.isArray(conditionals) || !conditionals.every(isPlistDict)) {
        warn(`manifest ${name}: conditional_items is not an array of dictionaries; ignored`);
      } else {
        for (const [index, entry] of (conditionals as PlistDict[]).entries()) {
          const text = entry['condition'];
          if (typeof text !== 'string') {
            warn(`manifest ${name}: conditional_items[${index}] has no condition; skipped`);
            continue;
          }
          if (isTrue(text, { ...facts, catalogs: [...effective] }, name, warn)) {
            await walk(entry, name, effective, includePath, text);
          }
        }
      }
    }

    for (const section of MANIFEST_SECTIONS) {
      for (const item of typedList(manifest, section, name, warn) ?? []) {
        const resolved: ResolvedItem = { item, catalogs: [...effective], manifest: name };
        if (condition !== undefined) resolved.condition = condition;
        result[section].push(resolved);
      }
    }
  };

  await walk(primary, primaryName, catalogs, [primaryName], undefined);
  return result;
}

/** Inputs for {@link primaryManifestCandidates}. */
export interface ClientIdentity {
  clientIdentifier?: string | undefined;
  hostname: string;
  serialNumber?: string | undefined;
}

/**
 * The manifest names to try, in order (Munki's `getPrimaryManifest`): a non-empty
 * ClientIdentifier alone; else the hostname as given (often an FQDN), the short hostname when it
 * differs, the serial number (unless empty or `UNKNOWN`), then `site_default`.
 */
export function primaryManifestCandidates(identity: ClientIdentity): string[] {
  if (identity.clientIdentifier) return [identity.clientIdentifier];
  const names = [identity.hostname];
  const short = identity.hostname.split('.')[0] ?? '';
  if (short !== '' && short !== identity.hostname) names.push(short);
  const serial = identity.serialNumber ?? '';
  if (serial !== '' && serial !== 'UNKNOWN') names.push(serial);
  names.push('site_default');
  return names;
}

/** Evaluates a condition; text that does not parse or raises counts as false, with a warning. */
function isTrue(
  text: string,
  facts: Facts,
  manifest: string,
  warn: (message: string) => void,
): boolean {
  try {
    return evaluateCondition(text, facts, {
      onError: (reason) =>
        warn(`manifest ${manifest}: condition \`${text}\` could not be evaluated: ${reason}`),
    });
  } catch (e) {
    warn(`manifest ${manifest}: condition \`${text}\` does not parse: ${describeError(e)}`);
    return false;
  }
}

/**
 * A key Munki reads with `as? [String]`: absent gives undefined; anything but an array of
 * strings is ignored as a whole (with a warning, which Munki does not give).
 */
function typedList(
  manifest: PlistDict,
  key: string,
  name: string,
  warn: (message: string) => void,
): string[] | undefined {
  const value = manifest[key];
  if (value === undefined) return undefined;
  const list = strings(value);
  if (!list) warn(`manifest ${name}: ${key} is not an array of strings; ignored`);
  return list;
}

function strings(value: PlistValue | undefined): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : undefined;
}
