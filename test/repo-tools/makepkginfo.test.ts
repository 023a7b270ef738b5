/**
 * `repo makepkginfo` on real flat packages written by the test helper (component and product, gzip
 * and pbzx, with app bundles in their payloads), its options, and its refusals of bad input.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePkgInfo } from '../../catalogs/index.js';
import { parsePlist, type PlistDict } from '../../formats/index.js';
import { repoCli } from '../helpers/cli.js';
import { buildFlatPackage, type FlatPackageSpec } from '../helpers/flat-package.js';

let dir: string;
const EPOCH = { SOURCE_DATE_EPOCH: '1767225600' }; // 2026-01-01T00:00:00Z

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-makepkginfo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writePkg(file: string, spec: FlatPackageSpec): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, await buildFlatPackage(spec));
  return path;
}

async function makepkginfo(args: string[]): Promise<PlistDict> {
  const r = await repoCli(['makepkginfo', ...args], EPOCH);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return parsePlist(r.stdout) as PlistDict;
}

const fooApp = {
  path: 'Applications/Foo.app',
  bundleId: 'com.example.foo',
  shortVersion: '1.2.3',
  bundleVersion: '123',
  minOS: '12.0',
};

describe('repo makepkginfo on a component package', () => {
  it('derives name, version, receipts, sizes, hash and installs from the package', async () => {
    const path = await writePkg('Foo-1.2.3.pkg', {
      kind: 'component',
      identifier: 'com.example.foo.pkg',
      version: '1.2.3',
      apps: [fooApp],
      files: [{ path: 'Library/Foo/data.txt', contents: 'x'.repeat(3000) }],
    });
    const info = await makepkginfo([path]);
    const bytes = await readFile(path);
    const receipts = info['receipts'] as PlistDict[];
    expect(info['name']).toBe('Foo');
    expect(info['version']).toBe('1.2.3');
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ packageid: 'com.example.foo.pkg', version: '1.2.3' });
    expect(receipts[0]!['installed_size']).toBeGreaterThan(0);
    expect(info['installed_size']).toBe(receipts[0]!['installed_size']);
    expect(info['installer_item_hash']).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(info['installer_item_size']).toBe(Math.floor(bytes.length / 1024));
    expect(info['installer_item_location']).toBe('Foo-1.2.3.pkg');
    expect(info['uninstallable']).toBe(true);
    expect(info['uninstall_method']).toBe('removepackages');
    expect(info['installs']).toEqual([
      {
        type: 'application',
        path: '/Applications/Foo.app',
        CFBundleIdentifier: 'com.example.foo',
        CFBundleName: 'Foo',
        CFBundleShortVersionString: '1.2.3',
        CFBundleVersion: '123',
        version_comparison_key: 'CFBundleShortVersionString',
        minosversion: '12.0',
      },
    ]);
    expect(info['minimum_os_version']).toBe('12.0');
    expect(info['catalogs']).toEqual(['testing']);
    expect(info['_metadata']).toMatchObject({ creation_date: new Date('2026-01-01T00:00:00Z') });
    expect(info['RestartAction']).toBeUndefined();
    expect(info['supported_architectures']).toBeUndefined();
    expect(validatePkgInfo(info).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('prints the same bytes for the same package', async () => {
    const path = await writePkg('Same.pkg', {
      kind: 'component',
      identifier: 'com.example.same',
      version: '2.0',
      apps: [fooApp],
    });
    const a = await repoCli(['makepkginfo', path], EPOCH);
    const b = await repoCli(['makepkginfo', path], EPOCH);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it('skips apps nested inside another bundle and uses CFBundleVersion for a non-numeric short version', async () => {
    const path = await writePkg('Nested.pkg', {
      kind: 'component',
      identifier: 'com.example.nested',
      version: '3.0',
      apps: [
        {
          path: 'Applications/Main.app',
          bundleId: 'com.example.main',
          shortVersion: 'Build 7',
          bundleVersion: '7',
        },
        {
          path: 'Applications/Main.app/Contents/Helpers/Helper.app',
          bundleId: 'com.example.helper',
          shortVersion: '1.0',
        },
      ],
    });
    const installs = (await makepkginfo([path]))['installs'] as PlistDict[];
    expect(installs.map((i) => i['CFBundleIdentifier'])).toEqual(['com.example.main']);
    expect(installs[0]!['version_comparison_key']).toBe('CFBundleVersion');
  });

  it('reads the restart a package asks for from its PackageInfo', async () => {
    const path = await writePkg('Driver.pkg', {
      kind: 'component',
      identifier: 'com.example.driver',
      version: '1.0',
      postinstallAction: 'restart',
      files: [{ path: 'Library/Extensions/x', contents: 'x' }],
    });
    expect((await makepkginfo([path]))['RestartAction']).toBe('RequireRestart');
  });

  it('gives a payload-free package no receipts and warns that nothing checks installation', async () => {
    const path = await writePkg('Scripts-only.pkg', {
      kind: 'component',
      identifier: 'com.example.scripts',
      version: '4.1',
      payloadFree: true,
      scripts: { postinstall: '#!/bin/sh\nexit 0\n' },
    });
    const r = await repoCli(['makepkginfo', path], EPOCH);
    expect(r.code).toBe(0);
    const info = parsePlist(r.stdout) as PlistDict;
    expect(info['version']).toBe('4.1');
    expect(info['receipts']).toBeUndefined();
    expect(info['uninstall_method']).toBeUndefined();
    expect(r.stderr).toMatch(/WARNING: pkginfo for Scripts-only has no receipts, installs/);
  });
});

describe('repo makepkginfo on a product package', () => {
  const product: FlatPackageSpec = {
    kind: 'product',
    identifier: 'com.example.suite',
    version: '5.0',
    title: 'Example Suite',
    minOsVersion: '11.0',
    hostArchitectures: ['arm64'],
    components: [
      {
        identifier: 'com.example.suite.app',
        version: '5.0.1',
        payloadEncoding: 'pbzx',
        pbzxChunkSize: 4096,
        apps: [
          {
            ...fooApp,
            path: 'Applications/Suite.app',
            bundleId: 'com.example.suite',
            minOS: '13.0',
          },
        ],
      },
      {
        identifier: 'com.example.suite.tools',
        version: '2.0',
        files: [{ path: 'usr/local/bin/suite', contents: '#!/bin/sh\n', mode: 0o755 }],
      },
    ],
  };

  it('takes version, title, OS minimum and architectures from the Distribution', async () => {
    const info = await makepkginfo([await writePkg('ExampleSuite.pkg', product)]);
    expect(info['name']).toBe('ExampleSuite');
    expect(info['version']).toBe('5.0');
    expect(info['display_name']).toBe('Example Suite');
    expect((info['receipts'] as PlistDict[]).map((r) => [r['packageid'], r['version']])).toEqual([
      ['com.example.suite.app', '5.0.1'],
      ['com.example.suite.tools', '2.0'],
    ]);
    const sizes = (info['receipts'] as PlistDict[]).map((r) => Number(r['installed_size']));
    expect(info['installed_size']).toBe(sizes[0]! + sizes[1]!);
    // The app's LSMinimumSystemVersion (13.0) is higher than the Distribution's 11.0.
    expect(info['minimum_os_version']).toBe('13.0');
    expect(info['supported_architectures']).toEqual(['arm64']);
    expect((info['installs'] as PlistDict[])[0]).toMatchObject({
      path: '/Applications/Suite.app',
      CFBundleIdentifier: 'com.example.suite',
    });
  });

  it('records the selected choices with --installer-choices-xml', async () => {
    const info = await makepkginfo([
      await writePkg('Choices.pkg', product),
      '--installer-choices-xml',
    ]);
    expect(info['installer_choices_xml']).toEqual([
      { attributeSetting: 1, choiceAttribute: 'selected', choiceIdentifier: 'default' },
      {
        attributeSetting: 1,
        choiceAttribute: 'selected',
        choiceIdentifier: 'com.example.suite.app',
      },
      {
        attributeSetting: 1,
        choiceAttribute: 'selected',
        choiceIdentifier: 'com.example.suite.tools',
      },
    ]);
  });
});

describe('repo makepkginfo options', () => {
  it('applies Munki’s override options in either spelling', async () => {
    const pkg = await writePkg('Opts.pkg', {
      kind: 'component',
      identifier: 'com.example.opts',
      version: '1.0',
      apps: [fooApp],
    });
    const description = join(dir, 'description.html');
    await writeFile(description, '<p>From a file</p>');
    const script = join(dir, 'check.sh');
    await writeFile(script, '#!/bin/sh\nexit 1\n');
    const info = await makepkginfo([
      pkg,
      '--name=OptsRenamed',
      '--displayname',
      'Opts Renamed',
      '--description',
      description,
      '--pkgvers',
      '1.0.1',
      '--catalog',
      'testing',
      '-c',
      'production',
      '--category',
      'Utilities',
      '--developer',
      'Example Corp',
      '--unattended_install',
      '--minimum-os-version',
      '10.15',
      '--maximum_os_version',
      '15.99',
      '--RestartAction',
      'RecommendRestart',
      '--requires',
      'Base',
      '-r',
      'Other',
      '--update_for',
      'Suite',
      '--installcheck_script',
      script,
      '--postinstall-script',
      script,
      '--uninstall_script',
      script,
      '--force_install_after_date',
      '2026-08-11T12:55:00Z',
      '--blocking-application',
      'Foo.app',
    ]);
    expect(info).toMatchObject({
      name: 'OptsRenamed',
      display_name: 'Opts Renamed',
      description: '<p>From a file</p>',
      version: '1.0.1',
      catalogs: ['testing', 'production'],
      category: 'Utilities',
      developer: 'Example Corp',
      unattended_install: true,
      maximum_os_version: '15.99',
      RestartAction: 'RecommendRestart',
      requires: ['Base', 'Other'],
      update_for: ['Suite'],
      installcheck_script: '#!/bin/sh\nexit 1\n',
      postinstall_script: '#!/bin/sh\nexit 1\n',
      uninstall_script: '#!/bin/sh\nexit 1\n',
      uninstall_method: 'uninstall_script',
      uninstallable: true,
      force_install_after_date: new Date('2026-08-11T12:55:00Z'),
      blocking_applications: ['Foo.app'],
    });
    // An explicit --minimum_os_version wins over what the app needs, as in Munki.
    expect(info['minimum_os_version']).toBe('10.15');
  });

  it('builds installs entries with -f from an app bundle and a plain file', async () => {
    const app = join(dir, 'Local.app');
    await mkdir(join(app, 'Contents/MacOS'), { recursive: true });
    await writeFile(
      join(app, 'Contents/Info.plist'),
      '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>' +
        '<key>CFBundleIdentifier</key><string>com.example.local</string>' +
        '<key>CFBundleShortVersionString</key><string>9.1</string></dict></plist>\n',
    );
    const file = join(dir, 'marker.txt');
    await writeFile(file, 'hello');
    const info = await makepkginfo(['-f', `${app}/`, '--file', file]);
    expect(info).toEqual({
      installs: [
        {
          type: 'application',
          path: app,
          CFBundleIdentifier: 'com.example.local',
          CFBundleShortVersionString: '9.1',
          version_comparison_key: 'CFBundleShortVersionString',
        },
        { type: 'file', path: file, md5checksum: createHash('md5').update('hello').digest('hex') },
      ],
    });
  });

  it('makes a nopkg item', async () => {
    const check = join(dir, 'settings-check.sh');
    await writeFile(check, '#!/bin/sh\ntest -f /Library/Settings/done\n');
    const info = await makepkginfo([
      '--nopkg',
      '--name',
      'Settings',
      '--pkgvers',
      '2.0',
      '--unattended-install',
      '--installcheck-script',
      check,
    ]);
    expect(info['installer_type']).toBe('nopkg');
    expect(info).toMatchObject({
      name: 'Settings',
      version: '2.0',
      catalogs: ['testing'],
      unattended_install: true,
    });
    expect(info['installer_item_location']).toBeUndefined();
  });
});

describe('repo makepkginfo refuses bad input with exit 2', () => {
  it.each([
    ['a file that is not a package', 'not-a-package.pkg', 'plain text\n', /not-a-package\.pkg: /],
    ['a file of another kind', 'notes.txt', 'text', /notes\.txt: not a supported installer item/],
  ])('%s', async (_what, file, contents, message) => {
    await writeFile(join(dir, file), contents);
    const r = await repoCli(['makepkginfo', join(dir, file)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a truncated package', async () => {
    const whole = await buildFlatPackage({
      kind: 'component',
      identifier: 'com.example.cut',
      version: '1',
      apps: [fooApp],
    });
    const path = join(dir, 'Cut.pkg');
    await writeFile(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const r = await repoCli(['makepkginfo', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cut\.pkg: .*truncated/);
  });

  it('a missing file', async () => {
    const r = await repoCli(['makepkginfo', join(dir, 'missing.pkg')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.pkg: no such file/);
  });

  it('a disk image on a machine that is not a Mac', async () => {
    if (process.platform === 'darwin') return;
    const path = join(dir, 'Foo.dmg');
    await writeFile(path, 'koly');
    const r = await repoCli(['makepkginfo', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Foo\.dmg: a disk image can only be read on macOS, with hdiutil/);
    expect(r.stderr).toMatch(/pass the \.pkg or \.app/);
  });

  it.each([
    [['--nopkg', '--name', 'X'], /--nopkg needs --name and --pkgvers/],
    [['--nopkg', '--name', 'X', '--pkgvers', 'v1'], /--pkgvers "v1" must start with a digit/],
    [
      ['--nopkg', '--name', 'X', '--pkgvers', '1', '--RestartAction', 'Now'],
      /--RestartAction "Now"/,
    ],
    [['--nopkg', '--name', 'X', '--pkgvers', '1', '--arch', 'ppc'], /--arch "ppc"/],
    [['--nopkg', '--name', 'X', '--pkgvers', '1', '--force_install_after_date', 'soon'], /soon/],
    [
      ['--nopkg', '--name', 'X', '--pkgvers', '1', '--installcheck_script', '/nonexistent/x'],
      /\/nonexistent\/x/,
    ],
    [['--nopkg', '--name', 'X', '--pkgvers', '1', '--catalog', '../x'], /catalog "\.\.\/x"/],
    [['--no-such-flag'], /no-such-flag/],
    [[], /can't figure out what to do/],
  ])('options %j', async (args, message) => {
    const r = await repoCli(['makepkginfo', ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('leaves the package untouched', async () => {
    const path = await writePkg('Untouched.pkg', {
      kind: 'component',
      identifier: 'com.example.u',
      version: '1',
    });
    const before = await stat(path);
    await makepkginfo([path]);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
  });
});
