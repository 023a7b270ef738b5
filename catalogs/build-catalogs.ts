/**
 * Building catalogs from pkginfo files, as Munki's makecatalogs does, split in two pure steps so the
 * repo tool can cache the first per file:
 *   1. `prepareCatalogItem`: one parsed pkginfo → its stripped form and what the catalog step needs.
 *   2. `assignCatalogs`: every prepared item + the listing of pkgs/ → catalog membership and findings.
 * `buildCatalogs` composes both for library callers.
 */
import {
  isPlistDict,
  setDictKey,
  type PlistDict,
  type PlistValue,
} from '../formats/plist-value.js';

/** Stable kinds of catalog findings, for callers that decide severity themselves (`repo check`). */
export type CatalogFindingKind =
  | 'unreadable'
  | 'missing-name'
  | 'bad-catalogs'
  | 'no-catalogs'
  | 'empty-catalogs'
  | 'bad-catalog-name'
  | 'invalid-installer-item'
  | 'missing-installer-item'
  | 'installer-item-case'
  | 'skipped'
  | 'catalog-case-collision';

/** A warning or error about one pkginfo file, worded as Munki words it. */
export interface CatalogFinding {
  severity: 'warning' | 'error';
  kind: CatalogFindingKind;
  /** The file at fault, relative to the repo (`pkgsinfo/apps/Foo-1.0.plist`). */
  file: string;
  message: string;
}

/** How an item's installer items are to be checked against pkgs/. */
export type ItemCheck =
  | { exempt: true }
  | {
      exempt: false;
      /** installer_item_location, or null when it is missing, empty or not a string. */
      installer: string | null;
      /** uninstaller_item_location: undefined when the key is absent, null when invalid. */
      uninstaller?: string | null;
    };

/** What the catalog step needs to know about one pkginfo; plain data, so it can be cached. */
export interface CatalogCandidate {
  /** Path relative to pkgsinfo/, with `/` separators. */
  file: string;
  name: string;
  /** Catalog names in file order; undefined when the pkginfo has no usable catalogs array. */
  catalogs: string[] | undefined;
  check: ItemCheck;
}

/** A prepared pkginfo: the candidate plus the stripped dictionary that goes into catalogs. */
export interface PreparedItem {
  candidate: CatalogCandidate;
  pkginfo: PlistDict;
}

/** The result of the pure per-file step. */
export interface PrepareResult {
  item?: PreparedItem;
  findings: CatalogFinding[];
}

const EXEMPT_TYPES = new Set(['nopkg', 'apple_update_metadata']);

function repoPath(file: string): string {
  return `pkgsinfo/${file}`;
}

/** True for keys makecatalogs removes: `notes` and anything starting with `_` (e.g. `_metadata`). */
export function isStrippedKey(key: string): boolean {
  return key === 'notes' || key.startsWith('_');
}

function nonEmptyString(v: PlistValue | undefined): v is string {
  return typeof v === 'string' && v.length > 0;
}

/**
 * The top-level pkginfo keys prepareCatalogItem reads to make its candidate and findings (it copies
 * the others into `pkginfo` without looking at them): given a dict of just these keys, it returns
 * the same candidate and findings as for the whole pkginfo.
 */
export const CATALOG_CHECK_KEYS = [
  'name',
  'catalogs',
  'installer_type',
  'installer_item_location',
  'uninstaller_item_location',
  'PackageURL',
  'PackageCompleteURL',
] as const;

/**
 * Turns one parsed pkginfo into its catalog form: strips `notes` and `_*` keys and records what
 * assignCatalogs needs. A value that is not a dict, or has no name, is skipped with Munki's warning.
 * The candidate and findings depend only on the keys in CATALOG_CHECK_KEYS; keep that list in step
 * when this function starts reading another key.
 */
