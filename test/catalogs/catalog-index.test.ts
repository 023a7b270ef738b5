import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { buildCatalogIndex, openCatalogIndex, type PkgInfo } from 'abbot/catalogs';
import { parsePlist, PlistReal, type PlistDict, type PlistValue } from 'abbot/formats';
import { isAppError } from '../../lib/errors.js';

const item = (name: string, version: string, extra: PlistDict = {}): PlistDict => ({
  name,
  version,
  ...extra,
});

const open = (items: PlistValue[]) => openCatalogIndex(buildCatalogIndex(items));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('buildCatalogIndex / openCatalogIndex round trip', () => {
  it.each<[string, PlistValue]>([
    ['a date', new Date('2024-03-01T12:34:56.789Z')],
    ['data', new Uint8Array([0, 1, 2, 254, 255])],
    ['empty data', new Uint8Array([])],
    ['a bigint', 12345678901234567890123n],
    ['a negative bigint', -98765432109876543210n],
    ['a real', new PlistReal(1)],
    ['a fractional real', new PlistReal(0.1)],
    ['a NaN real', new PlistReal(Number.NaN)],
    ['an infinite real', new PlistReal(Number.NEGATIVE_INFINITY)],
    ['a negative-zero real', new PlistReal(-0)],
    ['an integer', 42],
    ['a boolean', false],
    ['a string with a lone surrogate', 'a\ud800b'],
    ['an empty string', ''],
    ['a nested array', [1, 'two', [new Date(0)], { k: new PlistReal(2.5) }]],
    ['a dict whose only key looks like a wrapper', { $date: 'not a date' }],
    ['a dict whose only key is $dict', { $dict: { $int: 'x' } }],
    ['a dict with a __proto__ key', JSON.parse('{"__proto__": "own"}') as PlistDict],
  ])('keeps %s exactly', (_label, value) => {
    const index = open([item('Foo', '1.0', { value })]);
    expect(index.item(0)['value']).toStrictEqual(value);
  });

  it('keeps a real distinct from an integer of the same value', () => {
    const index = open([item('Foo', '1.0', { r: new PlistReal(3), i: 3 })]);
    expect(index.item(0)['r']).toBeInstanceOf(PlistReal);
    expect(index.item(0)['i']).toBe(3);
  });

  it('keeps a __proto__ key as an own property, not the prototype', () => {
    const dict = JSON.parse('{"__proto__": {"polluted": true}}') as PlistDict;
    const got = open([item('Foo', '1.0', { dict })]).item(0)['dict'] as PlistDict;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.hasOwn(got, '__proto__')).toBe(true);
  });

  it('keeps key order', () => {
    const got = open([{ version: '1', z: 1, name: 'Foo', a: 2 }]).item(0);
    expect(Object.keys(got)).toEqual(['version', 'z', 'name', 'a']);
  });
});

describe('catalog index lookups', () => {
  const catalog: PlistValue[] = [
    item('Firefox', '120.0', { update_for: 'Browsers' }),
    item('Firefox', '121.0.0'),
    item('Firefox', '121.0'),
    'not a dict',
    { name: 'NoVersion' },
    { name: 'NumberVersion', version: 3 },
    item('Flash', '1.0', { update_for: ['Firefox', 'Firefox-120.0'], autoremove: true }),
    item('Cafe\u0301', '1'),
    item('Tool', '2', { requires: ['Firefox', 'Flash--1.0'], autoremove: true }),
    item('Lib', '1', { requires: 'Firefox', receipts: [{ packageid: 'com.lib', version: '1' }] }),
    item('Lib', '2', { receipts: [{ packageid: 'com.lib', version: '2' }, { packageid: 'x' }] }),
    item('Mixed', '1', { update_for: ['Firefox', 7] }),
  ];
  const index = open(catalog);

  it('skips items without a string name and version', () => {
    expect(index.size).toBe(9);
    expect(index.names()).not.toContain('NoVersion');
    expect(index.names()).not.toContain('NumberVersion');
  });

  it('groups versions under their trimmed form in file order', () => {
    expect([...index.versionsOf('Firefox')]).toEqual([
      ['120.0', [0]],
      ['121.0', [1, 2]],
    ]);
  });

  it('normalises names to NFC', () => {
    expect(index.names()).toContain('Caf\u00e9');
    expect(index.itemsNamed('Cafe\u0301')).toHaveLength(1);
  });

  it('lists items named, in file order', () => {
    expect(index.itemsNamed('Firefox').map((i: PkgInfo) => i.version)).toEqual([
      '120.0',
      '121.0.0',
      '121.0',
    ]);
  });

  it('indexes update_for by raw target, a single string included', () => {
    expect(index.updatesFor('Browsers').map((o) => index.nameOf(o))).toEqual(['Firefox']);
    expect(index.updatesFor('Firefox-120.0').map((o) => index.nameOf(o))).toEqual(['Flash']);
  });

  it('ignores an update_for array holding a non-string, as Munki does', () => {
    expect(index.updatesFor('Firefox').map((o) => index.nameOf(o))).toEqual(['Flash']);
  });

  it('indexes requires arrays by raw target but not a single-string requires', () => {
    expect(index.itemsRequiring('Flash--1.0').map((o) => index.nameOf(o))).toEqual(['Tool']);
    expect(index.itemsRequiring('Firefox').map((o) => index.nameOf(o))).toEqual(['Tool']);
  });

  it('lists autoremove names once', () => {
    expect(index.autoremoveNames()).toEqual(['Flash', 'Tool']);
  });

  it('indexes receipts by package id with their versions', () => {
    expect(index.itemsWithReceipt('com.lib').map((o) => index.item(o).version)).toEqual(['1', '2']);
    expect(index.receiptEntries().get('x')).toBeUndefined();
  });
});

