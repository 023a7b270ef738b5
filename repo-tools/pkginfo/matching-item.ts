/**
 * Which item already in the repo a new import resembles, in munkiimport's order
 * (findMatchingPkginfo in code/cli/munki/shared/admin/munkiimportlib.swift): the same installer item
 * hash (identical), else the same set of receipt package ids, else the same application path in
 * `installs`, else the same installer item file name once versions are stripped; among several
 * candidates the highest version wins.
 */
import { basename, extname } from 'node:path';
import { compareVersions, splitNameAndVersion, type PkgInfo } from '../../catalogs/index.js';
import { isPlistDict, type PlistValue } from '../../formats/index.js';

/** An existing item and how it matched. */
export interface MatchingItem {
  item: PkgInfo;
  /** `hash`: the very same installer item is already in the repo. */
  by: 'hash' | 'receipts' | 'application' | 'installer-item-name';
}

/** The existing item (from `catalogs/all`) that `pkginfo` resembles most, if any. */
export function findMatchingItem(
  all: readonly PlistValue[],
  pkginfo: PkgInfo,
): MatchingItem | undefined {
  const items = all.filter(
    (i): i is PkgInfo =>
      isPlistDict(i) && typeof i['name'] === 'string' && typeof i['version'] === 'string',
  );
  const newest = (candidates: PkgInfo[]): PkgInfo | undefined =>
    candidates.reduce<PkgInfo | undefined>(
      (best, c) => (best === undefined || compareVersions(c.version, best.version) > 0 ? c : best),
      undefined,
    );

  const hash = pkginfo.installer_item_hash;
  const sameHash =
    hash === undefined ? undefined : items.find((i) => i.installer_item_hash === hash);
  if (sameHash !== undefined) return { item: sameHash, by: 'hash' };

  const ids = receiptIds(pkginfo);
  if (ids.length > 0) {
    const wanted = new Set(ids);
    const match = newest(
      items.filter((i) => {
        const theirs = new Set(receiptIds(i));
        return (
          theirs.has(ids[0]!) &&
          theirs.size === wanted.size &&
          [...theirs].every((id) => wanted.has(id))
        );
      }),
    );
    if (match !== undefined) return { item: match, by: 'receipts' };
  }

  const app = (pkginfo.installs ?? []).find((i) => i.type === 'application' && i.path)?.path;
  if (app !== undefined) {
    const match = newest(
      items.filter((i) =>
        (i.installs ?? []).some((x) => x.type === 'application' && x.path === app),
      ),
    );
    if (match !== undefined) return { item: match, by: 'application' };
  }

  const location = pkginfo.installer_item_location;
  if (location !== undefined) {
    const key = itemFileKey(location);
    const match = newest(
      items.filter(
        (i) =>
          i.installer_item_location !== undefined && itemFileKey(i.installer_item_location) === key,
      ),
    );
    if (match !== undefined) return { item: match, by: 'installer-item-name' };
  }
  return undefined;
}

function receiptIds(pkginfo: PkgInfo): string[] {
  return (Array.isArray(pkginfo.receipts) ? pkginfo.receipts : [])
    .map((r) => r.packageid)
    .filter((id): id is string => typeof id === 'string');
}

/** `apps/Firefox-120.0.dmg` → `Firefox.dmg`: the file name without its version. */
function itemFileKey(location: string): string {
  const file = basename(location);
  const ext = extname(file);
  return splitNameAndVersion(file.slice(0, file.length - ext.length)).name + ext;
}
