/**
 * Building `installs` entries from a bundle's Info.plist, as Munki's makepkginfo does
 * (createInstallsItem in code/cli/munki/shared/admin/pkginfolib.swift): the bundle's identifiers and
 * versions, its minimum macOS, and which key the client should compare versions with.
 */
import { compareVersions, type InstallsItem } from '../../catalogs/index.js';
import { isPlistDict, type PlistDict } from '../../formats/index.js';

const COPIED_KEYS = [
  'CFBundleName',
  'CFBundleIdentifier',
  'CFBundleShortVersionString',
  'CFBundleVersion',
] as const;

/** An `installs` entry of type application or bundle for the bundle at `path` with Info.plist `info`. */
export function bundleInstallsItem(
  info: PlistDict,
  path: string,
  type: 'application' | 'bundle',
): InstallsItem {
  const item: InstallsItem = { type };
  for (const key of COPIED_KEYS) {
    const value = info[key];
    if (typeof value === 'string') item[key] = value;
  }
  const minOS = minimumSystemVersion(info);
  if (minOS !== undefined) item.minosversion = minOS;
  setComparisonKey(item);
  item.path = path;
  return item;
}

/** An `installs` entry of type plist for a plain property list carrying version keys. */
export function plistInstallsItem(plist: PlistDict, path: string): InstallsItem | undefined {
  const item: InstallsItem = { type: 'plist' };
  for (const key of ['CFBundleShortVersionString', 'CFBundleVersion'] as const) {
    const value = plist[key];
    if (typeof value === 'string') item[key] = value;
  }
  if (item.CFBundleShortVersionString === undefined && item.CFBundleVersion === undefined) {
    return undefined;
  }
  setComparisonKey(item);
  item.path = path;
  return item;
}

/** The version an installs entry expects: the value of its comparison key. */
export function installsItemVersion(item: InstallsItem): string | undefined {
  const value = item[item.version_comparison_key ?? 'CFBundleShortVersionString'];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The bundle's minimum macOS: LSMinimumSystemVersion, else the highest of
 * LSMinimumSystemVersionByArchitecture, else the old SystemVersionCheck:MinimumSystemVersion.
 */
function minimumSystemVersion(info: PlistDict): string | undefined {
  const direct = info['LSMinimumSystemVersion'];
  if (typeof direct === 'string' && direct !== '') return direct;
  const byArch = info['LSMinimumSystemVersionByArchitecture'];
  if (isPlistDict(byArch)) {
    const versions = Object.values(byArch).filter((v): v is string => typeof v === 'string');
    const highest = versions.sort(compareVersions).at(-1);
    if (highest !== undefined) return highest;
  }
  const legacy = info['SystemVersionCheck:MinimumSystemVersion'];
  return typeof legacy === 'string' && legacy !== '' ? legacy : undefined;
}

/**
 * A short version that does not start with a digit ("Build 5", "unknown") cannot be compared, so
 * the client is told to use CFBundleVersion instead, as Munki's makepkginfo does.
 */
function setComparisonKey(item: InstallsItem): void {
  const short = item.CFBundleShortVersionString;
  if (short !== undefined) {
    if (/^[0-9]/.test(short)) item.version_comparison_key = 'CFBundleShortVersionString';
    else if (item.CFBundleVersion !== undefined) item.version_comparison_key = 'CFBundleVersion';
  } else if (item.CFBundleVersion !== undefined) {
    item.version_comparison_key = 'CFBundleVersion';
  }
}
