/**
 * `-f PATH`: an `installs` entry for something on this machine, as Munki's makepkginfo builds it
 * (createInstallsItem): a bundle (its Info.plist's identifiers and versions; `application` when it
 * is an app), a property list with version keys, or else a file (with its MD5) or folder.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { InstallsItem } from '../../catalogs/index.js';
import { isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import { bundleInstallsItem, plistInstallsItem } from './installs-item.js';

/** The installs entry for `path`; USAGE naming it when it does not exist. */
export async function fileInstallsItem(path: string): Promise<InstallsItem> {
  // Munki drops a trailing slash, as `Foo.app/` names the same bundle.
  const full = resolve(path.length > 1 ? path.replace(/\/+$/, '') : path);
  const info = await stat(full).catch(() => undefined);
  if (info === undefined) throw new AppError('USAGE', `-f ${path}: no such file or folder`);
  if (info.isDirectory()) {
    const plist = await bundleInfo(full);
    if (plist !== undefined) {
      const type = (await isApplication(full, plist)) ? 'application' : 'bundle';
      const item = bundleInstallsItem(plist, full, type);
      if (item.CFBundleShortVersionString !== undefined || item.CFBundleVersion !== undefined) {
        return item;
      }
    }
    return { type: 'file', path: full };
  }
  const bytes = await readFile(full);
  const plist = parseQuietly(bytes);
  const fromPlist = plist === undefined ? undefined : plistInstallsItem(plist, full);
  if (fromPlist !== undefined) return fromPlist;
  return { type: 'file', path: full, md5checksum: createHash('md5').update(bytes).digest('hex') };
}

/** A bundle's Contents/Info.plist, else Resources/Info.plist; undefined when neither reads. */
async function bundleInfo(bundle: string): Promise<PlistDict | undefined> {
  for (const rel of ['Contents/Info.plist', 'Resources/Info.plist']) {
    const bytes = await readFile(join(bundle, rel)).catch(() => undefined);
    if (bytes === undefined) continue;
    return parseQuietly(bytes);
  }
  return undefined;
}

/** `.app`, or an extension-less folder shaped like an app (APPL with an executable), as Munki tests. */
async function isApplication(bundle: string, plist: PlistDict): Promise<boolean> {
  if (bundle.endsWith('.app')) return true;
  if (extname(bundle) !== '') return false;
  const type = plist['CFBundlePackageType'];
  if (typeof type === 'string' && type !== 'APPL') return false;
  const exe = plist['CFBundleExecutable'] ?? plist['CFBundleName'];
  if (typeof exe !== 'string') return false;
  return (await stat(join(bundle, 'Contents/MacOS', exe)).catch(() => undefined)) !== undefined;
}

function parseQuietly(bytes: Uint8Array): PlistDict | undefined {
  try {
    const value = parsePlist(bytes);
    return isPlistDict(value) ? value : undefined;
  } catch {
    return undefined; // not a plist: the caller treats it as a plain file
  }
}
