import { describe, expect, it } from 'vitest';

import { buildCatalogIndex, openCatalogIndex } from '../../../catalogs/index.js';
import type { PlistDict } from '../../../formats/index.js';
import { resolveManifestTree, type Facts } from '../../../manifests/index.js';
import {
  analyzeReceipts,
  buildInstallPlan,
  toCheckJson,
  toInstallInfo,
  type InstallPlan,
  type LocalOnlyManifest,
  type PlanOptions,
} from '../../../client/plan/index.js';
import { fakeEvidence, type FakeMac } from './fake-evidence.js';

/** A pkginfo whose install state is its receipt `com.<name>` at its version. */
function pkg(name: string, version: string, extra: PlistDict = {}): PlistDict {
  return {
    name,
    version,
    installer_item_location: `apps/${name}-${version}.pkg`,
    installer_item_hash: `hash-${name}-${version}`,
    installer_item_size: 100,
    installed_size: 300,
    receipts: [{ packageid: `com.${name}`, version }],
    ...extra,
  };
}

/** A pkginfo that may be removed with removepackages. */
const removable = (name: string, version: string, extra: PlistDict = {}): PlistDict =>
  pkg(name, version, { uninstallable: true, uninstall_method: 'removepackages', ...extra });

interface Spec {
  manifests: Record<string, PlistDict>;
  catalogs: Record<string, PlistDict[]>;
  mac?: FakeMac;
  facts?: Facts;
  selfServe?: PlistDict;
  localOnly?: LocalOnlyManifest;
  options?: Partial<PlanOptions>;
}

/** Resolves `site` over the given manifests and plans against a fake Mac. */
async function check(spec: Spec): Promise<InstallPlan> {
  const facts = spec.facts ?? { os_vers_major: 14 };
  const manifests = await resolveManifestTree(
    'site',
    (name) => {
      const m = spec.manifests[name];
      return m ? Promise.resolve(m) : Promise.reject(new Error(`no manifest ${name}`));
    },
    facts,
  );
  const catalogs = new Map(
    Object.entries(spec.catalogs).map(([n, items]) => [
      n,
      openCatalogIndex(buildCatalogIndex(items)),
    ]),
  );
  return buildInstallPlan({
    manifests,
    catalogs,
    facts,
    evidence: fakeEvidence(spec.mac ?? {}),
    ...(spec.selfServe ? { selfServeManifest: spec.selfServe } : {}),
    ...(spec.localOnly ? { localOnlyManifest: spec.localOnly } : {}),
    options: {
      abbotVersion: '7.0.4',
      osVersion: '14.5',
      arch: 'arm64',
      now: new Date('2025-06-01T12:00:00Z'),
      utcOffsetMinutes: () => 0,
      ...spec.options,
    },
  });
}

const site = (sections: PlistDict, catalogs = ['prod']): Record<string, PlistDict> => ({
  site: { catalogs, ...sections },
});

const names = (items: readonly { name: string }[]) => items.map((i) => i.name);

