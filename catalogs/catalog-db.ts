/**
 * An index over one catalog, as Munki's client builds it: items by name and trimmed version (in file
 * order), and which names have updates. Used by the client to pick items and by `repo check`.
 */
import { isPlistDict, type PlistDict } from '../formats/plist-value.js';
import { trimVersionString } from './version.js';

/** A catalog indexed for lookups. */
export interface CatalogDb {
  /** name → trimmed version → items in catalog order. */
  named: Map<string, Map<string, PlistDict[]>>;
  /** Names that some item declares itself an update for (`update_for`, bare names). */
  updatedNames: Set<string>;
}

/** Indexes a catalog's items; items without a string name and version are skipped, as Munki does. */
export function indexCatalog(items: readonly unknown[]): CatalogDb {
  const named = new Map<string, Map<string, PlistDict[]>>();
  const updatedNames = new Set<string>();
  for (const item of items) {
    if (!isPlistDict(item)) continue;
    const name = item['name'];
    const version = item['version'];
    if (typeof name !== 'string' || typeof version !== 'string') continue;
    const key = name.normalize('NFC');
    let versions = named.get(key);
    if (!versions) named.set(key, (versions = new Map()));
    const v = trimVersionString(version);
    const list = versions.get(v);
    if (list) list.push(item);
    else versions.set(v, [item]);
    const updateFor = item['update_for'];
    for (const u of typeof updateFor === 'string'
      ? [updateFor]
      : Array.isArray(updateFor)
        ? updateFor
        : []) {
      if (typeof u === 'string') updatedNames.add(u);
    }
  }
  return { named, updatedNames };
}

/** True when the catalog has `name` (at `version`, compared trimmed, when one is given). */
export function catalogHas(db: CatalogDb, name: string, version?: string): boolean {
  const versions = db.named.get(name.normalize('NFC'));
  if (!versions) return false;
  return version === undefined || version === '' || versions.has(trimVersionString(version));
}
