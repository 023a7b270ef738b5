import { describe, expect, it } from 'vitest';

import type { PkgInfo } from '../../../catalogs/index.js';
import type { PlistDict } from '../../../formats/index.js';
import {
  evidenceThisIsInstalled,
  installedState,
  installedVersionOf,
  someVersionInstalled,
  type InstallState,
} from '../../../client/plan/installed-state.js';
import { memoizeEvidence } from '../../../client/plan/install-evidence.js';
import { app, fakeEvidence, type FakeMac } from './fake-evidence.js';

const pkg = (extra: PlistDict = {}, version = '2.0'): PkgInfo => ({
  name: 'Foo',
  version,
  ...extra,
});

const APP = '/Applications/Foo.app';
const appItem = (extra: PlistDict = {}): PlistDict => ({
  type: 'application',
  path: APP,
  CFBundleShortVersionString: '2.0',
  ...extra,
});

describe('installedState', () => {
  it.each<[string, PlistDict, FakeMac, InstallState]>([
    [
      'OnDemand is never installed',
      { OnDemand: true, installs: [appItem()] },
      { apps: [app(APP, '2.0')] },
      'not-installed',
    ],
    [
      'installcheck_script exit 0 needs an install',
      { installcheck_script: 'check' },
      { scripts: { check: 0 } },
      'not-installed',
    ],
    [
      'installcheck_script non-zero is installed',
      { installcheck_script: 'check' },
      { scripts: { check: 1 } },
      'same',
    ],
    [
      'installcheck_script overrides installs items',
      { installcheck_script: 'check', installs: [appItem()] },
      { scripts: { check: 1 } },
      'same',
    ],
    [
      'version_script reporting the same version',
      { version_script: 'v' },
      { scripts: { v: { exitCode: 0, stdout: ' 2.0\n' } } },
      'same',
    ],
    [
      'version_script reporting an older version',
      { version_script: 'v' },
      { scripts: { v: { exitCode: 0, stdout: '1.0' } } },
      'older',
    ],
    [
      'version_script reporting a newer version',
      { version_script: 'v' },
      { scripts: { v: { exitCode: 0, stdout: '3.0' } } },
      'newer',
    ],
    [
      'version_script failing',
      { version_script: 'v' },
      { scripts: { v: { exitCode: 2, stdout: '2.0' } } },
      'not-installed',
    ],
    [
      'version_script printing nothing',
      { version_script: 'v' },
      { scripts: { v: { exitCode: 0, stdout: ' \n' } } },
      'not-installed',
    ],
    [
      'application at its path, same version',
      { installs: [appItem()] },
      { apps: [app(APP, '2.0')] },
      'same',
    ],
    [
      'application at its path, older',
      { installs: [appItem()] },
      { apps: [app(APP, '1.5')] },
      'older',
    ],
    [
      'application at its path, newer',
      { installs: [appItem()] },
      { apps: [app(APP, '2.1')] },
      'newer',
    ],
    ['application missing', { installs: [appItem()] }, {}, 'not-installed'],
    [
      'application without Contents/Info.plist',
      { installs: [appItem()] },
      { files: { [`${APP}/Contents/MacOS/Foo`]: true } },
      'not-installed',
    ],
    [
      'application with only CFBundleVersion',
      { installs: [appItem()] },
      { files: { [`${APP}/Contents/Info.plist`]: { CFBundleVersion: '2.0' } } },
      'same',
    ],
    [
      'application with no version at all',
      { installs: [appItem()] },
      { files: { [`${APP}/Contents/Info.plist`]: {} } },
      'not-installed',
    ],
    [
      'version_comparison_key',
      {
        installs: [appItem({ version_comparison_key: 'CFBundleVersion', CFBundleVersion: '200' })],
      },
      {
        files: {
          [`${APP}/Contents/Info.plist`]: {
            CFBundleShortVersionString: '9',
            CFBundleVersion: '150',
          },
        },
      },
      'older',
    ],
    [
      'minimum_update_version above the installed version',
      { installs: [appItem({ minimum_update_version: '1.5' })] },
      { apps: [app(APP, '1.0')] },
      'not-installed',
    ],
    [
      'minimum_update_version at or below it',
      { installs: [appItem({ minimum_update_version: '1.0' })] },
      { apps: [app(APP, '1.0')] },
      'older',
    ],
    [
      'application without path, found by bundle id elsewhere',
      {
        installs: [
          { type: 'application', CFBundleIdentifier: 'com.foo', CFBundleShortVersionString: '2.0' },
        ],
      },
      { apps: [app('/Applications/Utilities/Foo.app', '2.0', 'com.foo')] },
      'same',
    ],
    [
      'application without path, found by name',
      {
        installs: [{ type: 'application', CFBundleName: 'Foo', CFBundleShortVersionString: '2.0' }],
      },
      { apps: [app('/Applications/Foo 2.app', '2.3', 'com.other', 'Foo')] },
      'newer',
    ],
    [
      'application without path: the highest matching version decides',
      {
        installs: [
          { type: 'application', CFBundleIdentifier: 'com.foo', CFBundleShortVersionString: '2.0' },
        ],
      },
      {
        apps: [
          app('/Applications/Old.app', '1.0', 'com.foo'),
          app('/Applications/New.app', '2.0', 'com.foo'),
        ],
      },
      'same',
    ],
    [
      'application without path: only older copies',
      {
        installs: [
          { type: 'application', CFBundleIdentifier: 'com.foo', CFBundleShortVersionString: '2.0' },
        ],
      },
      { apps: [app('/Applications/Old.app', '1.0', 'com.foo')] },
      'older',
    ],
    [
      'application without path ignores copies in a user’s home',
      {
        installs: [
          { type: 'application', CFBundleIdentifier: 'com.foo', CFBundleShortVersionString: '2.0' },
        ],
      },
      { apps: [app('/Users/ann/Applications/Foo.app', '2.0', 'com.foo')] },
      'not-installed',
    ],
    [
      'bundle with Resources/Info.plist',
      {
        installs: [
          { type: 'bundle', path: '/Library/Foo.bundle', CFBundleShortVersionString: '2.0' },
        ],
      },
      {
        files: {
          '/Library/Foo.bundle/Resources/Info.plist': { CFBundleShortVersionString: '2.0' },
        },
      },
      'same',
    ],
    [
      'plist item',
      {
        installs: [
          { type: 'plist', path: '/Library/Foo.plist', CFBundleShortVersionString: '2.0' },
        ],
      },
      { files: { '/Library/Foo.plist': { CFBundleShortVersionString: '1.0' } } },
      'older',
    ],
    [
      'plist item that is not a dictionary',
      {
        installs: [
          { type: 'plist', path: '/Library/Foo.plist', CFBundleShortVersionString: '2.0' },
        ],
      },
      { files: { '/Library/Foo.plist': ['x'] } },
      'not-installed',
    ],
    [
      'file present',
      { installs: [{ type: 'file', path: '/usr/local/bin/foo' }] },
      { files: { '/usr/local/bin/foo': true } },
      'same',
    ],
    [
      'file missing',
      { installs: [{ type: 'file', path: '/usr/local/bin/foo' }] },
      {},
      'not-installed',
    ],
    [
      'file with matching md5',
      { installs: [{ type: 'file', path: '/f', md5checksum: 'abc' }] },
      { files: { '/f': true }, md5: { '/f': 'abc' } },
      'same',
    ],
    [
      'file with a different md5 counts as older',
      { installs: [{ type: 'file', path: '/f', md5checksum: 'abc' }] },
      { files: { '/f': true }, md5: { '/f': 'def' } },
      'older',
    ],
    [
      'one missing installs item among several',
      { installs: [appItem(), { type: 'file', path: '/f' }] },
      { apps: [app(APP, '2.1')] },
      'not-installed',
    ],
    [
      'an unknown installs type counts as installed (error rule)',
      { installs: [{ type: 'kext', path: '/x' }] },
      {},
      'same',
    ],
    [
      'an installs item without a type counts as installed',
      { installs: [{ path: '/x' }] },
      {},
      'same',
    ],
    [
      'an application item without path, name or id counts as installed',
      { installs: [{ type: 'application', CFBundleShortVersionString: '2.0' }] },
      {},
      'same',
    ],
    [
      'a plist item without its version key counts as installed',
      { installs: [{ type: 'plist', path: '/Library/Foo.plist' }] },
      {},
      'same',
    ],
    [
      'a file item without a path counts as installed',
      { installs: [{ type: 'file' }] },
      {},
      'same',
    ],
    [
      'receipt installed at the same version',
      { receipts: [{ packageid: 'com.foo', version: '2.0' }] },
      { receipts: { 'com.foo': '2.0.0' } },
      'same',
    ],
    [
      'receipt installed older',
      { receipts: [{ packageid: 'com.foo', version: '2.0' }] },
      { receipts: { 'com.foo': '1.9' } },
      'older',
    ],
    [
      'receipt installed newer',
      { receipts: [{ packageid: 'com.foo', version: '2.0' }] },
      { receipts: { 'com.foo': '2.0.1' } },
      'newer',
    ],
    [
      'receipt missing',
      { receipts: [{ packageid: 'com.foo', version: '2.0' }] },
      {},
      'not-installed',
    ],
    [
      'optional receipts are ignored',
      {
        receipts: [
          { packageid: 'com.foo', version: '2.0' },
          { packageid: 'com.extra', version: '1', optional: true },
        ],
      },
      { receipts: { 'com.foo': '2.0' } },
      'same',
    ],
    [
      'a receipt without a version counts as installed (error rule)',
      { receipts: [{ packageid: 'com.foo' }] },
      {},
      'same',
    ],
    [
      'installs items take precedence over receipts',
      { installs: [appItem()], receipts: [{ packageid: 'com.foo', version: '2.0' }] },
      { apps: [app(APP, '2.0')] },
      'same',
    ],
    [
      'an empty installs array falls through to receipts',
      { installs: [], receipts: [{ packageid: 'com.foo', version: '2.0' }] },
      {},
      'not-installed',
    ],
    ['nothing to check counts as installed', { installer_type: 'nopkg' }, {}, 'same'],
    [
      'stage_os_installer on the same macOS major counts as newer',
      { installer_type: 'stage_os_installer' },
      { osVersion: '14.5' },
      'newer',
    ],
    [
      'stage_os_installer not yet staged',
      {
        installer_type: 'stage_os_installer',
        installs: [
          {
            type: 'application',
            path: '/Applications/Install macOS.app',
            CFBundleShortVersionString: '15.0',
          },
        ],
      },
      { osVersion: '13.6' },
      'not-installed',
    ],
    [
      'startosinstall on an older macOS',
      { installer_type: 'startosinstall' },
      { osVersion: '13.6.1' },
      'older',
    ],
  ])('%s', async (_label, extra, mac, expected) => {
    // macOS installers are versioned like macOS
    const version = extra['installer_type'] === undefined ? '2.0' : '14.0';
    expect((await installedState(pkg(extra, version), fakeEvidence(mac))).state).toBe(expected);
  });

  it('says what it saw in the reason', async () => {
    const result = await installedState(
      pkg({ installs: [appItem()] }),
      fakeEvidence({ apps: [app(APP, '1.5')] }),
    );
    expect(result).toEqual({
      state: 'older',
      installedVersion: '1.5',
      reason: '/Applications/Foo.app is version 1.5, older than 2.0',
    });
  });

  it('runs a memoised installcheck_script once however often it is asked', async () => {
    const fake = fakeEvidence({ scripts: { check: 1 } });
    const evidence = memoizeEvidence(fake);
    const item = pkg({ installcheck_script: 'check' });
    await installedState(item, evidence);
    await someVersionInstalled(item, evidence);
    expect(fake.scriptRuns).toEqual(['installcheck_script: check']);
  });

  it('counts a script that cannot be run as exit code -1', async () => {
    const fake = fakeEvidence();
    fake.runScript = () => Promise.reject(new Error('spawn failed'));
    const result = await installedState(pkg({ installcheck_script: 'x' }), memoizeEvidence(fake));
    expect(result.state).toBe('same');
  });
});