describe('managed_installs', () => {
  it('plans an item that is not installed, with Munki’s entry fields and a reason', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: {
        prod: [pkg('Foo', '1.0'), pkg('Foo', '2.0', { RestartAction: 'RequireRestart' })],
      },
    });
    expect(plan.managedInstalls).toEqual([
      expect.objectContaining({
        name: 'Foo',
        display_name: 'Foo',
        description: '',
        installed: false,
        version_to_install: '2.0',
        installer_item: 'Foo-2.0.pkg',
        installer_item_location: 'apps/Foo-2.0.pkg',
        installer_item_hash: 'hash-Foo-2.0',
        installer_item_size: 100,
        installed_size: 300,
        RestartAction: 'RequireRestart',
        reason: 'managed_installs in site',
      }),
    ]);
    expect(plan.processedInstalls).toEqual(['Foo']);
  });

  it('records an item installed at the same version as installed, not to install', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0')] },
      mac: { receipts: { 'com.Foo': '2.0' } },
    });
    expect(plan.managedInstalls).toEqual([]);
    expect(plan.installedItems).toEqual([
      expect.objectContaining({ name: 'Foo', installed: true, installed_version: '2.0' }),
    ]);
  });

  it('reports the detected version when a newer one is installed', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0')] },
      mac: { receipts: { 'com.Foo': '2.5' } },
    });
    expect(plan.installedItems[0]?.installed_version).toBe('2.5');
  });

  it('installs what an item requires first, recursively', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['App'] }),
      catalogs: {
        prod: [
          pkg('App', '1', { requires: ['Lib', 'Runtime'] }),
          pkg('Lib', '1', { requires: 'Runtime' }),
          pkg('Runtime', '1'),
        ],
      },
    });
    expect(plan.managedInstalls.map((i) => [i.name, i.reason])).toEqual([
      ['Runtime', 'required by Lib'],
      ['Lib', 'required by App'],
      ['App', 'managed_installs in site'],
    ]);
  });

  it('does not install an item whose requirement cannot be found, and says why', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['App'] }),
      catalogs: { prod: [pkg('App', '1', { requires: ['Missing'] })] },
    });
    expect(plan.managedInstalls).toEqual([]);
    expect(plan.problemItems.map((p) => [p.name, p.note])).toEqual([
      [
        'App',
        "Can't install App because could not verify all other items it requires are or will be installed.",
      ],
      ['Missing', 'not available in any catalog: Missing (catalogs: prod)'],
    ]);
  });

  it('stops a requires cycle with a warning instead of recursing forever', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['A'] }),
      catalogs: { prod: [pkg('A', '1', { requires: ['B'] }), pkg('B', '1', { requires: ['A'] })] },
    });
    expect(plan.warnings).toContain('requires cycle: A → B → A');
    expect(plan.managedInstalls).toEqual([]);
  });

  it('installs updates for an installed item', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '1.0'), pkg('FooPlugin', '3', { update_for: ['Foo'] })] },
      mac: { receipts: { 'com.Foo': '1.0' } },
    });
    expect(plan.managedInstalls.map((i) => [i.name, i.reason])).toEqual([
      ['FooPlugin', 'update for Foo'],
    ]);
  });

  it('installs updates for an item that is about to be installed, after it', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('FooPlugin', '3', { update_for: 'Foo' }), pkg('Foo', '1.0')] },
    });
    expect(names(plan.managedInstalls)).toEqual(['Foo', 'FooPlugin']);
  });

  it.each<[string, string | undefined, string[]]>([
    ['installed at that version', '1.0', ['Patch']],
    ['installed newer than it', '1.5', []],
    ['about to be installed at that version', undefined, ['Foo', 'Patch']],
  ])('applies a name-version update_for to an item %s', async (_label, installed, expected) => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '1.0'), pkg('Patch', '1', { update_for: ['Foo-1.0'] })] },
      mac: installed === undefined ? {} : { receipts: { 'com.Foo': installed } },
    });
    expect(names(plan.managedInstalls)).toEqual(expected);
  });

  it('applies a name-version update_for for the pinned version that is installed', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo--1.0'] }),
      catalogs: {
        prod: [
          pkg('Foo', '1.0'),
          pkg('Foo', '2.0'),
          pkg('Patch', '1', { update_for: ['Foo--1.0'] }),
        ],
      },
      mac: { receipts: { 'com.Foo': '1.0' } },
    });
    expect(names(plan.managedInstalls)).toEqual(['Patch']);
  });

  it('installs the pinned version of a name--version entry', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo--1.0'] }),
      catalogs: { prod: [pkg('Foo', '1.0'), pkg('Foo', '2.0')] },
    });
    expect(plan.managedInstalls[0]?.version_to_install).toBe('1.0');
    expect(plan.processedInstalls).toEqual(['Foo--1.0']);
  });

  it('looks only for version-specific updates when a version is pinned', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo--1.0'] }),
      catalogs: { prod: [pkg('Foo', '1.0'), pkg('Plugin', '1', { update_for: ['Foo'] })] },
    });
    expect(names(plan.managedInstalls)).toEqual(['Foo']);
  });

  it('drops a path prefix from manifest entries', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['apps/Foo'] }),
      catalogs: { prod: [pkg('Foo', '1.0')] },
    });
    expect(names(plan.managedInstalls)).toEqual(['Foo']);
  });

  it('processes an entry listed twice once', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo', 'Foo'] }),
      catalogs: { prod: [pkg('Foo', '1.0')] },
    });
    expect(names(plan.managedInstalls)).toEqual(['Foo']);
  });

  it('skips an item already planned at the same or a higher version under another spelling', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo', 'Foo--1.0'] }),
      catalogs: { prod: [pkg('Foo', '1.0')] },
    });
    expect(names(plan.managedInstalls)).toEqual(['Foo']);
  });

  it('picks an older eligible version when the newest needs a newer macOS', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '1.0'), pkg('Foo', '2.0', { minimum_os_version: '15.0' })] },
    });
    expect(plan.managedInstalls[0]?.version_to_install).toBe('1.0');
  });

  it('reports an item no version of which fits this Mac as a problem with the reason', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: {
        prod: [
          pkg('Foo', '2.0', { minimum_os_version: '15.0' }),
          pkg('Foo', '1.0', { supported_architectures: ['x86_64'] }),
        ],
      },
    });
    expect(plan.problemItems).toEqual([
      {
        name: 'Foo',
        installed: false,
        reason: 'managed_installs in site',
        note: 'Foo-2.0 requires macOS 15.0 or later (this Mac runs 14.5); Foo-1.0 is not supported on arm64 (supports x86_64)',
      },
    ]);
  });

  it('takes an older version from an earlier catalog over a newer one from a later catalog', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }, ['testing', 'prod']),
      catalogs: { testing: [pkg('Foo', '1.5')], prod: [pkg('Foo', '3.0')] },
    });
    expect(plan.managedInstalls[0]?.version_to_install).toBe('1.5');
  });

  it('skips items whose installable_condition is false', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: {
        prod: [
          pkg('Foo', '2.0', { installable_condition: 'os_vers_major >= 15' }),
          pkg('Foo', '1.0', { installable_condition: 'os_vers_major >= 14' }),
        ],
      },
    });
    expect(plan.managedInstalls[0]?.version_to_install).toBe('1.0');
  });

  it('warns once about a catalog that is not loaded', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo', 'Bar'] }, ['gone', 'prod']),
      catalogs: { prod: [pkg('Foo', '1'), pkg('Bar', '1')] },
    });
    expect(plan.warnings.filter((w) => w.includes('gone'))).toEqual([
      'catalog gone is not available; items are not looked up in it',
    ]);
  });

  it('installs a nopkg item as a packageless install', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Script'] }),
      catalogs: {
        prod: [
          { name: 'Script', version: '1', installer_type: 'nopkg', installcheck_script: 'chk' },
        ],
      },
      mac: { scripts: { chk: 0 } },
    });
    expect(plan.managedInstalls[0]).toMatchObject({
      installer_item: 'packageless_install',
      installer_type: 'nopkg',
    });
  });

  it('never installs a nopkg item with nothing to check', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Script'] }),
      catalogs: { prod: [{ name: 'Script', version: '1', installer_type: 'nopkg' }] },
    });
    expect(plan.managedInstalls).toEqual([]);
  });

  it('reports an item without installer_item_location as a problem', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: {
        prod: [{ name: 'Foo', version: '1', receipts: [{ packageid: 'p', version: '1' }] }],
      },
    });
    expect(plan.problemItems[0]).toMatchObject({
      name: 'Foo',
      note: 'Download failed: No installer_item_location in item info.',
    });
  });
});

