/**
 * A pkginfo derived from a flat package (component or product) without macOS tools, following
 * Munki's makepkginfo (getPackageMetaData / getFlatPackageInfo in
 * code/cli/munki/shared/utils/pkgutils.swift) where it has a rule:
 * - receipts from each component's PackageInfo that has a payload (a payload-free component leaves
 *   no receipt), else from the Distribution's pkg-refs that carry a version and a file;
 * - version: the Distribution's product version, else the highest receipt version, else the
 *   highest component version (a payload-free package), else `0.0.0.0.0`;
 * - name: the file name without its extension and a trailing `-<version>` (Munki's rule);
 * - installed_size: the sum of the receipts' installKBytes; minimum_os_version: the highest
 *   `allowed-os-versions` minimum.
 * Beyond Munki: RestartAction is read from PackageInfo `postinstall-action` and pkg-ref
 * `onConclusion` (Munki asks `installer -query`), supported_architectures from
 * `hostArchitectures`, display_name from a Distribution `<title>` that is a real title, and an
 * `installs` entry per application bundle in the payloads (Munki needs the app installed for that).
 */
import { basename, extname } from 'node:path';
import { compareVersions, splitNameAndVersion } from '../../catalogs/index.js';
import type { InstallsItem, PkgInfo, Receipt } from '../../catalogs/index.js';
import {
  parseXml,
  readFlatPackage,
  xmlAttribute,
  xmlDescendants,
  type FlatPackage,
} from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import { findPayloadApps, type PayloadApp } from './app-bundles.js';
import { bundleInstallsItem } from './installs-item.js';
import { openItemFile } from './package-file.js';

/** What a flat package says about itself, as pkginfo keys, plus the apps found in its payloads. */
export interface FlatPackageFacts {
  pkginfo: PkgInfo;
  apps: PayloadApp[];
}

const RESTART_ORDER = ['RecommendRestart', 'RequireLogout', 'RequireRestart', 'RequireShutdown'];
const POSTINSTALL_ACTIONS: Readonly<Record<string, string>> = {
  restart: 'RequireRestart',
  logout: 'RequireLogout',
  shutdown: 'RequireShutdown',
};
const KNOWN_ARCHES = new Set(['arm64', 'x86_64']);

/** Reads the flat package at `path`; ARCHIVE_INVALID naming the file when it is not one. */
export async function pkginfoFromFlatPackage(path: string): Promise<FlatPackageFacts> {
  const opened = await openItemFile(path);
  try {
    const pkg = await named(path, readFlatPackage(opened.source));
    const apps = await named(path, findPayloadApps(pkg, path));
    return { pkginfo: await describePackage(pkg, path, apps), apps };
  } finally {
    await opened.close();
  }
}

/** Runs `work`, putting the package's path in front of an archive error's message. */
export async function named<T>(path: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof AppError && !e.message.startsWith(path)) {
      throw new AppError(e.code, `${path}: ${e.message}`, {
        cause: e,
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
    throw e;
  }
}

async function describePackage(
  pkg: FlatPackage,
  path: string,
  apps: readonly PayloadApp[],
): Promise<PkgInfo> {
  const dist = pkg.distribution;
  const receipts = receiptsOf(pkg);
  const version =
    dist?.productVersion ||
    highest(receipts.map((r) => r.version)) ||
    highest(pkg.components.map((c) => c.packageInfo.version)) ||
    '0.0.0.0.0';
  const stem = basename(path, extname(path));
  const pkginfo: PkgInfo = { name: splitNameAndVersion(stem).name, version };
  const title = dist?.title;
  if (title !== undefined && isRealTitle(title, pkg)) pkginfo.display_name = title;
  if (receipts.length > 0) pkginfo.receipts = receipts;
  const installedSize = receipts.reduce((n, r) => n + Number(r.installed_size ?? 0), 0);
  if (installedSize > 0) pkginfo.installed_size = installedSize;
  if (dist?.minOsVersion !== undefined) pkginfo.minimum_os_version = dist.minOsVersion;
  const arches = [...new Set(dist?.hostArchitectures.filter((a) => KNOWN_ARCHES.has(a)) ?? [])];
  if (arches.length > 0) pkginfo.supported_architectures = arches;
  const restart = await named(path, restartActionOf(pkg));
  if (restart !== undefined) pkginfo.RestartAction = restart;
  const installs: InstallsItem[] = apps.map((a) =>
    bundleInstallsItem(a.info, a.installPath, 'application'),
  );
  if (installs.length > 0) pkginfo.installs = installs;
  return pkginfo;
}

function receiptsOf(pkg: FlatPackage): Receipt[] {
  const fromComponents = pkg.components
    .filter((c) => c.packageInfo.payload !== undefined)
    .map(({ packageInfo: info }) => {
      const r: Receipt = { packageid: info.identifier, version: info.version };
      if (info.payload?.installKBytes !== undefined) r.installed_size = info.payload.installKBytes;
      return r;
    });
  if (fromComponents.length > 0 || pkg.distribution === undefined) return fromComponents;
  return pkg.distribution.pkgRefs
    .filter((ref) => ref.version !== undefined && ref.file !== undefined)
    .map((ref) => {
      const r: Receipt = { packageid: ref.id, version: ref.version ?? '' };
      if (ref.installKBytes !== undefined) r.installed_size = ref.installKBytes;
      return r;
    });
}

/** The strongest restart any component or pkg-ref asks for; undefined for none. */
async function restartActionOf(pkg: FlatPackage): Promise<string | undefined> {
  const asked = pkg.components.map(
    (c) => POSTINSTALL_ACTIONS[c.packageInfo.postinstallAction?.toLowerCase() ?? ''],
  );
  if (pkg.distribution !== undefined) {
    const root = parseXml(await pkg.archive.read('Distribution'), { what: 'Distribution' });
    for (const ref of xmlDescendants(root, 'pkg-ref')) {
      // productbuild writes `RequireLogOut`: installer compares without case.
      const wanted = xmlAttribute(ref, 'onConclusion')?.trim().toLowerCase();
      asked.push(RESTART_ORDER.find((r) => r.toLowerCase() === wanted));
    }
  }
  let strongest = -1;
  for (const a of asked)
    strongest = Math.max(strongest, a === undefined ? -1 : RESTART_ORDER.indexOf(a));
  return RESTART_ORDER[strongest];
}

/**
 * A title an admin would show users: not a localization key (`SU_TITLE`, resolved from
 * Localizable.strings we do not read) and not just an identifier of the package.
 */
function isRealTitle(title: string, pkg: FlatPackage): boolean {
  if (/^[A-Z0-9_]+$/.test(title) && title.includes('_')) return false;
  const ids = new Set(pkg.components.map((c) => c.packageInfo.identifier));
  if (pkg.distribution?.productId !== undefined) ids.add(pkg.distribution.productId);
  return !ids.has(title);
}

function highest(versions: readonly string[]): string | undefined {
  return [...versions]
    .filter((v) => v !== '')
    .sort(compareVersions)
    .at(-1);
}
