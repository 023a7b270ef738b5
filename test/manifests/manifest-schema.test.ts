import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { SchemaIssue } from 'abbot/catalogs';
import { PlistReal, parsePlist } from 'abbot/formats';
import type { PlistDict, PlistValue } from 'abbot/formats';
import { manifestSchema, validateManifest } from 'abbot/manifests';

const error = (path: string, message: string): SchemaIssue => ({
  path,
  message,
  severity: 'error',
});

describe('validateManifest', () => {
  it('accepts an empty manifest', () => {
    expect(validateManifest({})).toEqual([]);
  });

  it('accepts every section, nested conditional items and unknown keys', () => {
    const manifest: PlistDict = {
      catalogs: ['testing', 'production'],
      included_manifests: ['site_default', ''],
      managed_installs: ['Firefox', 'apps/Chrome-120.0', 'Office--16.0'],
      managed_uninstalls: ['Flash'],
      managed_updates: ['Java'],
      optional_installs: ['Slack', 'Zoom'],
      featured_items: ['Slack'],
      default_installs: ['Zoom'],
      conditional_items: [
        {
          condition: 'machine_type == "laptop"',
          catalogs: ['laptops'],
          included_manifests: ['laptop_extras'],
          managed_installs: ['VPN'],
          conditional_items: [
            { condition: 'os_vers BEGINSWITH "14"', optional_installs: ['Sonoma Tools'] },
          ],
        },
        { condition: 'hostname == "lab-1"' },
      ],
      display_name: 'Jane Doe laptop',
      user: 'jdoe',
      notes: 'from MWA2',
      when: new Date(0),
      blob: new Uint8Array([1, 2]),
      ratio: new PlistReal(0.5),
      big: 2n ** 80n,
    };
    expect(validateManifest(manifest)).toEqual([]);
  });

  it.each([
    ['an array', [], 'array'],
    ['a string', 'student_client', 'string'],
    ['null', null, 'null'],
  ])('reports a manifest that is %s, not a dictionary', (_what, value, found) => {
    expect(validateManifest(value)).toEqual([error('', `must be a dictionary (found ${found})`)]);
  });

  it.each([
    ['catalogs', 'production', 'catalogs', 'must be an array (found string)'],
    ['included_manifests', [5], 'included_manifests[0]', 'must be a string (found integer)'],
    ['managed_installs', 'Firefox', 'managed_installs', 'must be an array (found string)'],
    [
      'managed_installs',
      ['Firefox', { name: 'x' }],
      'managed_installs[1]',
      'must be a string (found dictionary)',
    ],
    ['managed_uninstalls', [true], 'managed_uninstalls[0]', 'must be a string (found boolean)'],
    ['managed_updates', {}, 'managed_updates', 'must be an array (found dictionary)'],
    ['optional_installs', [new Date(0)], 'optional_installs[0]', 'must be a string (found date)'],
    ['featured_items', 'Slack', 'featured_items', 'must be an array (found string)'],
    [
      'default_installs',
      [new Uint8Array()],
      'default_installs[0]',
      'must be a string (found data)',
    ],
    [
      'conditional_items',
      { condition: 'x' },
      'conditional_items',
      'must be an array (found dictionary)',
    ],
    ['conditional_items', ['x'], 'conditional_items[0]', 'must be a dictionary (found string)'],
    [
      'conditional_items',
      [{ condition: 5 }],
      'conditional_items[0].condition',
      'must be a string (found integer)',
    ],
    [
      'conditional_items',
      [{ condition: 'a', managed_installs: [1] }],
      'conditional_items[0].managed_installs[0]',
      'must be a string (found integer)',
    ],
    [
      'conditional_items',
      [{ condition: 'a', conditional_items: [{ condition: 'b', catalogs: 'x' }] }],
      'conditional_items[0].conditional_items[0].catalogs',
      'must be an array (found string)',
    ],
  ] as [string, PlistValue, string, string][])(
    'reports %s = %j at %s',
    (key, value, path, message) => {
      expect(validateManifest({ [key]: value })).toEqual([error(path, message)]);
    },
  );

  it('warns about a conditional item without a condition, which Munki skips', () => {
    expect(validateManifest({ conditional_items: [{ managed_installs: ['Foo'] }] })).toEqual([
      {
        path: 'conditional_items[0].condition',
        message: 'is missing: Munki skips a conditional item without a condition',
        severity: 'warning',
      },
    ]);
  });

  it('accepts a conditional item with only a condition', () => {
    expect(validateManifest({ conditional_items: [{ condition: 'TRUEPREDICATE' }] })).toEqual([]);
  });

  it('does not ask the top-level manifest for a condition', () => {
    expect(validateManifest({ managed_installs: ['Foo'] })).toEqual([]);
  });
});

describe('manifestSchema', () => {
  it('is a draft 2020-12 schema that never forbids unknown keys', () => {
    expect(manifestSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(JSON.stringify(manifestSchema)).not.toContain('"additionalProperties":false');
  });
});

const realWorld = join(import.meta.dirname, '../../../shared/fixtures/real-world');

describe.skipIf(!existsSync(realWorld))('validateManifest on real-world manifests', () => {
  const dir = join(realWorld, 'manifests');
  const files = existsSync(dir) ? readdirSync(dir).sort() : [];

  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    // The odd ones: a "user" key (MWA2-style metadata), a conditional item with only a
    // condition, empty sections, a manifest without catalogs (an included one).
    expect(files).toContain('keeleysam__munki_repo__site_default');
    expect(files).toContain('umeditor__munki__printers');
    expect(files).toContain('twadbrook__Munki__HS-MDS-01.local');
    expect(files).toContain('Crestwood-Preparatory-College__Munki__Rm109');
  });

  it.each(files)('%s validates', (file) => {
    let value: PlistValue;
    try {
      value = parsePlist(readFileSync(join(dir, file)), { source: file });
    } catch {
      // Parsing (e.g. a bare <dict> with no <plist> root) is the parser's business.
      return;
    }
    expect(validateManifest(value)).toEqual([]);
  });
});