describe('openCatalogIndex laziness', () => {
  it('parses only the header when opened', () => {
    const bytes = buildCatalogIndex([item('A', '1'), item('B', '1'), item('C', '1')]);
    const parse = vi.spyOn(JSON, 'parse');
    const index = openCatalogIndex(bytes);
    index.names();
    index.versionsOf('B');
    index.nameOf(2);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('parses only the items asked for, each once', () => {
    const bytes = buildCatalogIndex([item('A', '1'), item('B', '1'), item('C', '1')]);
    const index = openCatalogIndex(bytes);
    const parse = vi.spyOn(JSON, 'parse');
    const first = index.item(1);
    expect(index.item(1)).toBe(first);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(first.name).toBe('B');
  });
});

describe('openCatalogIndex on bad bytes', () => {
  it.each<[string, Uint8Array]>([
    ['empty bytes', new Uint8Array()],
    ['a plist', new TextEncoder().encode('<?xml version="1.0"?><plist><array/></plist>')],
    ['a truncated index', buildCatalogIndex([item('A', '1')]).subarray(0, 20)],
  ])('rejects %s with ARCHIVE_INVALID', (_label, bytes) => {
    expect(() => openCatalogIndex(bytes)).toThrow(
      expect.objectContaining({ code: 'ARCHIVE_INVALID' }),
    );
  });

  it('rejects a corrupted item when it is read, not when opened', () => {
    const bytes = buildCatalogIndex([item('A', '1', { x: 'yyyy' })]);
    bytes[bytes.length - 1] = 0x20; // the item's closing brace
    const index = openCatalogIndex(bytes);
    let error: unknown;
    try {
      index.item(0);
    } catch (e) {
      error = e;
    }
    expect(isAppError(error, 'ARCHIVE_INVALID')).toBe(true);
  });
});

const REAL_CATALOGS = '/work/shared/fixtures/real-world/catalogs';

describe.skipIf(!existsSync(REAL_CATALOGS))('real-world catalogs', () => {
  const files = existsSync(REAL_CATALOGS) ? readdirSync(REAL_CATALOGS) : [];
  it.each(files)('round-trips every item of %s', (file) => {
    let parsed: PlistValue;
    try {
      parsed = parsePlist(readFileSync(join(REAL_CATALOGS, file)), { source: file });
    } catch {
      return; // some fixtures do not parse on purpose
    }
    if (!Array.isArray(parsed)) return;
    const index = open(parsed);
    const usable = parsed.filter(
      (p): p is PlistDict =>
        typeof p === 'object' &&
        p !== null &&
        !Array.isArray(p) &&
        typeof (p as PlistDict)['name'] === 'string' &&
        typeof (p as PlistDict)['version'] === 'string',
    );
    expect(index.size).toBe(usable.length);
    usable.forEach((p, i) => expect(index.item(i)).toStrictEqual(p));
  });
});