describe('someVersionInstalled', () => {
  it.each<[string, PlistDict, FakeMac, boolean]>([
    ['OnDemand', { OnDemand: true }, {}, false],
    ['installcheck_script exit 0', { installcheck_script: 'c' }, { scripts: { c: 0 } }, false],
    ['installcheck_script non-zero', { installcheck_script: 'c' }, { scripts: { c: 3 } }, true],
    [
      'version_script older',
      { version_script: 'v' },
      { scripts: { v: { exitCode: 0, stdout: '1.0' } } },
      true,
    ],
    ['version_script failing', { version_script: 'v' }, { scripts: { v: 1 } }, false],
    ['an OS installer', { installer_type: 'startosinstall' }, {}, true],
    ['an older app', { installs: [appItem()] }, { apps: [app(APP, '1.0')] }, true],
    ['a missing app', { installs: [appItem()] }, {}, false],
    ['an installs error', { installs: [{ type: 'weird' }] }, {}, false],
    [
      'an older receipt',
      { receipts: [{ packageid: 'p', version: '2' }] },
      { receipts: { p: '1' } },
      true,
    ],
    ['a missing receipt', { receipts: [{ packageid: 'p', version: '2' }] }, {}, false],
    ['nothing to check', {}, {}, true],
  ])('%s', async (_label, extra, mac, expected) => {
    expect(await someVersionInstalled(pkg(extra), fakeEvidence(mac))).toBe(expected);
  });
});

