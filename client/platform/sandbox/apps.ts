/**
 * The installed applications, found by scanning the application folders (not Spotlight):
 * `/Applications/*.app`, one folder deeper (`/Applications/Utilities/*.app`, a vendor's folder),
 * and the same two levels of `/System/Applications`. Each bundle's `Contents/Info.plist` gives its
 * id, name and version. Used by the sandbox under its root and by the macOS platform under `/`.
 *
 * Munki asks Spotlight and LaunchServices instead, which also finds apps elsewhere (home folders,
 * deeper nesting); a scan is deterministic, works with Spotlight indexing off, and is the same on
 * both platforms, so one contract test covers it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import type { Logger } from '../../../lib/log.js';
import type { AppInfo } from '../platform.js';
import { hostPathFor } from './files.js';

/** The macOS folders scanned for applications. */
export const APPLICATION_FOLDERS = ['/Applications', '/System/Applications'] as const;

/** What Munki reports for an app whose bundle names no version. */
const NO_VERSION = '0.0.0.0.0';

/** Every application bundle in the application folders under `root`, sorted by path. */
export async function scanApplications(root: string, logger: Logger): Promise<AppInfo[]> {
  const bundles: string[] = [];
  for (const folder of APPLICATION_FOLDERS) {
    for (const entry of await listFolder(root, folder)) {
      const path = posix.join(folder, entry);
      if (entry.endsWith('.app')) {
        bundles.push(path);
      } else if (await isFolder(root, path)) {
        for (const inner of await listFolder(root, path)) {
          if (inner.endsWith('.app')) bundles.push(posix.join(path, inner));
        }
      }
    }
  }
  const apps: AppInfo[] = [];
  for (const path of bundles.sort()) {
    if (!(await isFolder(root, path))) continue;
    apps.push(await readBundle(root, path, logger));
  }
  return apps;
}

/** One bundle's entry; a bundle without a readable Info.plist still counts, with empty fields. */
async function readBundle(root: string, path: string, logger: Logger): Promise<AppInfo> {
  const folderName = posix.basename(path).replace(/\.app$/, '');
  const infoPath = posix.join(path, 'Contents', 'Info.plist');
  const host = hostPathFor(root, infoPath);
  try {
    if (host === undefined) throw new Error('outside the root');
    const info = parsePlist(await readFile(host), { source: infoPath });
    if (!isPlistDict(info)) throw new Error('Info.plist is not a dictionary');
    const text = (key: string): string | undefined => {
      const v = info[key];
      return typeof v === 'string' && v.trim() !== '' ? v : undefined;
    };
    return {
      bundleid: text('CFBundleIdentifier') ?? '',
      name: text('CFBundleName') ?? folderName,
      path,
      version: text('CFBundleShortVersionString') ?? text('CFBundleVersion') ?? NO_VERSION,
    };
  } catch (e) {
    logger.debug('apps.info.unreadable', `${infoPath}: ${(e as Error).message}`, { path });
    return { bundleid: '', name: folderName, path, version: '' };
  }
}

/** Names in a macOS folder under the root, without dot files; none when it is missing. */
async function listFolder(root: string, folder: string): Promise<string[]> {
  const host = hostPathFor(root, folder);
  if (host === undefined) return [];
  try {
    return (await readdir(host)).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

async function isFolder(root: string, path: string): Promise<boolean> {
  const host = hostPathFor(root, path);
  if (host === undefined) return false;
  try {
    return (await stat(host)).isDirectory();
  } catch {
    return false;
  }
}
