/**
 * Package receipts written as pkgutil writes them, for the sandbox's installer:
 *
 * - `<receipts>/<id>.plist`: a BINARY plist with PackageIdentifier, PackageVersion, InstallDate
 *   (a date), InstallPrefixPath (the install location relative to the volume: `Applications/`,
 *   `usr/local/`, or `/` for the volume itself), InstallProcessName (`installer`) and
 *   PackageFileName, exactly the keys of a real receipt (formats reference §2). The existing
 *   `readReceiptsFolder` reads it, so the next check sees the package installed.
 * - `<receipts>/<id>.paths.plist`: the receipt's file list. A Mac keeps it in `<id>.bom`, Apple's
 *   BOMStore B-tree format, which we cannot write. This is our DOCUMENTED EQUIVALENT: an XML plist
 *   whose root dict maps each installed path, relative to the install location and spelled as
 *   `pkgutil --files` prints it (`Applications`, `Applications/Foo.app`, … no `./`, no `.`), to
 *   `{ type: file|directory|symlink, mode: permission bits, uid, gid }`. `removePackages` reads it
 *   the way Munki reads `pkgutil --files`. (Hard links are files; owners are the payload's, as
 *   recorded in the archive, even where the sandbox could not apply them.)
 *
 * The list is written before the receipt, both atomically, so a receipt never exists without its
 * list; forgetting a package deletes both (and a `.bom`, should one be there).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBinaryPlist, buildPlist, isPlistDict, parsePlist } from '../../../formats/index.js';
import type { PlistDict } from '../../../formats/index.js';
import { writeFileAtomic } from '../../../lib/atomic-write.js';
import { AppError } from '../../../lib/errors.js';

/** The suffix of a receipt's file list, beside `<id>.plist`. */
export const RECEIPT_PATHS_SUFFIX = '.paths.plist';

/** One installed path of a receipt's file list. */
export interface ReceiptPathInfo {
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits (`0o755`), without the file-type bits. */
  mode: number;
  uid: number;
  gid: number;
}

/** Everything a receipt records. */
export interface ReceiptToWrite {
  packageId: string;
  version: string;
  /** The PackageInfo `install-location` (`/Applications`, `/`). */
  installLocation: string;
  installDate: Date;
  /** The package file's name, e.g. `Foo-1.0.pkg`. */
  packageFileName: string;
  /** Installed paths relative to the install location (`pkgutil --files` spelling). */
  paths: ReadonlyMap<string, ReceiptPathInfo>;
}

/** `/Applications` → `Applications/`, `/usr/local/` → `usr/local/`, `/` → `/` (pkgutil's spelling). */
export function installPrefixPathFor(installLocation: string): string {
  const parts = installLocation.split('/').filter((p) => p !== '' && p !== '.');
  return parts.length === 0 ? '/' : `${parts.join('/')}/`;
}

/**
 * Throws PATH_UNSAFE unless `packageId` can name a file in the receipts folder: a package id comes
 * from a downloaded package and must never make us write or delete elsewhere.
 */
export function assertSafePackageId(packageId: string): void {
  if (
    packageId === '' ||
    packageId === '.' ||
    packageId === '..' ||
    /[/\\\0]/.test(packageId) ||
    packageId.length > 255
  ) {
    throw new AppError(
      'PATH_UNSAFE',
      `package id ${JSON.stringify(packageId)} cannot name a receipt`,
      {
        hint: 'a package identifier must not contain "/" or be "." or ".."',
      },
    );
  }
}

/** Writes `<id>.paths.plist` then `<id>.plist` into `receiptsDir` (created if missing). */
export async function writeReceipt(receiptsDir: string, receipt: ReceiptToWrite): Promise<void> {
  assertSafePackageId(receipt.packageId);
  const list: PlistDict = {};
  for (const path of [...receipt.paths.keys()].sort()) {
    const info = receipt.paths.get(path);
    if (info === undefined) continue;
    list[path] = { type: info.type, mode: info.mode, uid: info.uid, gid: info.gid };
  }
  await writeFileAtomic(
    join(receiptsDir, `${receipt.packageId}${RECEIPT_PATHS_SUFFIX}`),
    buildPlist(list),
    {
      mkdirs: true,
    },
  );
  await writeFileAtomic(
    join(receiptsDir, `${receipt.packageId}.plist`),
    buildBinaryPlist({
      PackageIdentifier: receipt.packageId,
      PackageVersion: receipt.version,
      InstallDate: receipt.installDate,
      InstallPrefixPath: installPrefixPathFor(receipt.installLocation),
      InstallProcessName: 'installer',
      PackageFileName: receipt.packageFileName,
    }),
    { mkdirs: true },
  );
}

/**
 * A receipt's file list; undefined when it has none (a receipt pkgutil wrote, or a test fixture).
 * Throws PLIST_INVALID when the list is there but unreadable: guessing would delete the wrong files.
 */
export async function readReceiptPaths(
  receiptsDir: string,
  packageId: string,
): Promise<Map<string, ReceiptPathInfo> | undefined> {
  assertSafePackageId(packageId);
  const file = join(receiptsDir, `${packageId}${RECEIPT_PATHS_SUFFIX}`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('IO', `${file}: cannot read the receipt's file list`, { cause: e });
  }
  const root = parsePlist(bytes, { source: file });
  if (!isPlistDict(root)) {
    throw new AppError('PLIST_INVALID', `${file}: the file list is not a dictionary`);
  }
  const paths = new Map<string, ReceiptPathInfo>();
  for (const [path, value] of Object.entries(root)) {
    const type = isPlistDict(value) ? value['type'] : undefined;
    const number = (key: string): number => {
      const v = isPlistDict(value) ? value[key] : undefined;
      return typeof v === 'number' ? v : 0;
    };
    if (type !== 'file' && type !== 'directory' && type !== 'symlink') {
      throw new AppError('PLIST_INVALID', `${file}: ${path} has no valid type`);
    }
    paths.set(path, { type, mode: number('mode'), uid: number('uid'), gid: number('gid') });
  }
  return paths;
}

/** Deletes a receipt and its file list (and a `.bom`); true when there was a receipt to forget. */
export async function forgetReceipt(receiptsDir: string, packageId: string): Promise<boolean> {
  assertSafePackageId(packageId);
  const receipt = join(receiptsDir, `${packageId}.plist`);
  let existed = true;
  try {
    await rm(receipt);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    existed = false;
  }
  await rm(join(receiptsDir, `${packageId}${RECEIPT_PATHS_SUFFIX}`), { force: true });
  await rm(join(receiptsDir, `${packageId}.bom`), { force: true });
  return existed;
}
