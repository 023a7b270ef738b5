/**
 * Munki's `getItemDetail` (code/cli/munki/shared/updatecheck/catalogs.swift): which pkginfo a
 * manifest entry such as `Firefox`, `Firefox-120.0` or `Firefox--120.0` means on this Mac.
 * Catalogs are searched in manifest order; within one catalog the candidates are the requested
 * version, or every version newest first (file order among equal versions), and the first
 * candidate that passes minimum_munki_version, minimum_os_version, maximum_os_version,
 * supported_architectures and installable_condition wins. Only when nothing in a catalog passes
 * is the next catalog tried, so an older version in an earlier catalog beats a newer one later.
 */
import type { PkgInfo } from './pkginfo.js';
import type { CatalogIndex } from './catalog-index.js';
import { splitNameAndVersion } from './name-version.js';
import { compareVersions, trimVersionString } from './version.js';

/**
 * What item selection needs to know about this Mac. `evaluateCondition` is injected because
 * catalogs/ may not import the condition language (manifests/): it returns the condition's
 * value and throws when the text does not parse.
 */
export interface SelectionEnv<F = unknown> {
  /** Full macOS version (`14.5`, `15.0.1`), compared with minimum/maximum_os_version. */
  osVersion: string;
  /** Native machine architecture (`arm64`, `x86_64`, `i386`). */
  arch: string;
  /** True on an i386 kernel that can run x86_64 code (then `x86_64` items are accepted). */
  x86_64Capable?: boolean;
  /** The version compared with `minimum_munki_version`. */
  abbotVersion: string;
  /** Facts for `installable_condition`. */
  facts: F;
  /** Evaluates an NSPredicate-style condition; throws when it does not parse. */
  evaluateCondition: (condition: string, facts: F) => boolean;
  /** Ignore minimum_os_version (ShowOptionalInstallsForHigherOSVersions). */
  skipMinOsCheck?: boolean;
}

/** The chosen item, or why every candidate was rejected (empty: no item of that name/version). */
export type ItemSelection = { item: PkgInfo } | { rejected: string[] };

/**
 * Picks the item for `name` (a manifest entry, `Name--1.0` pins allowed). `version` '' or 'latest'
 * means: the version pinned in the name if any, else the newest eligible one; any other value is
 * an exact version, matched as a trimmed string ("1.0.0" finds "1.0").
 */
export function findItem<F>(
  name: string,
  version: string,
  catalogs: readonly CatalogIndex[],
  env: SelectionEnv<F>,
): ItemSelection {
  const split = splitNameAndVersion(name);
  let wanted = version === 'latest' ? '' : version;
  if (wanted === '') wanted = split.version;
  const wantedKey = wanted === '' ? undefined : trimVersionString(wanted);
  const rejected: string[] = [];
  for (const catalog of catalogs) {
    for (const ordinal of candidates(catalog, split.name, wantedKey)) {
      const item = catalog.item(ordinal);
      const reason = whyIneligible(item, env);
      if (reason === undefined) return { item };
      rejected.push(reason);
    }
  }
  return { rejected };
}

/** Why `item` cannot be installed on this Mac, or undefined when it can. */
export function whyIneligible<F>(item: PkgInfo, env: SelectionEnv<F>): string | undefined {
  const label = `${item.name}-${item.version}`;
  // Munki reads each key with `as? String` / `as? [String]`: a wrongly typed value is no limit.
  const minMunki = item['minimum_munki_version'];
  if (typeof minMunki === 'string' && compareVersions(env.abbotVersion, minMunki) < 0) {
    return `${label} requires Munki version ${minMunki} or later (this client reports ${env.abbotVersion})`;
  }
  const minOs = item['minimum_os_version'];
  if (
    env.skipMinOsCheck !== true &&
    typeof minOs === 'string' &&
    minOs !== '' &&
    compareVersions(env.osVersion, minOs) < 0
  ) {
    return `${label} requires macOS ${minOs} or later (this Mac runs ${env.osVersion})`;
  }
  const maxOs = item['maximum_os_version'];
  if (typeof maxOs === 'string' && maxOs !== '' && compareVersions(env.osVersion, maxOs) > 0) {
    return `${label} requires macOS ${maxOs} or earlier (this Mac runs ${env.osVersion})`;
  }
  const archs = item['supported_architectures'];
  if (
    Array.isArray(archs) &&
    archs.length > 0 &&
    archs.every((a) => typeof a === 'string') &&
    !archs.includes(env.arch) &&
    !(archs.includes('x86_64') && env.arch === 'i386' && env.x86_64Capable === true)
  ) {
    return `${label} is not supported on ${env.arch} (supports ${archs.join(', ')})`;
  }
  const condition = item['installable_condition'];
  if (typeof condition === 'string') {
    let ok: boolean;
    try {
      ok = env.evaluateCondition(condition, env.facts);
    } catch (e) {
      // Munki's NSPredicate would raise here and the item would count as ineligible.
      const why = e instanceof Error ? e.message : String(e);
      return `${label} has an installable_condition that does not parse: ${why}`;
    }
    if (!ok)
      return `${label} is not installable here: installable_condition \`${condition}\` is false`;
  }
  return undefined;
}

/** Candidate ordinals in one catalog: the wanted version, or all versions newest first. */
function candidates(catalog: CatalogIndex, name: string, wantedKey: string | undefined): number[] {
  const versions = catalog.versionsOf(name);
  if (wantedKey !== undefined) return [...(versions.get(wantedKey) ?? [])];
  // Distinct keys can compare equal ("01.0" and "1.0"); Munki's sort leaves their order
  // unspecified, ours keeps the order they first appear in the file.
  const keys = [...versions.keys()].sort((a, b) => compareVersions(b, a));
  return keys.flatMap((k) => versions.get(k) ?? []);
}
