/**
 * Is an item installed? Munki's three questions (code/cli/munki/shared/updatecheck/
 * installationstate.swift): `installedState` (does this version need installing?),
 * `someVersionInstalled` (is any version there? — managed_updates, optional installs) and
 * `evidenceThisIsInstalled` (may there be something to remove?). Each checks, in order: OnDemand,
 * scripts, macOS installers, `installs` items, then `receipts`; an item with none of these counts
 * as installed, so a nopkg item without an installcheck_script never installs.
 */
import { compareVersions, type PkgInfo } from '../../catalogs/index.js';
import { isPlistDict, type PlistDict, type PlistValue } from '../../formats/index.js';
import {
  compareInstallsItem,
  compareReceipt,
  isInventoryPath,
  joinPath,
  type ComparisonResult,
} from './compare-installs.js';
import type { InstallEvidence } from './install-evidence.js';
import type { AppInfo } from '../platform/platform.js';

/** How the installed item compares with the pkginfo's version. */
export type InstallState = 'not-installed' | 'older' | 'same' | 'newer';

/** An installedState answer: `not-installed` and `older` both mean Munki would install. */
export interface InstalledStateResult {
  state: InstallState;
  /** The version found on disk, when one was read. */
  installedVersion?: string;
  /** Why, in a sentence an admin can check ("/Applications/Foo.app is version 1.0, older than 2.0"). */
  reason: string;
}

/** True for states in which Munki installs the item (its `thisVersionNotInstalled`). */
export function needsInstall(state: InstallState): boolean {
  return state === 'not-installed' || state === 'older';
}

/** Munki's installedState: compares what is installed with this pkginfo's version. */
export async function installedState(
  pkginfo: PkgInfo,
  evidence: InstallEvidence,
): Promise<InstalledStateResult> {
  if (pkginfo['OnDemand'] === true) {
    return { state: 'not-installed', reason: 'OnDemand items are never considered installed' };
  }
  const installcheck = pkginfo['installcheck_script'];
  if (typeof installcheck === 'string') {
    // installcheck_script overrides everything: exit 0 means "install me".
    const { exitCode } = await evidence.runScript(installcheck, 'installcheck_script');
    return exitCode === 0
      ? { state: 'not-installed', reason: 'installcheck_script exited 0 (install needed)' }
      : { state: 'same', reason: `installcheck_script exited ${exitCode} (no install needed)` };
  }
  if (typeof pkginfo['version_script'] === 'string') {
    const found = await compareWithVersionScript(pkginfo, evidence);
    return withVersion(stateOf(found), found);
  }
  const osInstaller = await osInstallerState(pkginfo, evidence);
  if (osInstaller) return osInstaller;

  const installs = dictArray(pkginfo['installs']);
  const checks = installs && installs.length > 0 ? installs : dictArray(pkginfo['receipts']);
  if (!checks) {
    return {
      state: 'same',
      reason: 'no installs, receipts or scripts to check: assumed installed',
    };
  }
  const kind = checks === installs ? 'installs item' : 'receipt';
  let newer: ComparisonResult | undefined;
  let last: ComparisonResult | undefined;
  for (const [index, check] of checks.entries()) {
    let found: ComparisonResult;
    try {
      found =
        checks === installs
          ? await compareInstallsItem(check, evidence)
          : compareReceipt(check, evidence);
    } catch (e) {
      // Munki's error rule: a check that cannot be evaluated must not cause an install.
      return {
        state: 'same',
        reason: `${kind} ${index} cannot be checked (${message(e)}): treated as installed`,
      };
    }
    if (found.result === 'notPresent' || found.result === 'older') {
      return withVersion(stateOf(found), found);
    }
    if (found.result === 'newer') newer ??= found;
    last = found;
  }
  const summary = newer ?? last;
  if (!summary) {
    // `receipts: []`: nothing to compare, so installed.
    return { state: 'same', reason: 'empty receipts list: assumed installed' };
  }
  return withVersion(newer ? 'newer' : 'same', summary);
}

