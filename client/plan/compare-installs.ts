/**
 * Munki's comparison of one `installs` item or receipt with the disk (compareItem /
 * compareReceipt in code/cli/munki/shared/updatecheck/compare.swift). A malformed item throws
 * {@link InstallsItemError}; callers apply Munki's error rule (installedState: installed,
 * someVersionInstalled: not installed).
 */
import { compareVersions } from '../../catalogs/index.js';
import { isPlistDict, type PlistDict, type PlistValue } from '../../formats/index.js';
import type { InstallEvidence } from './install-evidence.js';

/** Installed thing versus expected: Munki's MunkiComparisonResult (`different` counts as older). */
export type Comparison = 'notPresent' | 'older' | 'same' | 'newer';

/** A comparison, the version found (when one was read) and a sentence saying what was seen. */
export interface ComparisonResult {
  result: Comparison;
  version?: string;
  detail: string;
}

/** An `installs` item or receipt Munki cannot evaluate (no type, no version key, no path). */
export class InstallsItemError extends Error {
  override readonly name = 'InstallsItemError';
}

/** Compares one `installs` item (application, bundle, plist or file) with what is on disk. */
export async function compareInstallsItem(
  item: PlistDict,
  evidence: InstallEvidence,
): Promise<ComparisonResult> {
  const type = item['type'];
  if (typeof type !== 'string') throw new InstallsItemError('installs item has no type');
  switch (type) {
    case 'application':
      return compareApplication(item, evidence);
    case 'bundle':
      return compareBundle(item, evidence);
    case 'plist':
      return comparePlist(item, evidence);
    case 'file':
      return compareFile(item, evidence);
    default:
      throw new InstallsItemError(`unknown or unsupported installs item type: ${type}`);
  }
}

/** Compares one receipt with the installed package receipts; `optional` receipts always match. */
export function compareReceipt(receipt: PlistDict, evidence: InstallEvidence): ComparisonResult {
  if (receipt['optional'] === true) return { result: 'same', detail: 'optional receipt' };
  const pkgid = receipt['packageid'];
  const version = receipt['version'];
  if (typeof pkgid !== 'string' || typeof version !== 'string') {
    throw new InstallsItemError('receipt is missing packageid or version');
  }
  const installed = evidence.receipts.get(pkgid);
  if (!installed) return { result: 'notPresent', detail: `package ${pkgid} is not installed` };
  const result = fromOrdering(compareVersions(installed.version, version));
  return {
    result,
    version: installed.version,
    detail: `package ${pkgid} is version ${installed.version}, ${describe(result)} ${version}`,
  };
}

/** `<path>/<component>` as NSString appendingPathComponent builds it (no doubled slash). */
export function joinPath(path: string, component: string): string {
  const base = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return base.endsWith('/') ? base + component : `${base}/${component}`;
}

/** Apps under a user's home are not inventory, except /Users/Shared (Munki's filteredAppData). */
export function isInventoryPath(path: string): boolean {
  return path !== '' && (!path.startsWith('/Users/') || path.startsWith('/Users/Shared/'));
}

async function compareApplication(
  item: PlistDict,
  evidence: InstallEvidence,
): Promise<ComparisonResult> {
  const path = item['path'];
  if (typeof path === 'string') {
    if (!(await evidence.exists(path))) return absent(`${path} is not present`);
    if (!(await evidence.exists(joinPath(path, 'Contents/Info.plist')))) {
      return absent(`${path} has no Contents/Info.plist`);
    }
    return compareBundle(item, evidence);
  }
  const bundleName = stringOr(item['CFBundleName'], '');
  const bundleId = stringOr(item['CFBundleIdentifier'], '');
  if (bundleName === '' && bundleId === '') {
    throw new InstallsItemError('application item has no path, CFBundleName or CFBundleIdentifier');
  }
  // Munki matches on bundle id OR name; an empty key on our side matches nothing (Munki's
  // placeholder strings make that so for apps lacking the key, too). [inf]
  const apps = evidence.applications
    .filter(
      (app) =>
        isInventoryPath(app.path) &&
        ((bundleId !== '' && app.bundleid === bundleId) ||
          (bundleName !== '' && app.name === bundleName)),
    )
    .sort((a, b) => compareVersions(b.version, a.version));
  if (apps.length === 0) return absent(`no application ${bundleId || bundleName} is installed`);
  let older: ComparisonResult | undefined;
  for (const app of apps) {
    const found = await compareBundle({ ...item, path: app.path }, evidence);
    if (found.result === 'same' || found.result === 'newer') return found;
    if (found.result === 'older') older ??= found;
  }
  return older ?? absent(`no matching application has a readable version`);
}

