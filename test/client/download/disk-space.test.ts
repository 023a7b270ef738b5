import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkFreeSpace,
  DEFAULT_MARGIN_BYTES,
  formatBytes,
  neededFor,
  type SpaceItem,
} from '../../../client/download/disk-space.js';
import { AppError } from '../../../lib/errors.js';

const MIB = 1024 * 1024;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-space-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A statfs that reports `free` bytes in 4 KiB blocks and records what it was asked about. */
function fakeStatfs(free: number): ((
  path: string,
) => Promise<{ bavail: number; bsize: number }>) & {
  paths: string[];
} {
  const paths: string[] = [];
  const fn = async (path: string) => {
    paths.push(path);
    return { bavail: Math.floor(free / 4096), bsize: 4096 };
  };
  return Object.assign(fn, { paths });
}

describe('neededFor', () => {
  it.each<[string, SpaceItem[], number]>([
    ['nothing', [], 0],
    [
      'download plus installed size, KiB to bytes',
      [{ installer_item_size: 100, installed_size: 300 }],
      400 * 1024,
    ],
    [
      'what is cached comes off the download',
      [{ installer_item_size: 100, installed_size: 300, cachedBytes: 40 * 1024 }],
      360 * 1024,
    ],
    [
      'a fully cached item needs only its installed size',
      [{ installer_item_size: 100, installed_size: 300, cachedBytes: 500 * 1024 }],
      300 * 1024,
    ],
    ['missing and non-numeric sizes count as 0', [{ installer_item_size: '12' }, {}], 0],
    ['items add up', [{ installer_item_size: 1 }, { installed_size: 2 }], 3 * 1024],
  ])('%s', (_label, items, bytes) => {
    expect(neededFor(items)).toBe(bytes);
  });
});

describe('checkFreeSpace', () => {
  it('passes when need plus the 100 MiB margin fits', async () => {
    const statfs = fakeStatfs(DEFAULT_MARGIN_BYTES + 10 * MIB);
    const result = await checkFreeSpace(dir, 10 * MIB, undefined, { statfs });
    expect(result).toEqual({
      volume: dir,
      freeBytes: DEFAULT_MARGIN_BYTES + 10 * MIB,
      neededBytes: DEFAULT_MARGIN_BYTES + 10 * MIB,
    });
  });

  it('throws IO naming the volume, the need and what is free', async () => {
    const statfs = fakeStatfs(50 * MIB);
    const error = await checkFreeSpace(dir, 2048 * MIB, undefined, { statfs }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'IO',
      message: `not enough free space on ${dir}: need 2.1 GiB, have 50.0 MiB`,
    });
  });

  it('counts a custom margin', async () => {
    const statfs = fakeStatfs(10 * MIB);
    await expect(checkFreeSpace(dir, 9 * MIB, MIB, { statfs })).resolves.toBeDefined();
    await expect(checkFreeSpace(dir, 9 * MIB, 2 * MIB, { statfs })).rejects.toThrow(
      /not enough free space/,
    );
  });

  it('measures the nearest existing folder when the cache does not exist yet', async () => {
    const statfs = fakeStatfs(DEFAULT_MARGIN_BYTES * 2);
    await checkFreeSpace(join(dir, 'Library', 'Abbot', 'Cache'), 0, undefined, { statfs });
    expect(statfs.paths).toEqual([dir]);
  });

  it('reads the real volume through fs.statfs', async () => {
    const result = await checkFreeSpace(dir, 0, 0);
    expect(result.freeBytes).toBeGreaterThan(0);
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512 bytes'],
    [1536, '1.5 KiB'],
    [150 * MIB, '150.0 MiB'],
    [3 * 1024 * MIB, '3.0 GiB'],
  ])('formats %d as %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});
