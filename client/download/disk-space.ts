/**
 * Free-space checks before downloads start, as Munki makes them (download.swift): a run that would
 * fill the disk halfway through a 12 GB installer is refused up front, with the numbers that show why.
 */
import { stat, statfs as fsStatfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AppError } from '../../lib/errors.js';

/** Munki's headroom: 100 MiB must stay free after everything is downloaded and installed. */
export const DEFAULT_MARGIN_BYTES = 100 * 1024 * 1024;

/** The part of `fs.statfs`'s answer the check reads; tests pass their own. */
export interface VolumeSpace {
  /** Blocks available to an unprivileged user. */
  bavail: number;
  /** Block size in bytes. */
  bsize: number;
}

/** How free space is read; defaults to `fs.promises.statfs`. */
export type StatfsFn = (path: string) => Promise<VolumeSpace>;

/** One item's share of a run's space, in pkginfo units (KiB), as Munki sums it. */
export interface SpaceItem {
  /** pkginfo `installer_item_size`, KiB. */
  installer_item_size?: unknown;
  /** pkginfo `installed_size`, KiB. */
  installed_size?: unknown;
  /** Bytes of this item already in the cache (a complete file or a partial one). */
  cachedBytes?: number | undefined;
}

/** What `checkFreeSpace` found, for logs. */
export interface FreeSpace {
  /** The folder whose volume was measured (the nearest existing ancestor of `dir`). */
  volume: string;
  freeBytes: number;
  neededBytes: number;
}

const KIB = 1024;

/**
 * Bytes a run needs: for each item, what is left to download (`installer_item_size` KiB minus what
 * is cached, never below zero) plus its `installed_size` KiB, since installing unpacks it beside the
 * download. Missing or non-numeric sizes count as 0, as Munki treats them.
 */
export function neededFor(items: readonly SpaceItem[]): number {
  let total = 0;
  for (const item of items) {
    const download = kib(item.installer_item_size);
    total += Math.max(0, download - Math.max(0, item.cachedBytes ?? 0)) + kib(item.installed_size);
  }
  return total;
}

/**
 * Throws IO ("not enough free space on <volume>: need X, have Y") unless the volume holding `dir`
 * has `neededBytes + marginBytes` available. `dir` need not exist yet: its nearest existing ancestor
 * is measured, since that is the volume the files will land on.
 */
export async function checkFreeSpace(
  dir: string,
  neededBytes: number,
  marginBytes: number = DEFAULT_MARGIN_BYTES,
  options: { statfs?: StatfsFn | undefined } = {},
): Promise<FreeSpace> {
  const volume = await nearestExisting(resolve(dir));
  const read = options.statfs ?? fsStatfs;
  let space: VolumeSpace;
  try {
    space = await read(volume);
  } catch (e) {
    throw new AppError('IO', `cannot read free space of ${volume}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const freeBytes = space.bavail * space.bsize;
  const want = Math.max(0, neededBytes) + Math.max(0, marginBytes);
  if (freeBytes < want) {
    throw new AppError(
      'IO',
      `not enough free space on ${volume}: need ${formatBytes(want)}, have ${formatBytes(freeBytes)}`,
      {
        hint: `free ${formatBytes(want - freeBytes)} on that volume (the need includes ${formatBytes(marginBytes)} of headroom), then run again`,
      },
    );
  }
  return { volume, freeBytes, neededBytes: want };
}

/** `12345678` → `11.8 MiB`: binary units, one decimal, as people compare disk sizes. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function kib(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value * KIB : 0;
}

async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch (e) {
      const parent = dirname(current);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) return current;
    }
  }
}