/** Munki's someVersionInstalled: is any version of this item on the Mac? */
export async function someVersionInstalled(
  pkginfo: PkgInfo,
  evidence: InstallEvidence,
): Promise<boolean> {
  if (pkginfo['OnDemand'] === true) return false;
  const installcheck = pkginfo['installcheck_script'];
  if (typeof installcheck === 'string') {
    return (await evidence.runScript(installcheck, 'installcheck_script')).exitCode !== 0;
  }
  if (typeof pkginfo['version_script'] === 'string') {
    return (await compareWithVersionScript(pkginfo, evidence)).result !== 'notPresent';
  }
  if (isOsInstaller(pkginfo)) return true; // some macOS is always installed
  const installs = dictArray(pkginfo['installs']);
  const checks = installs && installs.length > 0 ? installs : dictArray(pkginfo['receipts']);
  for (const check of checks ?? []) {
    try {
      const found =
        checks === installs
          ? await compareInstallsItem(check, evidence)
          : compareReceipt(check, evidence);
      if (found.result === 'notPresent') return false;
    } catch {
      return false; // Munki's error rule for this question
    }
  }
  return true;
}

/**
 * Munki's evidenceThisIsInstalled, for removals. `installedNames` is the receipt analysis'
 * set of item names judged installed from receipts (see receipt-analysis.ts).
 */
export async function evidenceThisIsInstalled(
  pkginfo: PkgInfo,
  evidence: InstallEvidence,
  installedNames: () => ReadonlySet<string>,
): Promise<boolean> {
  if (pkginfo['OnDemand'] === true) return false;
  const uninstallcheck = pkginfo['uninstallcheck_script'];
  if (typeof uninstallcheck === 'string') {
    return (await evidence.runScript(uninstallcheck, 'uninstallcheck_script')).exitCode === 0;
  }
  const installcheck = pkginfo['installcheck_script'];
  if (typeof installcheck === 'string') {
    return (await evidence.runScript(installcheck, 'installcheck_script')).exitCode !== 0;
  }
  if (typeof pkginfo['version_script'] === 'string') {
    // only a positive answer counts; "not present" falls through to the other evidence
    if ((await compareWithVersionScript(pkginfo, evidence)).result !== 'notPresent') return true;
  }
  if (isOsInstaller(pkginfo)) return true;
  const installs = dictArray(pkginfo['installs']);
  if (installs && installs.length > 0 && pkginfo['uninstall_method'] !== 'removepackages') {
    // every installs item with a path must exist; items without one count as found
    let all = true;
    for (const item of installs) {
      const path = item['path'];
      if (typeof path === 'string' && !(await evidence.exists(path))) all = false;
    }
    if (all) return true;
  }
  const receipts = dictArray(pkginfo['receipts']);
  // the analysis keys names as the catalog index does: NFC
  if (receipts && receipts.length > 0) return installedNames().has(pkginfo.name.normalize('NFC'));
  return false;
}

/**
 * Munki's getInstalledVersion, used to report what is installed when it is newer: a receipt whose
 * version equals the pkginfo's, else an installs item whose CFBundleShortVersionString does;
 * 'UNKNOWN' when neither tells.
 */
export async function installedVersionOf(
  pkginfo: PkgInfo,
  evidence: InstallEvidence,
): Promise<string> {
  const itemVersion = pkginfo.version;
  for (const receipt of dictArray(pkginfo['receipts']) ?? []) {
    const pkgid = receipt['packageid'];
    const rv = receipt['version'];
    if (typeof pkgid === 'string' && typeof rv === 'string' && sameVersion(rv, itemVersion)) {
      const installed = evidence.receipts.get(pkgid);
      if (installed) return installed.version;
    }
  }
  for (const item of dictArray(pkginfo['installs']) ?? []) {
    const type = item['type'];
    const version = item['CFBundleShortVersionString'];
    if (typeof type !== 'string' || typeof version !== 'string') continue;
    if (!sameVersion(version, itemVersion)) continue;
    const path = typeof item['path'] === 'string' ? item['path'] : undefined;
    if (type === 'application') {
      const fromPlist = path && (await shortVersionAt(joinPath(path, 'Contents/Info.plist')));
      if (fromPlist) return fromPlist;
      const found = findApps(item, evidence)[0];
      if (found) return found.version;
    } else if (type === 'bundle' && path) {
      const v = await shortVersionAt(joinPath(path, 'Contents/Info.plist'));
      if (v) return v;
    } else if (type === 'plist' && path) {
      const v = await shortVersionAt(path);
      if (v) return v;
    }
  }
  return 'UNKNOWN';

  async function shortVersionAt(path: string): Promise<string | undefined> {
    const plist = await evidence.readPlist(path);
    if (!isPlistDict(plist)) return undefined;
    const v = plist['CFBundleShortVersionString'];
    return typeof v === 'string' ? v : 'UNKNOWN';
  }
}