describe('unattended installs', () => {
  it.each<[string, PlistDict, boolean]>([
    ['unattended_install', { unattended_install: true }, true],
    ['its legacy alias forced_install', { forced_install: true }, true],
    [
      'unattended_install with RestartAction None',
      { unattended_install: true, RestartAction: 'None' },
      true,
    ],
    [
      'unattended_install with a restart',
      { unattended_install: true, RestartAction: 'RequireRestart' },
      false,
    ],
    [
      'a past force_install_after_date',
      { force_install_after_date: new Date('2025-06-01T11:00:00Z') },
      true,
    ],
    [
      'a future force_install_after_date',
      { force_install_after_date: new Date('2025-06-01T13:00:00Z') },
      false,
    ],
    [
      'a past force_install_after_date with a RestartAction',
      {
        force_install_after_date: new Date('2025-01-01T00:00:00Z'),
        RestartAction: 'RequireLogout',
      },
      false,
    ],
    [
      'a force_install_after_date string (ignored)',
      { force_install_after_date: '2020-01-01T00:00:00Z' },
      false,
    ],
  ])('decides %s', async (_label, extra, expected) => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '1', extra)] },
    });
    expect(plan.managedInstalls[0]?.unattended_install === true).toBe(expected);
  });

  it('reads force_install_after_date as local wall-clock time', async () => {
    // 12:30 "local" in a zone two hours east of UTC is 10:30Z, before now (12:00Z)
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: {
        prod: [pkg('Foo', '1', { force_install_after_date: new Date('2025-06-01T12:30:00Z') })],
      },
      options: { utcOffsetMinutes: () => 120 },
    });
    expect(plan.managedInstalls[0]?.unattended_install).toBe(true);
  });

  it('plans a macOS upgrade with no installer item as one softwareupdate fetches', async () => {
    const upgrade = { name: 'Install_macOS_Sequoia', version: '15.1' };
    const plan = await check({
      manifests: site({ managed_installs: ['Install_macOS_Sequoia'] }),
      catalogs: { prod: [{ ...upgrade, installer_type: 'startosinstall' }] },
    });
    expect(plan.problemItems).toEqual([]);
    expect(plan.managedInstalls[0]).toMatchObject({
      name: 'Install_macOS_Sequoia',
      version_to_install: '15.1',
      installer_item: 'fetch_full_installer',
      apple_item: true,
    });
  });

  it('warns when a RestartAction overrides unattended_install', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'] }),
      catalogs: {
        prod: [pkg('Foo', '1', { unattended_install: true, RestartAction: 'RequireRestart' })],
      },
    });
    expect(plan.warnings).toContain(
      'Ignoring unattended_install key for Foo because RestartAction is RequireRestart.',
    );
  });
});

