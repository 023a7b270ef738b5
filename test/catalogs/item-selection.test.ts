import { describe, expect, it } from 'vitest';

import {
  buildCatalogIndex,
  findItem,
  openCatalogIndex,
  type CatalogIndex,
  type SelectionEnv,
} from 'abbot/catalogs';
import type { PlistDict } from 'abbot/formats';
import { evaluateCondition, type Facts } from 'abbot/manifests';

const catalog = (...items: PlistDict[]): CatalogIndex => openCatalogIndex(buildCatalogIndex(items));

const env = (overrides: Partial<SelectionEnv<Facts>> = {}): SelectionEnv<Facts> => ({
  osVersion: '14.5',
  arch: 'arm64',
  abbotVersion: '7.0.4',
  facts: { machine_type: 'laptop' },
  evaluateCondition: (text, facts) => evaluateCondition(text, facts),
  ...overrides,
});

/** The version findItem picks, or the rejection reasons joined. */
function pick(
  catalogs: CatalogIndex[],
  name: string,
  version = '',
  overrides: Partial<SelectionEnv<Facts>> = {},
): string {
  const found = findItem(name, version, catalogs, env(overrides));
  return 'item' in found ? found.item.version : `rejected: ${found.rejected.join(' | ')}`;
}

describe('findItem version matching', () => {
  const foo = catalog(
    { name: 'Foo', version: '1.0' },
    { name: 'Foo', version: '2.0.0' },
    { name: 'Foo', version: '1.10' },
  );

  it.each([
    ['Foo', '', '2.0.0'],
    ['Foo', 'latest', '2.0.0'],
    ['Foo--1.0', '', '1.0'],
    ['Foo-1.10', '', '1.10'],
    ['Foo', '2.0', '2.0.0'],
    ['Foo', '1.0.0.0', '1.0'],
    ['Foo--3.0', '', 'rejected: '],
    ['Bar', '', 'rejected: '],
  ])('finds %j (version %j) as %s', (name, version, expected) => {
    expect(pick([foo], name, version)).toBe(expected);
  });

  it('matches a requested version as a trimmed string, not by comparison', () => {
    expect(pick([catalog({ name: 'Foo', version: '01.0' })], 'Foo', '1.0')).toBe('rejected: ');
  });

  it('prefers the first of equal versions in file order', () => {
    const c = catalog(
      { name: 'Foo', version: '1.0', marker: 'first' },
      { name: 'Foo', version: '1.0', marker: 'second' },
    );
    const found = findItem('Foo', '', [c], env());
    expect('item' in found && found.item['marker']).toBe('first');
  });

  it('normalises the requested name to NFC', () => {
    const c = catalog({ name: 'Caf\u00e9', version: '1' });
    expect(pick([c], 'Cafe\u0301')).toBe('1');
  });
});

describe('findItem eligibility', () => {
  it.each<[string, PlistDict, Partial<SelectionEnv<Facts>>, string]>([
    [
      'minimum_os_version above the running macOS',
      { minimum_os_version: '15.0' },
      {},
      'rejected: Foo-2.0 requires macOS 15.0 or later (this Mac runs 14.5)',
    ],
    ['minimum_os_version equal to it', { minimum_os_version: '14.5' }, {}, '2.0'],
    ['an empty minimum_os_version', { minimum_os_version: '' }, {}, '2.0'],
    ['a non-string minimum_os_version', { minimum_os_version: 15 }, {}, '2.0'],
    ['skipMinOsCheck', { minimum_os_version: '15.0' }, { skipMinOsCheck: true }, '2.0'],
    [
      'maximum_os_version below it',
      { maximum_os_version: '13.99' },
      {},
      'rejected: Foo-2.0 requires macOS 13.99 or earlier (this Mac runs 14.5)',
    ],
    ['maximum_os_version equal to it', { maximum_os_version: '14.5.0' }, {}, '2.0'],
    [
      'an unsupported architecture',
      { supported_architectures: ['x86_64'] },
      {},
      'rejected: Foo-2.0 is not supported on arm64 (supports x86_64)',
    ],
    ['an empty architecture list', { supported_architectures: [] }, {}, '2.0'],
    [
      'x86_64 on an x86_64-capable i386 kernel',
      { supported_architectures: ['x86_64'] },
      { arch: 'i386', x86_64Capable: true },
      '2.0',
    ],
    [
      'x86_64 on an i386 kernel that is not capable',
      { supported_architectures: ['x86_64'] },
      { arch: 'i386' },
      'rejected: Foo-2.0 is not supported on i386 (supports x86_64)',
    ],
    [
      'minimum_munki_version above ours',
      { minimum_munki_version: '8.0' },
      {},
      'rejected: Foo-2.0 requires Munki version 8.0 or later (this client reports 7.0.4)',
    ],
    [
      'a true installable_condition',
      { installable_condition: 'machine_type == "laptop"' },
      {},
      '2.0',
    ],
    [
      'a false installable_condition',
      { installable_condition: 'machine_type == "desktop"' },
      {},
      'rejected: Foo-2.0 is not installable here: installable_condition `machine_type == "desktop"` is false',
    ],
  ])('handles %s', (_label, extra, overrides, expected) => {
    const c = catalog({ name: 'Foo', version: '2.0', ...extra });
    expect(pick([c], 'Foo', '', overrides)).toBe(expected);
  });

  it('treats an installable_condition that does not parse as ineligible, with a reason', () => {
    const c = catalog({ name: 'Foo', version: '2.0', installable_condition: 'os_vers >>> "1"' });
    expect(pick([c], 'Foo')).toMatch(
      /^rejected: Foo-2.0 has an installable_condition that does not parse/,
    );
  });

  it('falls back to an older version in the same catalog when the newest is ineligible', () => {
    const c = catalog(
      { name: 'Foo', version: '2.0', minimum_os_version: '15' },
      { name: 'Foo', version: '1.0' },
    );
    expect(pick([c], 'Foo')).toBe('1.0');
  });

  it('lets an older version in an earlier catalog beat a newer one in a later catalog', () => {
    const testing = catalog({ name: 'Foo', version: '1.0' });
    const production = catalog({ name: 'Foo', version: '3.0' });
    expect(pick([testing, production], 'Foo')).toBe('1.0');
  });

  it('tries the next catalog only when nothing in the earlier one is eligible', () => {
    const testing = catalog({ name: 'Foo', version: '3.0', supported_architectures: ['x86_64'] });
    const production = catalog({ name: 'Foo', version: '2.0' });
    expect(pick([testing, production], 'Foo')).toBe('2.0');
  });

  it('collects every rejection reason when nothing fits', () => {
    const c = catalog(
      { name: 'Foo', version: '2.0', minimum_os_version: '15' },
      { name: 'Foo', version: '1.0', maximum_os_version: '13' },
    );
    const found = findItem('Foo', '', [c], env());
    expect('rejected' in found && found.rejected).toEqual([
      'Foo-2.0 requires macOS 15 or later (this Mac runs 14.5)',
      'Foo-1.0 requires macOS 13 or earlier (this Mac runs 14.5)',
    ]);
  });
});
