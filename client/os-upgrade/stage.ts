/**
 * Putting an Install macOS app in place and finding it. The app comes from one of three sources:
 * - a package (installer_item_location ends in .pkg), installed as any package is (Apple's own
 *   InstallAssistant.pkg puts the app in /Applications), really installed under the sandbox root;
 * - a disk image (.dmg) with the app at its root, copied to /Applications (items_to_copy when the
 *   pkginfo has it, else `<display_name>.app`), as copy_from_dmg does; macOS only;
 * - no installer item at all: `softwareupdate --fetch-full-installer --full-installer-version
 *   <version>` downloads it from Apple.
 * Then the app is the first of: the items_to_copy destination, an `installs` application path,
 * `/Applications/<display_name>.app`, or the one `/Applications/Install macOS*.app` holding a
 * startosinstall; several candidates without a hint are an error rather than a guess.
 */
import { posix } from 'node:path';
import type { PlistDict, PlistValue } from '../../formats/index.js';
import { isPlistDict } from '../../formats/index.js';
import type { Logger } from '../../lib/log.js';
import { copiedItemPaths } from '../install/apply-item.js';
import type { PackageInstallProgress, Platform } from '../platform/platform.js';
import { fetchFullInstaller } from './fetch-full-installer.js';
import { STARTOSINSTALL_IN_APP } from './run-startosinstall.js';

/** What staging needs. */
export interface StageContext {
  platform: Platform;
  logger: Logger;
  /** Time limit of softwareupdate --fetch-full-installer. */
  fetchTimeoutMs: number;
  onProgress?: (progress: PackageInstallProgress) => void;
}

/** Where the Install macOS app came from, or why it could not be had. */
export type StageResult =
  | { ok: true; appPath: string; source: 'package' | 'disk image' | 'softwareupdate' | 'staged' }
  | { ok: false; error: string };

/** A macOS path that stays under the root: absolute, no `..`. */
export function isContainedMacPath(path: string): boolean {
  return path.startsWith('/') && !path.split('/').includes('..');
}

const text = (v: PlistValue | undefined): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

/** The paths the pkginfo itself names for the app, most specific first. */
export function namedAppPaths(item: PlistDict): string[] {
  const out = copiedItemPaths(item['items_to_copy']).filter((p) => p.endsWith('.app'));
  const installs = Array.isArray(item['installs']) ? item['installs'] : [];
  for (const i of installs) {
    if (!isPlistDict(i) || i['type'] !== 'application') continue;
    const path = text(i['path']);
    if (path !== undefined) out.push(path);
  }
  const displayName = text(item['display_name']);
  if (displayName !== undefined && !displayName.includes('/'))
    out.push(`/Applications/${displayName}.app`);
  return out;
}

/** The installed Install macOS app for this item; undefined (with why) when there is none. */
export async function findInstallerApp(
  platform: Platform,
  item: PlistDict,
): Promise<{ appPath?: string; error?: string }> {
  const hasTool = (app: string): Promise<boolean> =>
    platform.exists(posix.join(app, STARTOSINSTALL_IN_APP));
  const named = namedAppPaths(item);
  const unsafe = named.find((p) => !isContainedMacPath(p));
  if (unsafe !== undefined) return { error: `refusing the app path ${unsafe}: it leaves the root` };
  for (const path of named) if (await hasTool(path)) return { appPath: path };
  const found: string[] = [];
  for (const app of await platform.listApplications()) {
    const inApplications = posix.dirname(app.path) === '/Applications';
    if (
      inApplications &&
      /^Install macOS /.test(posix.basename(app.path)) &&
      (await hasTool(app.path))
    )
      found.push(app.path);
  }
  const [only] = found;
  if (only !== undefined && found.length === 1) return { appPath: only };
  if (found.length > 1) {
    return {
      error: `several Install macOS apps are in /Applications (${found.join(', ')}); name the one to use in the pkginfo's installs`,
    };
  }
  return { error: 'no Install macOS app with a startosinstall was found in /Applications' };
}

/** Gets the Install macOS app in place from `installerPath` (or Apple) and returns its path. */
export async function stageInstaller(
  ctx: StageContext,
  item: PlistDict,
  installerPath: string | undefined,
): Promise<StageResult> {
  const { platform } = ctx;
  let source: 'package' | 'disk image' | 'softwareupdate';
  if (installerPath === undefined) {
    const version = text(item['version']) ?? '';
    const error = await fetchFullInstaller({
      root: platform.paths.root,
      version,
      timeoutMs: ctx.fetchTimeoutMs,
      logger: ctx.logger,
    });
    if (error !== undefined) return { ok: false, error };
    source = 'softwareupdate';
  } else if (/\.(dmg|iso)$/i.test(installerPath)) {
    const displayName = text(item['display_name']) ?? text(item['name']) ?? '';
    const itemsToCopy = item['items_to_copy'] ?? [
      { source_item: `${displayName}.app`, destination_path: '/Applications' },
    ];
    const copy = await platform.copyFromDmg(installerPath, itemsToCopy, {
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
    if (!copy.ok) return { ok: false, error: copy.error ?? 'copying the installer app failed' };
    source = 'disk image';
  } else {
    const r = await platform.installPackage(installerPath, {
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
    if (!r.ok) return { ok: false, error: r.error ?? 'installing the installer package failed' };
    source = 'package';
  }
  const found = await findInstallerApp(platform, item);
  if (found.appPath === undefined)
    return { ok: false, error: `after staging from ${source}: ${found.error ?? 'no app'}` };
  return { ok: true, appPath: found.appPath, source };
}