describe('managed_updates', () => {
  it('updates an item only where some version is installed', async () => {
    const plan = await check({
      manifests: site({ managed_updates: ['Foo', 'Bar'] }),
      catalogs: { prod: [pkg('Foo', '2.0'), pkg('Bar', '2.0')] },
      mac: { receipts: { 'com.Foo': '1.0' } },
    });
    expect(plan.managedUpdates).toEqual(['Foo']);
    expect(plan.managedInstalls.map((i) => [i.name, i.reason])).toEqual([
      ['Foo', 'managed_updates in site'],
    ]);
    expect(plan.processedInstalls).toEqual([]);
  });

  it('leaves an item already handled by managed_installs alone', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'], managed_updates: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0')] },
      mac: { receipts: { 'com.Foo': '1.0' } },
    });
    expect(plan.managedUpdates).toEqual([]);
    expect(plan.managedInstalls.map((i) => i.reason)).toEqual(['managed_installs in site']);
  });
});

describe('managed_uninstalls', () => {
  it('removes an installed item with Munki’s removal fields', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: { prod: [removable('Foo', '1.0', { unattended_uninstall: true })] },
      mac: { receipts: { 'com.Foo': '1.0' } },
    });
    expect(plan.removals).toEqual([
      expect.objectContaining({
        name: 'Foo',
        description: 'Will be removed.',
        installed: true,
        installed_version: '1.0',
        uninstall_method: 'removepackages',
        packages: ['com.Foo'],
        unattended_uninstall: true,
        reason: 'managed_uninstalls in site',
      }),
    ]);
  });

  it('records an item that is not installed as already removed', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: { prod: [removable('Foo', '1.0')] },
    });
    expect(plan.removals).toEqual([]);
    expect(plan.removedItems).toEqual([
      { name: 'Foo', installed: false, reason: 'managed_uninstalls in site' },
    ]);
  });

  it.each<[string, PlistDict, string]>([
    ['not uninstallable', { uninstallable: false }, 'Item Foo-1.0 is not marked as uninstallable.'],
    ['without an uninstall_method', { uninstall_method: '' }, 'No uninstall_method in Foo-1.0.'],
    [
      'with an unsupported method',
      { uninstall_method: 'remove_app' },
      'Uninstall method remove_app is no longer supported.',
    ],
    [
      'with a method that is not a file',
      { uninstall_method: '/usr/local/bin/nope' },
      'Uninstall method /usr/local/bin/nope is not a valid method.',
    ],
    [
      'with uninstall_script but no script',
      { uninstall_method: 'uninstall_script' },
      "Can't uninstall Foo because uninstall_script is undefined or invalid.",
    ],
  ])('does not remove an item %s', async (_label, extra, warning) => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: { prod: [removable('Foo', '1.0', extra)] },
      mac: { receipts: { 'com.Foo': '1.0' } },
    });
    expect(plan.removals).toEqual([]);
    expect(plan.warnings).toContain(warning);
  });

  it('removes an item with a local uninstall executable', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: { prod: [removable('Foo', '1.0', { uninstall_method: '/usr/local/bin/rm-foo' })] },
      mac: { receipts: { 'com.Foo': '1.0' }, files: { '/usr/local/bin/rm-foo': true } },
    });
    expect(plan.removals[0]?.uninstall_method).toBe('/usr/local/bin/rm-foo');
  });

  it('removes the installed items that require it first', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Lib'] }),
      catalogs: {
        prod: [
          removable('Lib', '1'),
          removable('App', '1', { requires: ['Lib'] }),
          removable('Other', '1', { requires: ['Lib-1'] }),
          removable('NotInstalled', '1', { requires: ['Lib'] }),
        ],
      },
      mac: { receipts: { 'com.Lib': '1', 'com.App': '1', 'com.Other': '1' } },
    });
    expect(plan.removals.map((r) => [r.name, r.reason])).toEqual([
      ['App', 'requires Lib, which is being removed'],
      ['Other', 'requires Lib, which is being removed'],
      ['Lib', 'managed_uninstalls in site'],
    ]);
  });

  it('does not remove an item when an item requiring it cannot be removed', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Lib'] }),
      catalogs: { prod: [removable('Lib', '1'), pkg('App', '1', { requires: ['Lib'] })] },
      mac: { receipts: { 'com.Lib': '1', 'com.App': '1' } },
    });
    expect(plan.removals).toEqual([]);
    expect(plan.warnings).toContain(
      'Will not attempt to remove Lib because could not remove all items dependent on it.',
    );
  });

  it('removes updates for the item before it', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: {
        prod: [removable('Foo', '1'), removable('FooPatch', '1', { update_for: ['Foo'] })],
      },
      mac: { receipts: { 'com.Foo': '1', 'com.FooPatch': '1' } },
    });
    expect(plan.removals.map((r) => [r.name, r.reason])).toEqual([
      ['FooPatch', 'update for Foo, which is being removed'],
      ['Foo', 'managed_uninstalls in site'],
    ]);
  });

  it('removes only the receipts no other installed item shares (removepackages)', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: {
        prod: [
          removable('Foo', '1', {
            receipts: [
              { packageid: 'com.Foo', version: '1' },
              { packageid: 'com.shared', version: '1' },
            ],
          }),
          removable('Bar', '1', {
            receipts: [
              { packageid: 'com.Bar', version: '1' },
              { packageid: 'com.shared', version: '1' },
            ],
          }),
        ],
      },
      mac: { receipts: { 'com.Foo': '1', 'com.Bar': '1', 'com.shared': '1' } },
    });
    expect(plan.removals[0]?.packages).toEqual(['com.Foo']);
  });

  it('does not remove an item whose receipts are all shared with an installed item', async () => {
    const shared = [{ packageid: 'com.shared', version: '1' }];
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'] }),
      catalogs: {
        prod: [
          removable('Foo', '1', { receipts: shared }),
          removable('Bar', '1', { receipts: [...shared, { packageid: 'com.Bar', version: '1' }] }),
        ],
      },
      mac: { receipts: { 'com.shared': '1', 'com.Bar': '1' } },
    });
    expect(plan.removals).toEqual([]);
    expect(plan.warnings).toContain('could not find unique packages to remove for Foo');
  });

  it('removes the pinned version only when that version shows evidence', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo--1.0'] }),
      catalogs: {
        prod: [
          removable('Foo', '1.0', {
            installs: [{ type: 'file', path: '/old' }],
            uninstall_method: 'uninstall_script',
            uninstall_script: 'x',
          }),
          removable('Foo', '2.0', {
            installs: [{ type: 'file', path: '/new' }],
            uninstall_method: 'uninstall_script',
            uninstall_script: 'x',
          }),
        ],
      },
      mac: { files: { '/new': true } },
    });
    expect(plan.removals).toEqual([]);
    expect(names(plan.removedItems)).toEqual(['Foo']);
  });
});