async function compareBundle(
  item: PlistDict,
  evidence: InstallEvidence,
): Promise<ComparisonResult> {
  const path = item['path'];
  if (typeof path !== 'string') return absent('bundle item has no path');
  let info = joinPath(path, 'Contents/Info.plist');
  if (!(await evidence.exists(info))) {
    info = joinPath(path, 'Resources/Info.plist');
    if (!(await evidence.exists(info))) return absent(`${path} has no Info.plist`);
  }
  return comparePlist({ ...item, path: info }, evidence, path);
}

async function comparePlist(
  item: PlistDict,
  evidence: InstallEvidence,
  shownPath?: string,
): Promise<ComparisonResult> {
  const key = stringOr(item['version_comparison_key'], 'CFBundleShortVersionString');
  const path = item['path'];
  const expected = item[key];
  if (typeof path !== 'string' || typeof expected !== 'string') {
    throw new InstallsItemError(`installs item ${String(path)} has no path or no ${key}`);
  }
  const where = shownPath ?? path;
  if (!(await evidence.exists(path))) return absent(`${where} is not present`);
  const plist = await evidence.readPlist(path);
  if (!isPlistDict(plist)) return absent(`${path} cannot be read as a plist`);
  // An explicit version_comparison_key (even a non-string one) means: that key only.
  const installed = Object.hasOwn(item, 'version_comparison_key')
    ? stringOr(plist[key], '')
    : bundleVersionOf(plist);
  if (installed === '') return absent(`${where} has no version`);
  const minimum = item['minimum_update_version'];
  if (typeof minimum === 'string' && compareVersions(installed, minimum) < 0) {
    return {
      result: 'notPresent',
      version: installed,
      detail: `${where} is version ${installed}, too old to update (minimum_update_version ${minimum})`,
    };
  }
  const result = fromOrdering(compareVersions(installed, expected));
  return {
    result,
    version: installed,
    detail: `${where} is version ${installed}, ${describe(result)} ${expected}`,
  };
}

async function compareFile(item: PlistDict, evidence: InstallEvidence): Promise<ComparisonResult> {
  const path = item['path'];
  if (typeof path !== 'string') throw new InstallsItemError('file item has no path');
  if (!(await evidence.exists(path))) return absent(`${path} is not present`);
  const expected = item['md5checksum'];
  if (typeof expected !== 'string') return { result: 'same', detail: `${path} exists` };
  const actual = await evidence.md5(path);
  return actual === expected
    ? { result: 'same', detail: `${path} has the expected checksum` }
    : { result: 'older', detail: `${path} has checksum ${String(actual)}, expected ${expected}` };
}

/** CFBundleShortVersionString, else CFBundleVersion, else '' (Munki's getVersionString). */
export function bundleVersionOf(plist: PlistDict): string {
  for (const key of ['CFBundleShortVersionString', 'CFBundleVersion']) {
    const v = plist[key];
    if (typeof v === 'string') return v;
  }
  return '';
}

function absent(detail: string): ComparisonResult {
  return { result: 'notPresent', detail };
}

function fromOrdering(order: -1 | 0 | 1): Comparison {
  return order < 0 ? 'older' : order > 0 ? 'newer' : 'same';
}

function describe(result: Comparison): string {
  return result === 'older' ? 'older than' : result === 'newer' ? 'newer than' : 'the same as';
}

function stringOr(value: PlistValue | undefined, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}
