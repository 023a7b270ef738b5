/**
 * An installer item on the admin's disk: opened for random access (a flat package is read piecewise,
 * never whole) and hashed as Munki records it (lowercase hex SHA-256, size in KiB truncated).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { ByteSource } from '../../formats/index.js';
import { basename } from 'node:path';
import { AppError } from '../../lib/errors.js';
import { fileByteSource } from '../../lib/file-byte-source.js';
import { noProgress, type Progress } from '../../lib/progress.js';

const MIB = 1024 * 1024;

/** A package file opened for random access; close it when done. */
export interface OpenedItem {
  source: ByteSource;
  close(): Promise<void>;
}

/** What Munki records about an installer item's bytes. */
export interface ItemDigest {
  /** `installer_item_hash`: lowercase hex SHA-256. */
  sha256: string;
  /** `installer_item_size`: bytes / 1024, truncated, as Munki writes it. */
  sizeKiB: number;
}

/** Opens `path` as a ByteSource; throws USAGE when it is missing or not a regular file. */
export async function openItemFile(path: string): Promise<OpenedItem> {
  await assertRegularFile(path);
  const handle = await open(path, 'r');
  const size = (await handle.stat()).size;
  return {
    source: fileByteSource(handle, size),
    close: () => handle.close(),
  };
}

/** Streams `path` through SHA-256, showing MiB hashed on `progress`. */
export async function digestItemFile(
  path: string,
  progress: Progress = noProgress,
): Promise<ItemDigest> {
  const hash = createHash('sha256');
  const total = Math.ceil((await stat(path)).size / MIB);
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    progress.update(`Hashing ${basename(path)} (MiB)`, Math.floor(bytes / MIB), total);
  }
  progress.done();
  return { sha256: hash.digest('hex'), sizeKiB: Math.floor(bytes / 1024) };
}

/** Throws USAGE naming `path` unless it is an existing regular file. */
export async function assertRegularFile(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new AppError('USAGE', `${path}: no such file`);
  if (!info.isFile()) {
    throw new AppError('USAGE', `${path}: not a file`, {
      hint: 'bundle-style (folder) packages and app folders are not supported; pass a flat .pkg or a .dmg',
    });
  }
}