describe('install wins over uninstall', () => {
  it('keeps an item both installed and uninstalled in one manifest', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'], managed_installs: ['Foo'] }),
      catalogs: { prod: [removable('Foo', '1')] },
      mac: { receipts: { 'com.Foo': '1' } },
    });
    expect(plan.removals).toEqual([]);
    expect(names(plan.installedItems)).toEqual(['Foo']);
    expect(plan.warnings).toContain(
      'Will not attempt to remove Foo because some version of it is in the list of managed installs, or it is required by another managed install.',
    );
  });

  it.each([
    [
      'the uninstall is in an included manifest',
      { managed_installs: ['Foo'] },
      { managed_uninstalls: ['Foo'] },
    ],
    [
      'the install is in an included manifest',
      { managed_uninstalls: ['Foo'] },
      { managed_installs: ['Foo'] },
    ],
  ])('keeps the item when %s', async (_label, own, included) => {
    const plan = await check({
      manifests: {
        site: { catalogs: ['prod'], included_manifests: ['inc'], ...own },
        inc: included,
      },
      catalogs: { prod: [removable('Foo', '1')] },
    });
    expect(names(plan.managedInstalls)).toEqual(['Foo']);
    expect(plan.processedUninstalls).toEqual([]);
  });

  it('keeps an item another managed install requires', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['App'], managed_uninstalls: ['Lib'] }),
      catalogs: { prod: [pkg('App', '1', { requires: ['Lib'] }), removable('Lib', '1')] },
      mac: { receipts: { 'com.App': '1', 'com.Lib': '1' } },
    });
    expect(plan.removals).toEqual([]);
  });

  it('refuses a self-service install of an item managed_uninstalls removes', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Foo'], optional_installs: ['Foo'] }),
      catalogs: { prod: [removable('Foo', '1')] },
      mac: { receipts: { 'com.Foo': '1' } },
      selfServe: { managed_installs: ['Foo'] },
    });
    expect(names(plan.removals)).toEqual(['Foo']);
    expect(plan.managedInstalls).toEqual([]);
  });
});

