/**
 * Disk images on a Mac, as Munki handles them (installer/dmg.swift, utils/dmgutils.swift):
 *
 * - Mounting: `hdiutil attach <dmg> -nobrowse -mountRandom /tmp -noverify -plist`, Munki's own
 *   arguments (it skips verification when installing; a downloaded item's hash was checked
 *   already). stdin is `Y`: an image with a licence agreement waits for that answer, and one
 *   without ignores it (Munki asks `hdiutil imageinfo` first; answering always saves that call).
 *   The mount point is the first `system-entities` entry's `mount-point` in the plist printed;
 *   text hdiutil prints around the plist (a licence, warnings) is skipped.
 * - Unmounting, always (in a finally): `hdiutil detach <mount point>`, then once more with
 *   `-force` if that fails; a volume that still will not go is a warning, never the item's failure.
 * - copy_from_dmg, per items_to_copy entry (all checked before anything is mounted):
 *   `ditto -V --noqtn <src> <tmp>`, `xattr -dr com.apple.quarantine <tmp>` (ditto does not always
 *   drop it, as Munki notes), `chown -R user:group <tmp>` (default root:admin),
 *   `chmod -R <mode> <tmp>` (default `o-w,go+rX`), then an existing destination is removed and
 *   the copy renamed into place. `<tmp>` is a private folder beside the destination, so the final
 *   rename never crosses volumes (a rename cannot) and a half-done copy never sits at the
 *   destination. Missing parent folders are created with the nearest existing one's owner, group
 *   and mode, as Munki does.
 * - Packages: `package_path` (relative to the image's root) or the first `.pkg`/`.mpkg` at the
 *   root (names in order), installed by installPackageOnMac. Nested disk images (which Munki
 *   mounts in turn) are not opened.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, posix } from 'node:path';
import { isPlistDict, parseAttachOutput } from '../../../formats/index.js';
import type { PlistValue } from '../../../formats/index.js';
import { describeError } from '../../../lib/errors.js';
import { runCommand } from '../../../lib/run-command.js';
import type { CommandResult } from '../../../lib/run-command.js';
import type {
  CopyFromDmgOptions,
  CopyFromDmgResult,
  PackageInstallOptions,
  PackageInstallProgress,
  PackageInstallResult,
} from '../platform.js';
import { installPackageOnMac } from './install-package.js';
import type { MacosInstallContext } from './install-package.js';

/** The tools this module runs, by their real paths. */
export const DISK_IMAGE_TOOLS = {
  hdiutil: '/usr/bin/hdiutil',
  ditto: '/usr/bin/ditto',
  chown: '/usr/sbin/chown',
  chmod: '/bin/chmod',
  xattr: '/usr/bin/xattr',
} as const;

/** Munki's defaults for an items_to_copy entry's owner, group and mode. */
export const COPY_DEFAULTS = { user: 'root', group: 'admin', mode: 'o-w,go+rX' } as const;

/** One items_to_copy entry, checked: where from (on the image), where to, and how to own it. */
export interface CopySpec {
  /** Relative to the mount point, normalized, no `..`. */
  source: string;
  /** The full destination path (absolute). */
  destination: string;
  user: string;
  group: string;
  mode: string;
}

// Parsing hdiutil's plist lives in formats/ (shared with repo makepkginfo); re-exported for callers.
export { parseAttachOutput };

/** A relative path inside a mounted image, normalized; undefined when it is empty or has `..`. */
function insideImage(path: string): string | undefined {
  // Munki appends the name to the mount point, so a leading `/` still means the image's root.
  const relative = posix.normalize(path.replace(/^\/+/, ''));
  if (relative === '' || relative === '.' || relative.split('/').includes('..')) return undefined;
  return relative;
}

