/**
 * How `repo import` picks the existing item a new one resembles (munkiimport's order), how it reads
 * an icon file, and how it hashes an installer item with progress.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PkgInfo } from '../../catalogs/index.js';
import { pngFromIcns } from '../../repo-tools/pkginfo/icns-png.js';
import { findMatchingItem } from '../../repo-tools/pkginfo/matching-item.js';
import { digestItemFile } from '../../repo-tools/pkginfo/package-file.js';

const item = (name: string, version: string, extra: Partial<PkgInfo> = {}): PkgInfo => ({
  name,
  version,
  ...extra,
});
const app = (path: string) => ({ installs: [{ type: 'application', path }] });

describe('findMatchingItem', () => {
  const repo: PkgInfo[] = [
    item('Foo', '1.0', {
      installer_item_hash: 'aaa',
      receipts: [{ packageid: 'com.foo', version: '1.0' }],
    }),
    item('Foo', '1.5', {
      installer_item_hash: 'bbb',
      receipts: [{ packageid: 'com.foo', version: '1.5' }],
    }),
    item('Both', '2.0', {
      receipts: [
        { packageid: 'com.a', version: '2' },
        { packageid: 'com.b', version: '2' },
      ],
    }),
    item('Bar', '3.0', {
      ...app('/Applications/Bar.app'),
      installer_item_location: 'apps/Bar-3.0.dmg',
    }),
    item('Bar', '3.1', { ...app('/Applications/Bar.app') }),
    item('Baz', '1.0', { installer_item_location: 'apps/Baz-1.0.dmg' }),
  ];

  it.each([
    ['the same hash', item('X', '9', { installer_item_hash: 'aaa' }), 'hash', 'Foo', '1.0'],
    [
      'the same receipts, newest first',
      item('X', '9', { receipts: [{ packageid: 'com.foo', version: '2' }] }),
      'receipts',
      'Foo',
      '1.5',
    ],
    [
      'the same set of receipts in another order',
      item('X', '9', {
        receipts: [
          { packageid: 'com.b', version: '3' },
          { packageid: 'com.a', version: '3' },
        ],
      }),
      'receipts',
      'Both',
      '2.0',
    ],
    [
      'the same app path',
      item('X', '9', app('/Applications/Bar.app')),
      'application',
      'Bar',
      '3.1',
    ],
    [
      'the same installer file name',
      item('X', '9', { installer_item_location: 'Baz-2.0.dmg' }),
      'installer-item-name',
      'Baz',
      '1.0',
    ],
  ])('matches by %s', (_what, wanted, by, name, version) => {
    const match = findMatchingItem(repo, wanted);
    expect(match?.by).toBe(by);
    expect([match?.item.name, match?.item.version]).toEqual([name, version]);
  });

  it('matches nothing when only some receipts are shared', () => {
    expect(
      findMatchingItem(repo, item('X', '9', { receipts: [{ packageid: 'com.a', version: '3' }] })),
    ).toBeUndefined();
  });
});

describe('pngFromIcns', () => {
  const entry = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(8 + data.length, 4);
    return Buffer.concat([head, data]);
  };
  const icns = (...entries: Buffer[]): Buffer => {
    const body = Buffer.concat(entries);
    const head = Buffer.alloc(8);
    head.write('icns', 0, 'latin1');
    head.writeUInt32BE(8 + body.length, 4);
    return Buffer.concat([head, body]);
  };
  const png = (tag: string) =>
    Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(tag)]);

  it('prefers the 512-point PNG', () => {
    expect(
      pngFromIcns(
        icns(entry('ic07', png('128')), entry('ic09', png('512')), entry('ic08', png('256'))),
      ),
    ).toEqual(png('512'));
  });
  it('finds nothing in a file of old bitmap formats only', () => {
    expect(pngFromIcns(icns(entry('is32', Buffer.alloc(40))))).toBeUndefined();
  });
  it('finds nothing in a file that is not an icns', () => {
    expect(pngFromIcns(Buffer.from('GIF89a.....'))).toBeUndefined();
  });
});

describe('digestItemFile', () => {
  it('hashes the file and reports progress in MiB, then clears it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abbot-digest-'));
    try {
      const path = join(dir, 'big.pkg');
      await writeFile(path, Buffer.alloc(3 * 1024 * 1024 + 5, 1));
      const seen: [number, number | undefined][] = [];
      let done = false;
      const digest = await digestItemFile(path, {
        update: (_label, n, total) => seen.push([n, total]),
        done: () => (done = true),
      });
      expect(digest.sizeKiB).toBe(3 * 1024);
      expect(digest.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(seen.at(-1)).toEqual([3, 4]);
      expect(done).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
