/**
 * Putting new files into a repo without ever replacing one: the installer item into
 * `pkgs/<subdir>/` and the pkginfo into `pkgsinfo/<subdir>/`, named as munkiimport names them
 * (`<file>-<version><ext>` and `<name>-<version>[-<arch>].plist`, `__1`, `__2`… when taken). Each file
 * is written to a temporary name, fsynced, then hard-linked into place, which fails rather than
 * overwrite, so a concurrent import or a crash can neither clobber a file nor leave half of one.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, rmdir, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, posix } from 'node:path';
import { AppError } from '../../lib/errors.js';
import { syncDir } from '../../lib/atomic-write.js';

/** A file this import created: its path on disk and relative to its repo folder. */
export interface PlacedFile {
  path: string;
  /** e.g. `apps/Foo-1.0.pkg`, relative to pkgs/ or pkgsinfo/. */
  relative: string;
  /** The highest folder this placement had to create, if any. */
  createdDir?: string;
}

/** Removes a placed file again, and the folders made for it if nothing else has moved in. */
export async function removePlaced(placed: PlacedFile): Promise<void> {
  await unlink(placed.path).catch(() => {});
  if (placed.createdDir === undefined) return;
  for (let dir = dirname(placed.path); ; dir = dirname(dir)) {
    // rmdir refuses a folder that is not empty: a concurrent import's files stay.
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (dir === placed.createdDir || dir === dirname(dir)) return;
  }
}

/** Checks a `--subdirectory` and returns it normalized; PATH_UNSAFE when it leaves its folder. */
export function checkedSubdirectory(subdir: string): string {
  const normal = posix.normalize(subdir.replace(/\/+$/, ''));
  if (normal === '.' || normal === '') return '';
  if (subdir.startsWith('/') || normal.split('/').some((p) => p === '..' || p.startsWith('.'))) {
    throw new AppError(
      'PATH_UNSAFE',
      `subdirectory "${subdir}" must stay inside the repo's folders`,
    );
  }
  return normal;
}

/** Copies `source` into `<repo>/pkgs/<subdir>/` under a free name with the version in it. */
export async function placeInstallerItem(
  repo: string,
  subdir: string,
  source: string,
  version: string,
): Promise<PlacedFile> {
  const file = basename(source);
  const ext = extname(file);
  let stem = file.slice(0, file.length - ext.length);
  if (version !== '' && !stem.endsWith(version)) stem = `${stem}-${safeName(version, 'version')}`;
  return placeNew(join(repo, 'pkgs'), subdir, stem, ext, (tmp) => copyFile(source, tmp));
}

/** Writes pkginfo `text` as `<repo>/pkgsinfo/<subdir>/<name>-<version>[-<arch>].plist`. */
export async function placePkginfo(
  repo: string,
  subdir: string,
  name: string,
  version: string,
  arch: string | undefined,
  text: string,
): Promise<PlacedFile> {
  const stem = `${safeName(name, 'name')}-${safeName(version, 'version')}${arch ? `-${arch}` : ''}`;
  return placeNew(join(repo, 'pkgsinfo'), subdir, stem, '.plist', (tmp) => writeFile(tmp, text));
}

/** Names from a pkginfo become file names: one path component, never `..` or hidden. */
function safeName(value: string, what: string): string {
  if (value === '' || value.includes('/') || value.includes('\0') || value.startsWith('.')) {
    throw new AppError('PATH_UNSAFE', `the ${what} "${value}" cannot be used in a file name`);
  }
  return value;
}

/** Writes `data` as `<repo>/icons/<name>` unless that file exists (then undefined). */
export async function placeIcon(
  repo: string,
  name: string,
  data: Uint8Array,
): Promise<PlacedFile | undefined> {
  const ext = extname(safeName(name, 'icon name'));
  const stem = name.slice(0, name.length - ext.length);
  try {
    return await placeNew(join(repo, 'icons'), '', stem, ext, (tmp) => writeFile(tmp, data), false);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw e;
  }
}

async function placeNew(
  base: string,
  subdir: string,
  stem: string,
  ext: string,
  fill: (tmp: string) => Promise<void>,
  numbered = true,
): Promise<PlacedFile> {
  const dir = subdir === '' ? base : join(base, subdir);
  const createdDir = await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${stem}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fill(tmp);
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    for (let n = 0; ; n++) {
      const name = `${stem}${n === 0 ? '' : `__${n}`}${ext}`;
      try {
        await link(tmp, join(dir, name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && numbered) continue;
        throw e;
      }
      await syncDir(dir);
      const placed: PlacedFile = {
        path: join(dir, name),
        relative: subdir === '' ? name : `${subdir}/${name}`,
      };
      if (createdDir !== undefined) placed.createdDir = createdDir;
      return placed;
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
