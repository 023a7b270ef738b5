/**
 * Munki's `analyzeInstalledPkgs` (code/cli/munki/shared/updatecheck/catalogs.swift): which item
 * names look installed judging by package receipts alone, over every catalog loaded this run.
 * Used by removals: evidence for items that only have receipts, and `removepackages`, which may
 * only remove receipts no other installed item uses.
 */
import type { CatalogIndex } from '../../catalogs/index.js';
import type { InstalledReceipt } from '../platform/platform.js';

/** The receipt analysis: Munki's receipts_for_name, installed_names and pkg_references (names NFC). */
export interface ReceiptAnalysis {
  /** Installed package ids matched to each item name (partially installed names included). */
  receiptsForName: ReadonlyMap<string, readonly string[]>;
  /** Names judged installed from receipts. */
  installedNames: ReadonlySet<string>;
  /** Installed package id → the installed names that use it. */
  pkgReferences: ReadonlyMap<string, readonly string[]>;
}

/**
 * A name is installed when all its package ids are on disk, or when some are and at least one of
 * those is used by no other (partially) installed name. An installed receipt no installed name
 * claims (an orphan) is matched by version prefix to a unique candidate name.
 */
export function analyzeReceipts(
  catalogs: Iterable<CatalogIndex>,
  installed: ReadonlyMap<string, InstalledReceipt>,
): ReceiptAnalysis {
  const pkgsOfName = new Map<string, Set<string>>();
  const namesOfPkg = new Map<string, Map<string, string[]>>();
  for (const catalog of catalogs) {
    for (const [pkgid, entries] of catalog.receiptEntries()) {
      for (const [ordinal, version] of entries) {
        const name = catalog.nameOf(ordinal);
        getOr(pkgsOfName, name, () => new Set()).add(pkgid);
        const versions = getOr(
          getOr(namesOfPkg, pkgid, () => new Map()),
          name,
          () => [],
        );
        if (!versions.includes(version)) versions.push(version);
      }
    }
  }

  const matched = new Map<string, string[]>();
  const names: string[] = [];
  const partial: string[] = [];
  for (const [name, pkgids] of pkgsOfName) {
    const found = [...pkgids].filter((id) => installed.has(id));
    if (found.length > 0) matched.set(name, found);
    if (found.length === pkgids.size) names.push(name);
    else if (found.length > 0) partial.push(name);
  }
  // A partly installed name counts when it has a receipt no other (partly) installed name uses;
  // otherwise it is probably not installed and merely shares receipts with one that is.
  for (const name of partial) {
    const others = new Set<string>();
    for (const other of [...names, ...partial]) {
      if (other !== name) for (const id of matched.get(other) ?? []) others.add(id);
    }
    if ((matched.get(name) ?? []).some((id) => !others.has(id))) names.push(name);
  }

  const references = new Map<string, string[]>();
  const refer = (name: string): void => {
    for (const id of matched.get(name) ?? []) {
      const list = getOr(references, id, () => []);
      if (!list.includes(name)) list.push(name);
    }
  };
  for (const name of names) refer(name);
  // Orphans are judged against the references as they stand before any orphan is matched.
  const orphans = [...installed].filter(([pkgid]) => !references.has(pkgid));
  const adopted: string[] = [];
  for (const [pkgid, receipt] of orphans) {
    const candidates = namesOfPkg.get(pkgid);
    const best = candidates && bestVersionMatch(receipt.version, candidates);
    if (best !== undefined) adopted.push(best);
  }
  for (const name of adopted) {
    if (!names.includes(name)) names.push(name);
    refer(name);
  }
  return { receiptsForName: matched, installedNames: new Set(names), pkgReferences: references };
}

/**
 * Munki's bestVersionMatch: the one name whose receipt versions share the longest leading
 * components with `version` (1 component, then 2, …) as a string prefix; undefined if never unique.
 */
export function bestVersionMatch(
  version: string,
  candidates: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  const parts = version.split('.');
  for (let precision = 1; precision <= parts.length; precision += 1) {
    const prefix = parts.slice(0, precision).join('.');
    const hits = [...candidates].filter(([, versions]) =>
      versions.some((v) => v.startsWith(prefix)),
    );
    if (hits.length === 1) return hits[0]?.[0];
  }
  return undefined;
}

function getOr<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}
