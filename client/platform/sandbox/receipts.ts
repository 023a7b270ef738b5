/**
 * Package receipts read straight from a receipts folder (`<root>/var/db/receipts/*.plist`), as
 * pkgutil writes them: binary plists (XML accepted too) with PackageIdentifier, PackageVersion,
 * InstallPrefixPath and InstallDate. A malformed receipt is skipped with a warning.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import { AppError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { InstalledReceipt } from '../platform.js';

/** Every readable receipt in `dir`, sorted by package id; a missing folder has none. */
export async function readReceiptsFolder(dir: string, logger: Logger): Promise<InstalledReceipt[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    // Listing no receipts would make every package look missing: fail the run instead.
    throw new AppError('IO', `${dir}: cannot list receipts (${code ?? String(e)})`, { cause: e });
  }
  const receipts: InstalledReceipt[] = [];
  // `<id>.paths.plist` beside a receipt is the sandbox's file list (see receipt-writer.ts), not a receipt.
  const receiptFiles = names.filter(
    (n) => n.endsWith('.plist') && !n.endsWith('.paths.plist') && !n.startsWith('.'),
  );
  for (const name of receiptFiles.sort()) {
    const file = join(dir, name);
    const skip = (reason: string): void =>
      logger.warn('receipts.skipped', `${file}: ${reason}; receipt skipped`, { file, reason });
    let value;
    try {
      value = parsePlist(await readFile(file), { source: file });
    } catch (e) {
      skip((e as Error).message);
      continue;
    }
    if (!isPlistDict(value)) {
      skip('not a dictionary');
      continue;
    }
    const { PackageIdentifier: id, PackageVersion: version } = value;
    if (typeof id !== 'string' || id === '') {
      skip('no PackageIdentifier');
      continue;
    }
    if (typeof version !== 'string') {
      skip('no PackageVersion');
      continue;
    }
    const receipt: InstalledReceipt = { packageId: id, version };
    const prefix = value['InstallPrefixPath'];
    if (typeof prefix === 'string') receipt.installPrefixPath = prefix;
    const date = value['InstallDate'];
    if (date instanceof Date) receipt.installDate = date;
    receipts.push(receipt);
  }
  return receipts.sort((a, b) =>
    a.packageId < b.packageId ? -1 : a.packageId > b.packageId ? 1 : 0,
  );
}