export function prepareCatalogItem(file: string, value: PlistValue): PrepareResult {
  const where = repoPath(file);
  const name = isPlistDict(value) ? value['name'] : undefined;
  if (!isPlistDict(value) || name === undefined) {
    return {
      findings: [
        {
          severity: 'warning',
          file: where,
          kind: 'missing-name',
          message: `${where} is missing name key`,
        },
      ],
    };
  }
  if (typeof name !== 'string' || name.length === 0) {
    return {
      findings: [
        {
          severity: 'warning',
          kind: 'missing-name',
          file: where,
          message: `${where} has a name that is not a non-empty string`,
        },
      ],
    };
  }
  const pkginfo: PlistDict = {};
  for (const key of Object.keys(value)) {
    if (isStrippedKey(key)) continue;
    setDictKey(pkginfo, key, value[key]!);
  }

  const rawCatalogs = value['catalogs'];
  const catalogs = Array.isArray(rawCatalogs)
    ? rawCatalogs.filter((c): c is string => typeof c === 'string')
    : undefined;

  const findings: CatalogFinding[] = [];
  if (Array.isArray(rawCatalogs) && catalogs && catalogs.length !== rawCatalogs.length) {
    findings.push({
      severity: 'warning',
      kind: 'bad-catalogs',
      file: where,
      message: `${where} has catalog names that are not strings; they are ignored`,
    });
  }

  const installerType = value['installer_type'];
  const exempt =
    (typeof installerType === 'string' && EXEMPT_TYPES.has(installerType)) ||
    nonEmptyString(value['PackageCompleteURL']) ||
    nonEmptyString(value['PackageURL']);
  let check: ItemCheck;
  if (exempt) {
    check = { exempt: true };
  } else {
    const installer = value['installer_item_location'];
    check = { exempt: false, installer: nonEmptyString(installer) ? installer : null };
    if ('uninstaller_item_location' in value) {
      const uninstaller = value['uninstaller_item_location'];
      check.uninstaller = nonEmptyString(uninstaller) ? uninstaller : null;
    }
  }
  return { item: { candidate: { file, name, catalogs, check }, pkginfo }, findings };
}

/** The files under pkgs/, for the installer-item checks; paths relative to pkgs/ with `/`. */
export interface PkgsIndex {
  has(path: string): boolean;
  /** The real spelling of a path that matches only when case is ignored. */
  caseInsensitiveMatch(path: string): string | undefined;
}

/** Builds a PkgsIndex from a listing of pkgs/. */
export function indexPkgs(paths: Iterable<string>): PkgsIndex {
  const exact = new Set<string>();
  const folded = new Map<string, string>();
  for (const p of paths) {
    exact.add(p);
    const key = p.toLowerCase();
    if (!folded.has(key)) folded.set(key, p);
  }
  return {
    has: (p) => exact.has(p),
    caseInsensitiveMatch: (p) => folded.get(p.toLowerCase()),
  };
}

/** Options of the catalog step, as makecatalogs' flags. */
export interface AssignOptions {
  /** `--skip-pkg-check`: do not look for installer items in pkgs/. */
  skipPkgCheck?: boolean;
  /** `--force`: keep items whose installer item is missing. */
  force?: boolean;
}

/** Catalog name → indexes into the candidate list, in candidate order; `all` always present. */
export interface CatalogAssignment {
  catalogs: Map<string, number[]>;
  findings: CatalogFinding[];
}

/** True for a catalog name that can safely be a file name in catalogs/. */
export function isSafeCatalogName(name: string): boolean {
  return (
    name.length > 0 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\0]/.test(name) &&
    !name.startsWith('.')
  );
}

function checkLocation(
  where: string,
  key: 'installer_item_location' | 'uninstaller_item_location',
  location: string | null,
  pkgs: PkgsIndex,
  findings: CatalogFinding[],
): boolean {
  if (location === null) {
    findings.push({
      severity: 'warning',
      kind: 'invalid-installer-item',
      file: where,
      message: `${where} has an empty or invalid ${key}`,
    });
    return false;
  }
  // pkgs/ paths are relative; a leading slash in the pkginfo is tolerated as Munki's path join does.
  const normalized = location.replace(/^\/+/, '');
  if (pkgs.has(normalized)) return true;
  const other = pkgs.caseInsensitiveMatch(normalized);
  if (other !== undefined) {
    findings.push({
      severity: 'warning',
      kind: 'installer-item-case',
      file: where,
      message: `${where} ${key} "${location}" differs in case from pkgs/${other}; this fails on case-sensitive servers`,
    });
    return true;
  }
  findings.push({
    severity: 'warning',
    kind: 'missing-installer-item',
    file: where,
    message: `${where} refers to missing installer item: ${location}`,
  });
  return false;
}

/**
 * Decides catalog membership for prepared items, in the order given: every accepted item goes into
 * `all` and into each catalog it names (twice if named twice, as Munki does).
 */