describe('evidenceThisIsInstalled', () => {
  const none = () => new Set<string>();
  it.each<[string, PlistDict, FakeMac, ReadonlySet<string>, boolean]>([
    ['OnDemand', { OnDemand: true }, {}, new Set(), false],
    [
      'uninstallcheck_script exit 0',
      { uninstallcheck_script: 'u', installcheck_script: 'c' },
      { scripts: { u: 0, c: 0 } },
      new Set(),
      true,
    ],
    [
      'uninstallcheck_script non-zero',
      { uninstallcheck_script: 'u' },
      { scripts: { u: 1 } },
      new Set(),
      false,
    ],
    [
      'installcheck_script non-zero',
      { installcheck_script: 'c' },
      { scripts: { c: 1 } },
      new Set(),
      true,
    ],
    [
      'installcheck_script exit 0',
      { installcheck_script: 'c' },
      { scripts: { c: 0 } },
      new Set(),
      false,
    ],
    [
      'version_script not present falls through to installs',
      { version_script: 'v', installs: [{ type: 'file', path: '/f' }] },
      { scripts: { v: 1 }, files: { '/f': true } },
      new Set(),
      true,
    ],
    [
      'all installs paths present, whatever the version',
      { installs: [appItem()] },
      { apps: [app(APP, '0.1')] },
      new Set(),
      true,
    ],
    [
      'an installs path missing',
      { installs: [appItem(), { type: 'file', path: '/f' }] },
      { apps: [app(APP, '2')] },
      new Set(),
      false,
    ],
    [
      'installs items are not evidence for removepackages items',
      {
        installs: [appItem()],
        uninstall_method: 'removepackages',
        receipts: [{ packageid: 'p', version: '1' }],
      },
      { apps: [app(APP, '2.0')] },
      new Set(),
      false,
    ],
    [
      'receipts: the name is installed by receipt analysis',
      { receipts: [{ packageid: 'p', version: '1' }] },
      {},
      new Set(['Foo']),
      true,
    ],
    [
      'receipts: the name is not',
      { receipts: [{ packageid: 'p', version: '1' }] },
      { receipts: { p: '1' } },
      new Set(),
      false,
    ],
    ['nothing to check', {}, {}, new Set(['Foo']), false],
  ])('%s', async (_label, extra, mac, names, expected) => {
    expect(await evidenceThisIsInstalled(pkg(extra), fakeEvidence(mac), () => names)).toBe(
      expected,
    );
  });

  it('does not run the receipt analysis when installs items decide', async () => {
    let asked = false;
    const names = () => {
      asked = true;
      return none();
    };
    await evidenceThisIsInstalled(
      pkg({ installs: [appItem()] }),
      fakeEvidence({ apps: [app(APP, '1')] }),
      names,
    );
    expect(asked).toBe(false);
  });
});

describe('installedVersionOf', () => {
  it.each<[string, PlistDict, FakeMac, string]>([
    [
      'from a receipt matching the pkginfo version',
      { receipts: [{ packageid: 'p', version: '2.0' }] },
      { receipts: { p: '2.5' } },
      '2.5',
    ],
    [
      'from the app at the installs path',
      { installs: [appItem()] },
      { apps: [app(APP, '2.7')] },
      '2.7',
    ],
    [
      'from the app inventory when no path',
      {
        installs: [
          { type: 'application', CFBundleIdentifier: 'com.foo', CFBundleShortVersionString: '2.0' },
        ],
      },
      { apps: [app('/Applications/X.app', '3.1', 'com.foo')] },
      '3.1',
    ],
    ['UNKNOWN when nothing tells', { installcheck_script: 'c' }, {}, 'UNKNOWN'],
  ])('%s', async (_label, extra, mac, expected) => {
    expect(await installedVersionOf(pkg(extra), fakeEvidence(mac))).toBe(expected);
  });
});
