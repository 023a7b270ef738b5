import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { pkginfoSchema, validatePkgInfo } from 'abbot/catalogs';
import type { SchemaIssue } from 'abbot/catalogs';
import { PlistReal, parsePlist, setDictKey } from 'abbot/formats';
import type { PlistDict, PlistValue } from 'abbot/formats';

const minimal = { name: 'Firefox', version: '120.0' };
const error = (path: string, message: string): SchemaIssue => ({
  path,
  message,
  severity: 'error',
});

/** `minimal` plus one key. */
function withKey(key: string, value: PlistValue): PlistDict {
  const pkginfo: PlistDict = { ...minimal };
  setDictKey(pkginfo, key, value);
  return pkginfo;
}

describe('validatePkgInfo', () => {
  it('accepts a minimal pkginfo', () => {
    expect(validatePkgInfo(minimal)).toEqual([]);
  });

  it('accepts a full pkginfo written the way makepkginfo writes one', () => {
    const pkginfo: PlistDict = {
      _metadata: {
        created_by: 'admin',
        creation_date: new Date('2024-05-01T10:00:00Z'),
        munki_version: '7.0.4',
        os_version: '14.5',
      },
      autoremove: false,
      catalogs: ['testing', 'production'],
      category: 'Browsers',
      description: '<b>Fast</b> browser',
      developer: 'Mozilla',
      display_name: 'Firefox',
      force_install_after_date: new Date('2024-06-01T17:00:00Z'),
      installed_size: 400000,
      installer_item_hash: 'ab'.repeat(32),
      installer_item_location: 'apps/Firefox-120.0.dmg',
      installer_item_size: 130000n,
      installer_type: 'copy_from_dmg',
      installs: [
        {
          CFBundleIdentifier: 'org.mozilla.firefox',
          CFBundleName: 'Firefox',
          CFBundleShortVersionString: '120.0',
          CFBundleVersion: '12023.11.20',
          minosversion: '10.15',
          path: '/Applications/Firefox.app',
          type: 'application',
          version_comparison_key: 'CFBundleShortVersionString',
        },
        { type: 'file', path: '/usr/local/bin/tool', md5checksum: '0'.repeat(32) },
      ],
      items_to_copy: [
        {
          destination_path: '/Applications',
          source_item: 'Firefox.app',
          user: 'root',
          group: 'admin',
          mode: 'go-w',
        },
      ],
      receipts: [
        { packageid: 'org.mozilla.firefox', version: '120.0', installed_size: 400000 },
        { packageid: 'org.mozilla.extra', optional: true },
      ],
      installer_choices_xml: [
        { attributeSetting: 1, choiceAttribute: 'selected', choiceIdentifier: 'a' },
        { attributeSetting: true, choiceAttribute: 'visible', choiceIdentifier: 'b' },
      ],
      installer_environment: { USER: 'CURRENT_CONSOLE_USER' },
      minimum_os_version: '10.15',
      name: 'Firefox',
      preinstall_alert: {
        alert_title: 'Quit Firefox',
        alert_detail: 'Firefox will quit.',
        ok_label: 'Install',
        cancel_label: 'Later',
      },
      requires: ['Python3', 'Helper--2.0'],
      supported_architectures: ['arm64', 'x86_64'],
      unattended_install: true,
      unused_software_removal_info: { removal_days: 90, bundle_ids: ['org.mozilla.firefox'] },
      uninstall_method: 'remove_copied_items',
      uninstallable: true,
      update_for: 'Firefox-119.0',
      version: '120.0',
      icon_hash: 'cd'.repeat(32),
      payloads: [{ AdobeCode: 'X', installed_size: 5 }],
    };
    expect(validatePkgInfo(pkginfo)).toEqual([]);
  });

  it.each([
    ['an array', [], 'array'],
    ['a string', 'Firefox', 'string'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a date', new Date(0), 'date'],
    ['data', new Uint8Array([1]), 'data'],
  ])('reports a pkginfo that is %s, not a dictionary', (_what, value, found) => {
    expect(validatePkgInfo(value)).toEqual([error('', `must be a dictionary (found ${found})`)]);
  });

  it('requires a name and a version', () => {
    expect(validatePkgInfo({})).toEqual([
      error('name', 'is required'),
      error('version', 'is required'),
    ]);
  });

  it.each([
    ['name', 42, 'name', 'must be a string (found integer)'],
    ['name', new Date(0), 'name', 'must be a string (found date)'],
    ['version', 1, 'version', 'must be a string (found integer)'],
    ['version', new PlistReal(1.5), 'version', 'must be a string (found real)'],
    ['version', 1.5, 'version', 'must be a string (found real)'],
    ['display_name', 5, 'display_name', 'must be a string (found integer)'],
    ['description', new Uint8Array([60, 98, 62]), 'description', 'must be a string (found data)'],
    ['category', { name: 'x' }, 'category', 'must be a string (found dictionary)'],
    ['installcheck_script', ['#!/bin/sh'], 'installcheck_script', 'must be a string (found array)'],
    ['catalogs', 'testing', 'catalogs', 'must be an array (found string)'],
    ['catalogs', ['testing', 3], 'catalogs[1]', 'must be a string (found integer)'],
    [
      'supported_architectures',
      'arm64',
      'supported_architectures',
      'must be an array (found string)',
    ],
    ['installer_item_size', '1024', 'installer_item_size', 'must be an integer (found string)'],
    [
      'installer_item_size',
      new PlistReal(3),
      'installer_item_size',
      'must be an integer (found real)',
    ],
    ['installed_size', true, 'installed_size', 'must be an integer (found boolean)'],
    ['unattended_install', 'true', 'unattended_install', 'must be a boolean (found string)'],
    ['unattended_install', 1, 'unattended_install', 'must be a boolean (found integer)'],
    ['autoremove', 0, 'autoremove', 'must be a boolean (found integer)'],
    ['force_install_after_date', 5, 'force_install_after_date', 'must be a date (found integer)'],
    ['localized_strings', 'de', 'localized_strings', 'must be a dictionary (found string)'],
    ['_metadata', 'made by hand', '_metadata', 'must be a dictionary (found string)'],
    ['installs', {}, 'installs', 'must be an array (found dictionary)'],
    ['installs', ['Firefox.app'], 'installs[0]', 'must be a dictionary (found string)'],
    ['installs', [{ path: '/Applications/X.app' }], 'installs[0].type', 'is required'],
    [
      'installs',
      [{ type: 'application', path: 5 }],
      'installs[0].path',
      'must be a string (found integer)',
    ],
    [
      'installs',
      [{ type: 'file', path: '/x', md5checksum: new Uint8Array([1]) }],
      'installs[0].md5checksum',
      'must be a string (found data)',
    ],
    [
      'installs',
      [{ type: 'plist', path: '/x', CFBundleShortVersionString: 1.5 }],
      'installs[0].CFBundleShortVersionString',
      'must be a string (found real)',
    ],
    ['receipts', [{ version: '1.0' }], 'receipts[0].packageid', 'is required'],
    ['receipts', [{ packageid: 'com.x' }], 'receipts[0].version', 'is required'],
    ['receipts', [{ packageid: 'com.x', optional: false }], 'receipts[0].version', 'is required'],
    [
      'receipts',
      [{ packageid: 'com.x', version: '1', installed_size: '5' }],
      'receipts[0].installed_size',
      'must be an integer (found string)',
    ],
    [
      'receipts',
      [{ packageid: 'com.x', version: '1', optional: 'yes' }],
      'receipts[0].optional',
      'must be a boolean (found string)',
    ],
    [
      'items_to_copy',
      [{ destination_path: '/Applications' }],
      'items_to_copy[0].source_item',
      'is required',
    ],
    [
      'items_to_copy',
      [{ source_item: 'X.app', mode: 755 }],
      'items_to_copy[0].mode',
      'must be a string (found integer)',
    ],
    [
      'installer_choices_xml',
      [{ choiceIdentifier: 5 }],
      'installer_choices_xml[0].choiceIdentifier',
      'must be a string (found integer)',
    ],
    [
      'installer_environment',
      { FOO: 1 },
      'installer_environment.FOO',
      'must be a string (found integer)',
    ],
    [
      'installer_environment',
      { 'MY VAR': true },
      'installer_environment["MY VAR"]',
      'must be a string (found boolean)',
    ],
    ['requires', 5, 'requires', 'must be an array or a string (found integer)'],
    ['requires', ['Foo', 5], 'requires[1]', 'must be a string (found integer)'],
    [
      'update_for',
      { name: 'Foo' },
      'update_for',
      'must be an array or a string (found dictionary)',
    ],
    ['update_for', [['Foo']], 'update_for[0]', 'must be a string (found array)'],
    ['preinstall_alert', 'Sure?', 'preinstall_alert', 'must be a dictionary (found string)'],
    [
      'preupgrade_alert',
      { alert_title: 5 },
      'preupgrade_alert.alert_title',
      'must be a string (found integer)',
    ],
    [
      'unused_software_removal_info',
      {},
      'unused_software_removal_info.removal_days',
      'is required',
    ],
    [
      'unused_software_removal_info',
      { removal_days: '30' },
      'unused_software_removal_info.removal_days',
      'must be an integer (found string)',
    ],
    [
      'unused_software_removal_info',
      { removal_days: 30, bundle_ids: 'com.x' },
      'unused_software_removal_info.bundle_ids',
      'must be an array (found string)',
    ],
    ['payloads', ['x'], 'payloads[0]', 'must be a dictionary (found string)'],
  ] as [string, PlistValue, string, string][])(
    'reports %s = %j at %s',
    (key, value, path, message) => {
      expect(validatePkgInfo(withKey(key, value))).toEqual([error(path, message)]);
    },
  );

  it.each([
    ['requires', 'Python3'],
    ['requires', ['Python3', 'Helper-1.0']],
    ['update_for', 'Firefox'],
    ['update_for', []],
    ['installer_item_size', 10n ** 30n],
    ['installed_size', 0],
    ['blocking_applications', []],
    ['_metadata', { creation_date: '2014-03-14T16:26:02.143000' }],
    ['receipts', [{ packageid: 'com.x', optional: true }]],
    ['installer_choices_xml', [{ choiceIdentifier: 'a', attributeSetting: 'x' }]],
    ['localized_strings', { de: { display_name: 'Feuerfuchs' } }],
  ] as [string, PlistValue][])('accepts %s = %o', (key, value) => {
    expect(validatePkgInfo(withKey(key, value))).toEqual([]);
  });

  it('warns about a force_install_after_date written as a string', () => {
    expect(validatePkgInfo(withKey('force_install_after_date', '2024-06-01T17:00:00Z'))).toEqual([
      {
        path: 'force_install_after_date',
        message:
          'should be a date (found string): Munki clients ignore a deadline written as a string, so it is not enforced',
        severity: 'warning',
      },
    ]);
  });

  it('allows unknown keys of any type, including awkward names', () => {
    const pkginfo: PlistDict = {
      ...minimal,
      Category: 'Utilities',
      displayname: 'typo of display_name',
      my_admin_key: { nested: [new Date(0), new Uint8Array([1]), new PlistReal(2.5), 2n ** 70n] },
      '0': 'numeric-looking key',
    };
    setDictKey(pkginfo, '__proto__', 'not a prototype');
    setDictKey(pkginfo, 'constructor', 5);
    expect(validatePkgInfo(pkginfo)).toEqual([]);
  });

  it('reports only the type of a wrongly typed value, not the keys it lacks', () => {
    expect(validatePkgInfo(withKey('installs', [new Date(0)]))).toEqual([
      error('installs[0]', 'must be a dictionary (found date)'),
    ]);
    expect(validatePkgInfo(withKey('unused_software_removal_info', new Uint8Array()))).toEqual([
      error('unused_software_removal_info', 'must be a dictionary (found data)'),
    ]);
  });

  it('lists issues in the order of the file, missing keys last', () => {
    const pkginfo: PlistDict = {
      version: 2,
      receipts: [{ optional: false }],
      catalogs: [1, 'testing', 2],
      installs: [{ type: 'application' }, { path: 3 }],
    };
    expect(validatePkgInfo(pkginfo)).toEqual([
      error('version', 'must be a string (found integer)'),
      error('receipts[0].packageid', 'is required'),
      error('receipts[0].version', 'is required'),
      error('catalogs[0]', 'must be a string (found integer)'),
      error('catalogs[2]', 'must be a string (found integer)'),
      error('installs[1].path', 'must be a string (found integer)'),
      error('installs[1].type', 'is required'),
      error('name', 'is required'),
    ]);
  });

  it('tells an array index from a dict key that looks like one', () => {
    expect(validatePkgInfo(withKey('installer_environment', { '0': 1 }))).toEqual([
      error('installer_environment["0"]', 'must be a string (found integer)'),
    ]);
  });

  it('does not modify the value it checks', () => {
    const pkginfo: PlistDict = { name: 'X', version: '1', receipts: [{ packageid: 'a' }] };
    const before = structuredClone(pkginfo);
    validatePkgInfo(pkginfo);
    expect(pkginfo).toEqual(before);
  });
});

describe('pkginfoSchema', () => {
  it('is a draft 2020-12 schema that never forbids unknown keys', () => {
    expect(pkginfoSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(JSON.stringify(pkginfoSchema)).not.toContain('"additionalProperties":false');
    expect(JSON.stringify(pkginfoSchema)).not.toContain('unevaluatedProperties');
  });

  // Every key of munki-behaviour.md §b, so a key dropped from the schema is noticed.
  it.each([
    'name',
    'version',
    'display_name',
    'description',
    'catalogs',
    'category',
    'developer',
    'icon_name',
    'icon_hash',
    'featured',
    'localized_strings',
    'notes',
    '_metadata',
    'installer_item_location',
    'installer_item_hash',
    'installer_item_size',
    'installed_size',
    'uninstaller_item_location',
    'uninstaller_item_hash',
    'uninstaller_item_size',
    'PackageCompleteURL',
    'PackageURL',
    'installer_type',
    'package_path',
    'items_to_copy',
    'installer_choices_xml',
    'installer_environment',
    'allow_untrusted',
    'suppress_bundle_relocation',
    'additional_startosinstall_options',
    'installs',
    'receipts',
    'installcheck_script',
    'uninstallcheck_script',
    'version_script',
    'preinstall_script',
    'postinstall_script',
    'preuninstall_script',
    'postuninstall_script',
    'uninstall_script',
    'uninstallable',
    'uninstall_method',
    'unattended_install',
    'unattended_uninstall',
    'forced_install',
    'forced_uninstall',
    'blocking_applications',
    'RestartAction',
    'force_install_after_date',
    'requires',
    'update_for',
    'minimum_os_version',
    'maximum_os_version',
    'supported_architectures',
    'installable_condition',
    'installable_condition_disabled',
    'minimum_munki_version',
    'autoremove',
    'OnDemand',
    'precache',
    'apple_item',
    'unused_software_removal_info',
    'licensed_seat_info_available',
    'note',
    'preinstall_alert',
    'preuninstall_alert',
    'preupgrade_alert',
    'display_name_staged',
    'description_staged',
    'installed_size_staged',
    'payloads',
    'PayloadIdentifier',
    'adobe_install_info',
    'adobe_package_name',
  ])('types %s', (key) => {
    expect(pkginfoSchema.properties).toHaveProperty([key]);
  });
});

const realWorld = join(import.meta.dirname, '../../../shared/fixtures/real-world');

describe.skipIf(!existsSync(realWorld))('validatePkgInfo on real-world pkgsinfo', () => {
  const dir = join(realWorld, 'pkgsinfo');
  const files = existsSync(dir) ? readdirSync(dir).sort() : [];

  // Files that are odd but that Munki reads without trouble, so the schema must accept them.
  // (Only types are checked: unknown or retired installer_type values are `repo check`'s concern.)
  const expected: Record<string, SchemaIssue[]> = {
    // A Windows item: installer_type "msi", an "msi" array, "displayname" (sic), and a
    // _metadata.creation_date that is a string, not a date. _metadata contents are not checked.
    'umeditor__munki__7z920-x64.plist': [],
    // Both "Category" and "category": the capitalised one is just an unknown admin key.
    'umeditor__munki__VMwareFusion-7.1.2.plist': [],
    // A version ending in two spaces: still a string.
    'talentum__munki__Flip4Mac-3.2.0.16  .plist': [],
    // Adobe CS5 AAMEE package with adobe_install_info and payloads: legacy keys, passed through.
    'bruienne__Cengage-Munki-Repo__CreativeSuite5MasterCollection-5.0.0.0.0.plist': [],
    // An empty receipts array.
    'talentum__munki__SneakPeek Pro Installer-1.6.1': [],
    // An empty blocking_applications array (= nothing blocks).
    'joncrain__automunki__TeamViewer-15.43.9.plist': [],
    // force_install_after_date as a real <date>, on apple_update_metadata items.
    'jhowe-sgs__munki_repo__Mac_OS_X_10.10.5_Security_Update_2016-003-031-51438.plist': [],
    'AaronBurchfield__munkirepo__OS X El Capitan Public Beta-5': [],
    // Legacy forced_install (alias of unattended_install) and OnDemand.
    'bruienne__Cengage-Munki-Repo__MunkiScripts-1.0.plist': [],
    'sphen13__munki-scripts__MSKeychainNuke.plist': [],
    // startosinstall with installable_condition and apple_item.
    'sphen13__munki-scripts__Install macOS High Sierra-10.13.6.plist': [],
    // A tool's own key (force_munkiimport) and a version that is a timestamp.
    'DWBergstrom__munki_files__Warp-0.2026.04.15.08.45.02.plist': [],
  };

  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(50);
    for (const name of Object.keys(expected)) expect(files).toContain(name);
  });

  it.each(files)('%s', (file) => {
    let value: PlistValue;
    try {
      value = parsePlist(readFileSync(join(dir, file)), { source: file });
    } catch {
      // Files that do not parse (a committed merge conflict) are the parser's and makecatalogs'
      // business, not the schema's.
      return;
    }
    expect(validatePkgInfo(value)).toEqual(expected[file] ?? []);
  });

  const catalogsDir = join(realWorld, 'catalogs');
  const catalogFiles = existsSync(catalogsDir) ? readdirSync(catalogsDir).sort() : [];

  it.each(catalogFiles)('every item of catalog %s', (file) => {
    const catalog = parsePlist(readFileSync(join(catalogsDir, file)), { source: file });
    expect(Array.isArray(catalog)).toBe(true);
    const items = Array.isArray(catalog) ? catalog : [];
    expect(items.map((item) => validatePkgInfo(item))).toEqual(items.map(() => []));
  });
});