describe('autoremove', () => {
  const catalogs = { prod: [removable('Old', '1', { autoremove: true })] };
  const mac = { receipts: { 'com.Old': '1' } };

  it('removes an installed autoremove item nothing manages', async () => {
    const plan = await check({ manifests: site({}), catalogs, mac });
    expect(plan.removals.map((r) => [r.name, r.reason])).toEqual([['Old', 'autoremove']]);
  });

  it('keeps an autoremove item that is a managed install', async () => {
    const plan = await check({ manifests: site({ managed_installs: ['Old'] }), catalogs, mac });
    expect(plan.removals).toEqual([]);
  });

  it('removes an autoremove item that is only an optional install', async () => {
    const plan = await check({ manifests: site({ optional_installs: ['Old'] }), catalogs, mac });
    expect(names(plan.removals)).toEqual(['Old']);
  });

  it('looks only in the primary manifest’s catalogs', async () => {
    const plan = await check({
      manifests: {
        site: { catalogs: ['prod'], included_manifests: ['inc'] },
        inc: { catalogs: ['other'] },
      },
      catalogs: { prod: [], other: catalogs.prod },
      mac,
    });
    expect(plan.removals).toEqual([]);
  });
});

describe('optional_installs', () => {
  it.each<[string, PlistDict, FakeMac, PlistDict]>([
    ['not installed', {}, {}, { installed: false, needs_update: false }],
    [
      'installed older',
      {},
      { receipts: { 'com.Foo': '1.0' } },
      { installed: true, needs_update: true },
    ],
    [
      'installed current',
      {},
      { receipts: { 'com.Foo': '2.0' } },
      { installed: true, needs_update: false },
    ],
    [
      'uninstallable with a method',
      { uninstallable: true, uninstall_method: 'removepackages' },
      {},
      { uninstallable: true },
    ],
    ['uninstallable without a method', { uninstallable: true }, {}, { uninstallable: false }],
    ['with a pkginfo note', { note: 'Ask IT first' }, {}, { note: 'Ask IT first' }],
    ['featured', { featured: true, category: 'Web' }, {}, { featured: true, category: 'Web' }],
    [
      'precache',
      { precache: true },
      {},
      {
        precache: true,
        installer_item_location: 'apps/Foo-2.0.pkg',
        installer_item_hash: 'hash-Foo-2.0',
      },
    ],
  ])('lists an item %s', async (_label, extra, mac, expected) => {
    const plan = await check({
      manifests: site({ optional_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0', { display_name: 'Foo App', ...extra })] },
      mac,
    });
    expect(plan.optionalInstalls).toEqual([
      expect.objectContaining({
        name: 'Foo',
        display_name: 'Foo App',
        version_to_install: '2.0',
        reason: 'optional_installs in site',
        ...expected,
      }),
    ]);
  });

  it('does not list an optional install that is also a managed install', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Foo'], optional_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0')] },
    });
    expect(plan.optionalInstalls).toEqual([]);
  });

  it('offers a version for a newer macOS with a note when asked to', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0', { minimum_os_version: '15.0' })] },
      options: { showOptionalInstallsForHigherOSVersions: true },
    });
    expect(plan.optionalInstalls[0]).toMatchObject({
      note: 'Requires macOS version 15.0.',
      update_available: true,
      installed: false,
    });
  });

  it('leaves out an optional install that fits no Mac like this one, with a warning', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '2.0', { minimum_os_version: '15.0' })] },
    });
    expect(plan.optionalInstalls).toEqual([]);
    expect(plan.warnings[0]).toMatch(/^Could not process item Foo for optional install/);
  });

  it('keeps featured items in order and warns about those not offered', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Foo'], featured_items: ['Nope', 'Foo', 'Nope'] }),
      catalogs: { prod: [pkg('Foo', '2.0')] },
    });
    expect(plan.featuredItems).toEqual(['Nope', 'Foo']);
    expect(plan.warnings).toEqual([
      'Nope is in the list of featured_items, but is not in the list of optional_installs. Will be ignored.',
    ]);
  });
});

