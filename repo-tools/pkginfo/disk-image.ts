/**
 * A pkginfo for a disk image, as Munki's makepkginfo builds one (createPkgInfoFromDmg): the image is
 * attached read-only with hdiutil, then `--pkgname`'s package, else the first package at its root,
 * is described like any flat package; without one it is a drag-and-drop image and its app (the
 * `--item`, else the first `.app` at the root) becomes a copy_from_dmg item. Always detached after.
 * UDIF images are compressed block devices only hdiutil reads, so this works on macOS only.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, posix } from 'node:path';
import type { ItemToCopy, PkgInfo } from '../../catalogs/index.js';
import { isPlistDict, parseAttachOutput, parsePlist } from '../../formats/index.js';
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { runCommand } from '../../lib/run-command.js';
import type { PayloadApp } from './app-bundles.js';
import { pkginfoFromFlatPackage } from './from-flat-package.js';
import { bundleInstallsItem, installsItemVersion } from './installs-item.js';
import type { PkginfoOptions } from './options.js';

/** Where Apple's tools are and which OS this is; injected so tests can use a fake hdiutil. */
export interface DiskImageContext {
  platform: NodeJS.Platform;
  /** Folder standing for `/` when finding `usr/bin/hdiutil` (`/` on a Mac). */
  toolRoot: string;
  logger: Logger;
}

/** What a disk image holds, as pkginfo keys, plus the apps of a package on it. */
export interface DiskImageFacts {
  pkginfo: PkgInfo;
  apps: PayloadApp[];
}

const TIMEOUT_MS = 600_000;

/** Describes the disk image at `path`; USAGE on a machine that is not a Mac. */
export async function pkginfoFromDiskImage(
  path: string,
  options: PkginfoOptions,
  ctx: DiskImageContext,
): Promise<DiskImageFacts> {
  if (ctx.platform !== 'darwin') {
    throw new AppError('USAGE', `${path}: a disk image can only be read on macOS, with hdiutil`, {
      hint: 'run this on a Mac, or pass the .pkg or .app from inside the image instead',
    });
  }
  const hdiutil = join(ctx.toolRoot, 'usr/bin/hdiutil');
  const argv = [
    hdiutil,
    'attach',
    '-plist',
    '-nobrowse',
    '-readonly',
    '-mountrandom',
    '/tmp',
    path,
  ];
  // An image with a licence agreement waits for an answer on stdin.
  const attached = await runCommand(argv, { stdin: 'Y\n', timeoutMs: TIMEOUT_MS });
  const parsed = parseAttachOutput(attached.stdout);
  if (attached.exitCode !== 0 || 'error' in parsed) {
    if ('mountPoint' in parsed) await detach(hdiutil, parsed.mountPoint, ctx.logger);
    const why = 'error' in parsed ? parsed.error : attached.stderr.trim().split('\n').at(-1);
    throw new AppError('ARCHIVE_INVALID', `${path}: hdiutil could not attach it: ${why ?? ''}`);
  }
  try {
    return await describeMounted(path, parsed.mountPoint, options);
  } finally {
    await detach(hdiutil, parsed.mountPoint, ctx.logger);
  }
}

async function describeMounted(
  dmg: string,
  mount: string,
  options: PkginfoOptions,
): Promise<DiskImageFacts> {
  if (options.pkgName !== undefined) {
    const relative = insideImage(options.pkgName);
    if (relative === undefined) {
      throw new AppError('USAGE', `--pkgname "${options.pkgName}" must stay inside the disk image`);
    }
    const facts = await pkginfoFromFlatPackage(join(mount, relative));
    return { pkginfo: { ...facts.pkginfo, package_path: relative }, apps: facts.apps };
  }
  const names = (await readdir(mount)).filter((n) => !n.startsWith('.')).sort();
  if (options.dmg.item === undefined) {
    const pkg = names.find((n) => /\.m?pkg$/i.test(n));
    if (pkg !== undefined) return pkginfoFromFlatPackage(join(mount, pkg));
  }
  const item = options.dmg.item ?? names.find((n) => /\.app$/i.test(n));
  if (item === undefined) {
    throw new AppError('USAGE', `${dmg}: no package or application at the root of the disk image`);
  }
  return { pkginfo: await dragAndDropPkginfo(dmg, mount, item, options), apps: [] };
}

/** Munki's copy_from_dmg pkginfo for the app `item` on the mounted image. */
async function dragAndDropPkginfo(
  dmg: string,
  mount: string,
  item: string,
  options: PkginfoOptions,
): Promise<PkgInfo> {
  // Munki accepts the item as a path under the mount point too.
  const relative = insideImage(item.startsWith(`${mount}/`) ? item.slice(mount.length + 1) : item);
  if (relative === undefined) {
    throw new AppError('USAGE', `--item "${item}" must stay inside the disk image`);
  }
  const infoPath = join(mount, relative, 'Contents/Info.plist');
  const bytes = await readFile(infoPath).catch(() => undefined);
  if (bytes === undefined || !(await stat(join(mount, relative))).isDirectory()) {
    throw new AppError('USAGE', `${dmg}: ${relative} is not an application bundle on the image`);
  }
  const info = parsePlist(bytes, { source: `${dmg}: ${relative}/Contents/Info.plist` });
  if (!isPlistDict(info)) {
    throw new AppError('PLIST_INVALID', `${dmg}: ${relative}/Contents/Info.plist is not a dict`);
  }
  const { destinationPath, destinationItem, user, group, mode } = options.dmg;
  const installPath = posix.join(
    destinationPath ?? '/Applications',
    basename(destinationItem ?? relative),
  );
  const installs = bundleInstallsItem(info, installPath, 'application');
  const bundleName = info['CFBundleName'];
  const copy: ItemToCopy = {
    source_item: relative,
    destination_path: destinationPath ?? '/Applications',
  };
  if (destinationItem !== undefined) copy.destination_item = destinationItem;
  if (user !== undefined) copy.user = user;
  if (group !== undefined) copy.group = group;
  if (mode !== undefined) copy.mode = mode;
  const pkginfo: PkgInfo = {
    name:
      typeof bundleName === 'string' && bundleName !== ''
        ? bundleName
        : basename(relative, extname(relative)),
    version: installsItemVersion(installs) ?? '0.0.0.0.0',
    installs: [installs],
    installer_type: 'copy_from_dmg',
    items_to_copy: [copy],
    uninstallable: true,
    uninstall_method: 'remove_copied_items',
  };
  if (installs.minosversion !== undefined) pkginfo.minimum_os_version = installs.minosversion;
  return pkginfo;
}

/** A relative path inside the image, normalized; undefined when it is empty or climbs out. */
function insideImage(path: string): string | undefined {
  const relative = posix.normalize(path.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (relative === '' || relative === '.' || relative.split('/').includes('..')) return undefined;
  return relative;
}

/** `hdiutil detach`, then once more with `-force`; a volume that stays is only a warning. */
async function detach(hdiutil: string, mountPoint: string, logger: Logger): Promise<void> {
  let why = '';
  for (const extra of [[], ['-force']]) {
    try {
      const r = await runCommand([hdiutil, 'detach', mountPoint, ...extra], { timeoutMs: 120_000 });
      if (r.exitCode === 0) return;
      why = r.stderr.trim();
    } catch (e) {
      why = describeError(e);
    }
  }
  logger.warn('makepkginfo.dmg.detach', `WARNING: could not detach ${mountPoint}: ${why}`);
}