export function assignCatalogs(
  candidates: readonly CatalogCandidate[],
  pkgs: PkgsIndex,
  options: AssignOptions = {},
): CatalogAssignment {
  const catalogs = new Map<string, number[]>([['all', []]]);
  const findings: CatalogFinding[] = [];
  candidates.forEach((c, index) => {
    const where = repoPath(c.file);
    if (!options.skipPkgCheck && !c.check.exempt) {
      let ok = checkLocation(where, 'installer_item_location', c.check.installer, pkgs, findings);
      if (c.check.uninstaller !== undefined) {
        ok =
          checkLocation(where, 'uninstaller_item_location', c.check.uninstaller, pkgs, findings) &&
          ok;
      }
      if (!ok) {
        if (!options.force) {
          findings.push({
            severity: 'warning',
            kind: 'skipped',
            file: where,
            message: `${where} is skipped (use --force to include it)`,
          });
          return;
        }
      }
    }
    catalogs.get('all')!.push(index);
    if (c.catalogs === undefined) {
      findings.push({
        severity: 'warning',
        kind: 'no-catalogs',
        file: where,
        message: `${where} has no catalogs array!`,
      });
      return;
    }
    if (c.catalogs.length === 0) {
      findings.push({
        severity: 'warning',
        kind: 'empty-catalogs',
        file: where,
        message: `${where} has an empty catalogs array!`,
      });
      return;
    }
    for (const name of c.catalogs) {
      if (!isSafeCatalogName(name)) {
        findings.push({
          severity: 'warning',
          kind: 'bad-catalog-name',
          file: where,
          message: `${where} names catalog "${name}", which is not a usable file name; ignored`,
        });
        continue;
      }
      let list = catalogs.get(name);
      if (!list) catalogs.set(name, (list = []));
      list.push(index);
    }
  });

  const byFolded = new Map<string, string[]>();
  for (const name of catalogs.keys()) {
    const key = name.toLowerCase();
    byFolded.set(key, [...(byFolded.get(key) ?? []), name]);
  }
  for (const names of byFolded.values()) {
    if (names.length > 1) {
      findings.push({
        severity: 'warning',
        kind: 'catalog-case-collision',
        file: 'catalogs/',
        message: `catalog names differ only by case: ${names.sort().join(', ')}; they collide on case-insensitive file systems`,
      });
    }
  }
  return { catalogs, findings };
}

/** One pkginfo handed to buildCatalogs: its path under pkgsinfo/ and its parsed value. */
export interface PkgInfoInput {
  file: string;
  value: PlistValue;
}

/** The catalogs of a repo: name → stripped pkginfo dicts, plus every finding. */
export interface BuiltCatalogs {
  catalogs: Map<string, PlistDict[]>;
  findings: CatalogFinding[];
  /** The pkgsinfo/ path each catalog item came from. */
  sources: Map<PlistDict, string>;
}

/**
 * Builds Munki catalogs from parsed pkginfo files (sorted by file path for deterministic output) and
 * the listing of pkgs/; the pure core of `repo makecatalogs`.
 */
export function buildCatalogs(
  pkginfos: readonly PkgInfoInput[],
  pkgs: Iterable<string>,
  options: AssignOptions = {},
): BuiltCatalogs {
  const sorted = [...pkginfos].sort((a, b) => compareRepoPaths(a.file, b.file));
  const findings: CatalogFinding[] = [];
  const prepared: PreparedItem[] = [];
  const sources = new Map<PlistDict, string>();
  for (const input of sorted) {
    const result = prepareCatalogItem(input.file, input.value);
    findings.push(...result.findings);
    if (result.item) {
      prepared.push(result.item);
      sources.set(result.item.pkginfo, input.file);
    }
  }
  const assignment = assignCatalogs(
    prepared.map((p) => p.candidate),
    indexPkgs(pkgs),
    options,
  );
  findings.push(...assignment.findings);
  const catalogs = new Map<string, PlistDict[]>();
  for (const [name, indexes] of assignment.catalogs) {
    catalogs.set(
      name,
      indexes.map((i) => prepared[i]!.pkginfo),
    );
  }
  return { catalogs, findings, sources };
}

/** The one order used for repo paths everywhere: by UTF-16 code unit, so it is the same on every machine. */
export function compareRepoPaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