describe('self service', () => {
  const catalogs = { prod: [removable('Opt', '1'), pkg('Other', '1')] };

  it('installs a self-service choice that is an optional install', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Opt'] }),
      catalogs,
      selfServe: { managed_installs: ['Opt', 'Other'] },
    });
    expect(plan.managedInstalls.map((i) => [i.name, i.reason])).toEqual([
      ['Opt', 'self-service choice'],
    ]);
    expect(plan.optionalInstalls[0]?.will_be_installed).toBe(true);
  });

  it('removes a self-service removal and marks the offer', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Opt'] }),
      catalogs,
      mac: { receipts: { 'com.Opt': '1' } },
      selfServe: { managed_uninstalls: ['Opt'] },
    });
    expect(plan.removals.map((r) => [r.name, r.reason])).toEqual([['Opt', 'self-service removal']]);
    expect(plan.optionalInstalls[0]?.will_be_removed).toBe(true);
    expect(plan.selfServeChanged).toBe(false);
  });

  it('drops a finished removal from the self-serve manifest', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Opt'] }),
      catalogs,
      selfServe: { managed_installs: [], managed_uninstalls: ['Opt'] },
    });
    expect(plan.selfServe).toEqual({ managed_installs: [], managed_uninstalls: [] });
    expect(plan.selfServeChanged).toBe(true);
  });

  it('adds default_installs to the self-serve manifest and installs them', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Opt'], default_installs: ['Opt'] }),
      catalogs,
    });
    expect(plan.selfServe).toEqual({ default_installs: ['Opt'], managed_installs: ['Opt'] });
    expect(plan.selfServeChanged).toBe(true);
    expect(plan.managedInstalls.map((i) => [i.name, i.reason])).toEqual([
      ['Opt', 'default_installs in site'],
    ]);
  });

  it('does not add a default install again after the user removed it', async () => {
    const selfServe = { default_installs: ['Opt'], managed_installs: [] };
    const plan = await check({
      manifests: site({ optional_installs: ['Opt'], default_installs: ['Opt'] }),
      catalogs,
      selfServe,
    });
    expect(plan.selfServe).toBe(selfServe);
    expect(plan.selfServeChanged).toBe(false);
    expect(plan.managedInstalls).toEqual([]);
  });

  it('does not install a default install that is not an optional install', async () => {
    const plan = await check({
      manifests: site({ default_installs: ['Other'] }),
      catalogs,
    });
    expect(plan.selfServe).toEqual({ default_installs: ['Other'], managed_installs: ['Other'] });
    expect(plan.managedInstalls).toEqual([]);
  });

  it('does not install a self-service choice whose offer has a note', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Opt'] }),
      catalogs: { prod: [pkg('Opt', '1', { note: 'Licence needed' })] },
      selfServe: { managed_installs: ['Opt'] },
    });
    expect(plan.managedInstalls).toEqual([]);
  });
});

describe('LocalOnlyManifest', () => {
  it('processes its lists with the primary catalogs, between managed_updates and optional_installs', async () => {
    const plan = await check({
      manifests: site({ optional_installs: ['Foo'] }),
      catalogs: { prod: [pkg('Foo', '1'), pkg('Bar', '1')] },
      localOnly: {
        name: 'LocalStuff',
        manifest: { catalogs: ['x'], managed_installs: ['Foo'], optional_installs: ['Bar'] },
      },
    });
    expect(plan.managedInstalls.map((i) => [i.name, i.reason])).toEqual([
      ['Foo', 'managed_installs in LocalOnlyManifest LocalStuff'],
    ]);
    expect(plan.optionalInstalls.map((o) => [o.name, o.reason])).toEqual([
      ['Bar', 'optional_installs in LocalOnlyManifest LocalStuff'],
    ]);
    expect(plan.warnings).toContain(
      "Local-only manifest LocalStuff contains section 'catalogs'. Ignoring.",
    );
  });

  it('is skipped when it has the name of a server manifest', async () => {
    const plan = await check({
      manifests: site({}),
      catalogs: { prod: [pkg('Foo', '1')] },
      localOnly: { name: 'site', manifest: { managed_installs: ['Foo'] } },
    });
    expect(plan.managedInstalls).toEqual([]);
  });
});

describe('InstallInfo and check JSON', () => {
  const spec: Spec = {
    manifests: site({
      managed_installs: ['Foo', 'Missing'],
      managed_uninstalls: ['Gone'],
      optional_installs: ['Opt'],
      featured_items: ['Opt'],
    }),
    catalogs: {
      prod: [
        pkg('Foo', '1', {
          unattended_install: true,
          force_install_after_date: new Date('2030-01-01T00:00:00Z'),
        }),
        removable('Gone', '2'),
        pkg('Opt', '3'),
      ],
    },
    mac: { receipts: { 'com.Gone': '2' } },
  };

  it('writes Munki’s InstallInfo keys without our reason field', async () => {
    const info = toInstallInfo(await check(spec));
    expect(Object.keys(info)).toEqual([
      'featured_items',
      'managed_installs',
      'managed_updates',
      'optional_installs',
      'problem_items',
      'processed_installs',
      'processed_uninstalls',
      'removals',
    ]);
    expect(JSON.stringify(info)).not.toContain('"reason"');
    expect(info['processed_installs']).toEqual(['Foo']);
    expect(info['processed_uninstalls']).toEqual(['Gone']);
  });

  it('prints the check JSON DESIGN.md specifies', async () => {
    const json = toCheckJson(await check(spec), 'site');
    expect(json).toEqual({
      manifest: 'site',
      installs: [
        {
          name: 'Foo',
          display_name: 'Foo',
          version_to_install: '1',
          installer_type: 'pkg',
          reason: 'managed_installs in site',
          unattended: true,
          force_install_after_date: '2030-01-01T00:00:00.000Z',
          installer_item_size: 100,
          installed_size: 300,
        },
      ],
      removals: [
        {
          name: 'Gone',
          display_name: 'Gone',
          installed_version: '2',
          installer_type: 'pkg',
          reason: 'managed_uninstalls in site',
          unattended: false,
          uninstall_method: 'removepackages',
          packages: ['com.Gone'],
        },
      ],
      optional: [
        {
          name: 'Opt',
          display_name: '',
          version_to_install: '3',
          installer_type: 'pkg',
          reason: 'optional_installs in site',
          unattended: false,
          installed: false,
          needs_update: false,
        },
      ],
      appleUpdates: [],
      problems: [
        {
          name: 'Missing',
          reason: 'not available in any catalog: Missing (catalogs: prod)',
          requested: 'managed_installs in site',
        },
      ],
    });
  });
});