/** Munki 7's version_script: its trimmed stdout is the installed version; exit ≠ 0 or '' = absent. */
async function compareWithVersionScript(
  pkginfo: PkgInfo,
  evidence: InstallEvidence,
): Promise<ComparisonResult> {
  const script = pkginfo['version_script'] as string;
  const { exitCode, stdout } = await evidence.runScript(script, 'version_script');
  if (exitCode !== 0) return { result: 'notPresent', detail: `version_script exited ${exitCode}` };
  const version = stdout.trim();
  if (version === '') return { result: 'notPresent', detail: 'version_script printed no version' };
  const order = compareVersions(version, pkginfo.version);
  const result = order < 0 ? 'older' : order > 0 ? 'newer' : 'same';
  return { result, version, detail: `version_script reports ${version} (${result})` };
}

/**
 * startosinstall / stage_os_installer: the running macOS (major.minor) against the installer's
 * major version (major.minor before Big Sur). A staged installer counts as `same`.
 */
async function osInstallerState(
  pkginfo: PkgInfo,
  evidence: InstallEvidence,
): Promise<InstalledStateResult | undefined> {
  const type = pkginfo['installer_type'];
  if (type !== 'startosinstall' && type !== 'stage_os_installer') return undefined;
  const os = evidence.osVersion.split('.').slice(0, 2).join('.');
  const parts = pkginfo.version.split('.');
  const major = parts[0] ?? '';
  const wanted = (Number.parseInt(major, 10) || 0) > 10 ? major : `${major}.${parts[1] ?? '0'}`;
  const order = compareVersions(os, wanted);
  const onOs = `macOS ${os} is running`;
  if (type === 'startosinstall') {
    if (order < 0)
      return {
        state: 'older',
        installedVersion: os,
        reason: `${onOs}; installer is for ${wanted}`,
      };
    return { state: order > 0 ? 'newer' : 'same', installedVersion: os, reason: onOs };
  }
  if (order >= 0) return { state: 'newer', installedVersion: os, reason: `${onOs} (≥ ${wanted})` };
  for (const item of dictArray(pkginfo['installs']) ?? []) {
    try {
      const found = await compareInstallsItem(item, evidence);
      if (found.result !== 'same') {
        return { state: 'not-installed', reason: `installer not staged: ${found.detail}` };
      }
    } catch (e) {
      return { state: 'same', reason: `installs item cannot be checked (${message(e)})` };
    }
  }
  return { state: 'same', reason: `installer for macOS ${wanted} is staged` };
}

function isOsInstaller(pkginfo: PkgInfo): boolean {
  const type = pkginfo['installer_type'];
  return type === 'startosinstall' || type === 'stage_os_installer';
}

function findApps(item: PlistDict, evidence: InstallEvidence): AppInfo[] {
  const name = typeof item['CFBundleName'] === 'string' ? item['CFBundleName'] : '';
  const id = typeof item['CFBundleIdentifier'] === 'string' ? item['CFBundleIdentifier'] : '';
  return evidence.applications
    .filter(
      (app) =>
        isInventoryPath(app.path) &&
        ((id !== '' && app.bundleid === id) || (name !== '' && app.name === name)),
    )
    .sort((a, b) => compareVersions(b.version, a.version));
}

function stateOf(found: ComparisonResult): InstallState {
  switch (found.result) {
    case 'notPresent':
      return 'not-installed';
    case 'older':
      return 'older';
    case 'newer':
      return 'newer';
    default:
      return 'same';
  }
}

function withVersion(state: InstallState, found: ComparisonResult): InstalledStateResult {
  const result: InstalledStateResult = { state, reason: found.detail };
  if (found.version !== undefined) result.installedVersion = found.version;
  return result;
}

function sameVersion(a: string, b: string): boolean {
  return compareVersions(a, b) === 0;
}

/** Munki casts with `as? [PlistDict]`: anything but an array of dictionaries is absent. */
function dictArray(value: PlistValue | undefined): PlistDict[] | undefined {
  return Array.isArray(value) && value.every(isPlistDict) ? (value as PlistDict[]) : undefined;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