/** Checks items_to_copy (Munki's rules) before anything is mounted; the specs or why not. */
export function parseItemsToCopy(itemsToCopy: PlistValue): CopySpec[] | { error: string } {
  if (!Array.isArray(itemsToCopy) || itemsToCopy.length === 0) {
    return { error: 'items_to_copy lists no items to copy' };
  }
  const specs: CopySpec[] = [];
  for (const [index, item] of itemsToCopy.entries()) {
    const which = `items_to_copy[${index}]`;
    if (!isPlistDict(item)) return { error: `${which} is not a dictionary` };
    const text = (key: string): string | undefined => {
      const v = item[key];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const sourceItem = text('source_item');
    if (sourceItem === undefined) return { error: `${which} has no source_item` };
    const source = insideImage(sourceItem);
    if (source === undefined) {
      return { error: `${which}: source_item "${sourceItem}" must stay inside the disk image` };
    }
    // destination_path is the folder; destination_item the new name, or the whole path without it.
    let folder = text('destination_path');
    let name = text('destination_item');
    if (folder === undefined && name !== undefined) {
      folder = dirname(name);
      name = basename(name);
    }
    if (folder === undefined) return { error: `${which} has no destination_path` };
    // A relative destination would land wherever the client happens to run from.
    if (!isAbsolute(folder)) return { error: `${which}: destination "${folder}" is not absolute` };
    const destination = normalize(join(folder, name ?? basename(source)));
    const user = text('user') ?? COPY_DEFAULTS.user;
    const group = text('group') ?? COPY_DEFAULTS.group;
    // A leading `-` would reach chown as an option rather than an owner.
    if (user.startsWith('-') || group.startsWith('-') || user.includes(':')) {
      return { error: `${which}: user "${user}" or group "${group}" is not an owner` };
    }
    specs.push({ source, destination, user, group, mode: text('mode') ?? COPY_DEFAULTS.mode });
  }
  return specs;
}

/** What the disk image code needs of its platform (the package installer's context). */
export type DiskImageContext = MacosInstallContext;

/** Runs one tool (its real path mapped under the command root); a tool that cannot start throws. */
function run(
  ctx: DiskImageContext,
  argv: readonly string[],
  options: { timeoutMs: number; stdin?: string; onStderr?: (chunk: string) => void },
): Promise<CommandResult> {
  const [command = '', ...args] = argv;
  return runCommand([ctx.tool(command), ...args], options);
}

/** Why a finished command failed, in a line; undefined when it succeeded. */
function failure(argv: readonly string[], result: CommandResult): string | undefined {
  if (result.exitCode === 0 && !result.timedOut) return undefined;
  const how = result.timedOut ? 'timed out' : `exited with status ${result.exitCode ?? '?'}`;
  const tail = result.stderr.trim().split('\n').slice(-3).join(' ').trim();
  return `${argv[0] ?? 'command'} ${how}${tail === '' ? '' : `: ${tail}`}`;
}

/** Mounts `dmgPath`, runs `use` with the mount point, and always unmounts it afterwards. */
async function withMountedImage<T>(
  ctx: DiskImageContext,
  dmgPath: string,
  use: (mountPoint: string) => Promise<T>,
  failed: (error: string) => T,
): Promise<T> {
  const argv = [
    DISK_IMAGE_TOOLS.hdiutil,
    'attach',
    dmgPath,
    '-nobrowse',
    '-mountRandom',
    '/tmp',
    '-noverify',
    '-plist',
  ];
  let attached: CommandResult;
  try {
    attached = await run(ctx, argv, { timeoutMs: ctx.installTimeoutMs, stdin: 'Y\n' });
  } catch (e) {
    return failed(`cannot mount ${basename(dmgPath)}: ${describeError(e)}`);
  }
  const parsed = parseAttachOutput(attached.stdout);
  const why = failure(argv, attached) ?? ('error' in parsed ? parsed.error : undefined);
  if (why !== undefined || !('mountPoint' in parsed)) {
    // A timed-out or half-failed attach may still have mounted something: let it go if so.
    if ('mountPoint' in parsed) await detach(ctx, parsed.mountPoint);
    return failed(`cannot mount ${basename(dmgPath)}: ${why ?? 'no mount point'}`);
  }
  try {
    return await use(parsed.mountPoint);
  } finally {
    await detach(ctx, parsed.mountPoint);
  }
}

/** `hdiutil detach`, then `-force` once if that fails (Munki's unmountdmg); never throws. */
async function detach(ctx: DiskImageContext, mountPoint: string): Promise<void> {
  const argv = [DISK_IMAGE_TOOLS.hdiutil, 'detach', mountPoint];
  let why: string | undefined;
  for (const attempt of [argv, [...argv, '-force']]) {
    try {
      why = failure(attempt, await run(ctx, attempt, { timeoutMs: ctx.queryTimeoutMs }));
    } catch (e) {
      why = describeError(e);
    }
    if (why === undefined) return;
    ctx.logger.warn('dmg.detach.failed', `unmounting ${mountPoint}: ${why}`, { mountPoint });
  }
}

/** Munki's copy_from_dmg on a Mac (see the module comment). */
export async function copyFromDmgOnMac(
  ctx: DiskImageContext,
  dmgPath: string,
  itemsToCopy: PlistValue,
  options: CopyFromDmgOptions = {},
): Promise<CopyFromDmgResult> {
  const specs = parseItemsToCopy(itemsToCopy);
  if (!Array.isArray(specs)) return { ok: false, error: specs.error, copied: [] };
  const copied: string[] = [];
  const report = options.onProgress ?? ((): void => {});
  return withMountedImage(
    ctx,
    dmgPath,
    async (mountPoint) => {
      for (const spec of specs) {
        const error = await copyOne(ctx, mountPoint, spec, report);
        if (error !== undefined) return { ok: false, error, copied };
        copied.push(spec.destination);
      }
      return { ok: true, copied };
    },
    (error) => ({ ok: false, error, copied }),
  );
}

/** Copies one checked item from the mounted image into place; why it failed, if it did. */
async function copyOne(
  ctx: DiskImageContext,
  mountPoint: string,
  spec: CopySpec,
  report: (progress: PackageInstallProgress) => void,
): Promise<string | undefined> {
  const source = join(mountPoint, spec.source);
  if ((await lstat(source).catch(() => undefined)) === undefined) {
    return `source_item ${spec.source} is not on the disk image`;
  }
  const folder = dirname(spec.destination);
  let work: string | undefined;
  try {
    await createMissingFolders(folder);
    work = await mkdtemp(join(folder, '.abbot-copy-'));
    const temp = join(work, basename(spec.destination));
    report({ status: `Copying ${basename(source)} to ${spec.destination}` });

    const total = Math.max(await sizeOf(source), 1);
    let done = 0;
    let rest = '';
    // ditto -V reports each file as `<n> bytes for <path>` on stderr: Munki's progress source.
    const onStderr = (chunk: string): void => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const words = line.trim().split(/\s+/);
        if (words[1] !== 'bytes') continue;
        done += Number.parseInt(words[0] ?? '', 10) || 0;
        report({ percent: Math.min(100, (done / total) * 100) });
      }
    };
    const ditto = [DISK_IMAGE_TOOLS.ditto, '-V', '--noqtn', source, temp];
    const copiedWhy = failure(
      ditto,
      await run(ctx, ditto, { timeoutMs: ctx.installTimeoutMs, onStderr }),
    );
    if (copiedWhy !== undefined) return `copying ${spec.source}: ${copiedWhy}`;

    // ditto --noqtn does not always drop it (Munki's note); a failure here only warns, as there.
    const xattr = [DISK_IMAGE_TOOLS.xattr, '-dr', 'com.apple.quarantine', temp];
    const xattrWhy = failure(xattr, await run(ctx, xattr, { timeoutMs: ctx.queryTimeoutMs }));
    if (xattrWhy !== undefined) ctx.logger.warn('dmg.quarantine.kept', xattrWhy, { path: temp });

    // chown and chmod, not fs calls: owners may be names or numbers, modes symbolic, all recursive.
    const chownArgv = [DISK_IMAGE_TOOLS.chown, '-R', `${spec.user}:${spec.group}`, temp];
    const chownWhy = failure(
      chownArgv,
      await run(ctx, chownArgv, { timeoutMs: ctx.queryTimeoutMs }),
    );
    if (chownWhy !== undefined) return `setting the owner of ${spec.source}: ${chownWhy}`;
    const chmodArgv = [DISK_IMAGE_TOOLS.chmod, '-R', spec.mode, temp];
    const chmodWhy = failure(
      chmodArgv,
      await run(ctx, chmodArgv, { timeoutMs: ctx.queryTimeoutMs }),
    );
    if (chmodWhy !== undefined) return `setting the mode of ${spec.source}: ${chmodWhy}`;

    await rm(spec.destination, { recursive: true, force: true });
    await rename(temp, spec.destination);
    return undefined;
  } catch (e) {
    return `copying ${spec.source} to ${spec.destination}: ${describeError(e)}`;
  } finally {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  }
}