describe('receipt analysis', () => {
  const catalogOf = (...items: PlistDict[]) => [openCatalogIndex(buildCatalogIndex(items))];
  const receiptsOf = (r: Record<string, string>) =>
    new Map(Object.entries(r).map(([packageId, version]) => [packageId, { packageId, version }]));
  const rec = (...ids: string[]) => ids.map((packageid) => ({ packageid, version: '1.0' }));

  it.each<[string, PlistDict[], Record<string, string>, string[]]>([
    [
      'every receipt present',
      [{ name: 'A', version: '1', receipts: rec('a1', 'a2') }],
      { a1: '1', a2: '1' },
      ['A'],
    ],
    [
      'some present, one of them used by no other item',
      [
        { name: 'A', version: '1', receipts: rec('a1', 'shared') },
        { name: 'B', version: '1', receipts: rec('b1', 'shared') },
      ],
      { a1: '1', shared: '1' },
      ['A'],
    ],
    [
      'some present, all shared with an installed item',
      [
        { name: 'A', version: '1', receipts: rec('a1', 'shared') },
        { name: 'B', version: '1', receipts: rec('shared') },
      ],
      { shared: '1' },
      ['B'],
    ],
    ['none present', [{ name: 'A', version: '1', receipts: rec('a1') }], {}, []],
  ])('judges installed names when %s', (_label, items, installed, expected) => {
    const analysis = analyzeReceipts(catalogOf(...items), receiptsOf(installed));
    expect([...analysis.installedNames]).toEqual(expected);
  });

  it('adopts an orphan receipt for the one name whose receipt version it matches', () => {
    // A and B each have only the shared `o` on disk, so neither counts as installed and `o` is
    // an orphan; its version 5.1.2 starts like A's receipt version 5.1, not B's 6.0
    const items = [
      { name: 'A', version: '1', receipts: [{ packageid: 'o', version: '5.1' }, ...rec('a2')] },
      { name: 'B', version: '1', receipts: [{ packageid: 'o', version: '6.0' }, ...rec('b2')] },
    ];
    const analysis = analyzeReceipts(catalogOf(...items), receiptsOf({ o: '5.1.2' }));
    expect([...analysis.installedNames]).toEqual(['A']);
    expect(analysis.pkgReferences.get('o')).toEqual(['A']);
  });

  it('maps an installed receipt to the installed names using it', () => {
    const items = [
      { name: 'A', version: '1', receipts: rec('shared') },
      { name: 'B', version: '1', receipts: rec('shared') },
    ];
    const analysis = analyzeReceipts(catalogOf(...items), receiptsOf({ shared: '1' }));
    expect(analysis.pkgReferences.get('shared')).toEqual(['A', 'B']);
  });
});

describe('names that are not NFC', () => {
  it('removes an item named in decomposed form by its receipts', async () => {
    const plan = await check({
      manifests: site({ managed_uninstalls: ['Cafe\u0301'] }),
      catalogs: {
        prod: [
          removable('Cafe\u0301', '1', { receipts: [{ packageid: 'com.cafe', version: '1' }] }),
        ],
      },
      mac: { receipts: { 'com.cafe': '1' } },
    });
    expect(plan.removals[0]?.packages).toEqual(['com.cafe']);
  });
});

describe('apple_item', () => {
  it('marks an item installing com.apple. receipts as an Apple item', async () => {
    const plan = await check({
      manifests: site({ managed_installs: ['Tools'] }),
      catalogs: {
        prod: [
          pkg('Tools', '1', { receipts: [{ packageid: 'com.apple.pkg.CLTools', version: '1' }] }),
        ],
      },
    });
    expect(plan.managedInstalls[0]?.['apple_item']).toBe(true);
  });
});