/** Creates `folder` and its missing parents with the nearest existing parent's owner and mode. */
async function createMissingFolders(folder: string): Promise<void> {
  const missing: string[] = [];
  let existing = folder;
  while ((await stat(existing).catch(() => undefined)) === undefined) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (missing.length === 0) return;
  const parent = await stat(existing);
  // Munki falls back to 0755 when the parent reports no permissions at all.
  const mode = parent.mode & 0o7777 || 0o755;
  for (const path of missing) {
    await mkdir(path);
    // mkdir's mode is cut by the umask: set it (and the owner) explicitly, as Munki does.
    await chmod(path, mode);
    await chown(path, parent.uid, parent.gid);
  }
}

/** Total bytes of the regular files at `path` (recursively), for ditto's progress. */
async function sizeOf(path: string): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.isFile() ? info.size : 0;
  let total = 0;
  for (const name of await readdir(path).catch(() => [])) total += await sizeOf(join(path, name));
  return total;
}

/** Installs a package from a disk image (see the module comment). */
export async function installPackageFromDmgOnMac(
  ctx: DiskImageContext,
  dmgPath: string,
  packagePath: string | undefined,
  options: PackageInstallOptions,
): Promise<PackageInstallResult> {
  const failed = (error: string): PackageInstallResult => ({
    ok: false,
    exitCode: -1,
    restartAction: 'None',
    receipts: [],
    log: [error],
    error,
  });
  let relative: string | undefined;
  if (packagePath !== undefined && packagePath !== '') {
    relative = insideImage(packagePath);
    if (relative === undefined) {
      return failed(`package_path "${packagePath}" must stay inside the disk image`);
    }
    if (!isPackageName(relative)) {
      return failed(`package_path "${packagePath}" does not name a .pkg or .mpkg`);
    }
  }
  return withMountedImage(
    ctx,
    dmgPath,
    async (mountPoint) => {
      const pkg = relative ?? (await firstPackageAt(mountPoint));
      if (pkg === undefined) {
        return failed(`no .pkg or .mpkg at the root of ${basename(dmgPath)}`);
      }
      if ((await lstat(join(mountPoint, pkg)).catch(() => undefined)) === undefined) {
        return failed(`package_path ${pkg} is not on ${basename(dmgPath)}`);
      }
      return installPackageOnMac(ctx, join(mountPoint, pkg), options);
    },
    failed,
  );
}

function isPackageName(name: string): boolean {
  return /\.m?pkg$/i.test(name);
}

/** The first package at a folder's root (names in order, hidden ones skipped). */
async function firstPackageAt(folder: string): Promise<string | undefined> {
  const names = await readdir(folder).catch(() => []);
  return names.sort().find((n) => !n.startsWith('.') && isPackageName(n));
}
