/**
 * Disk images on the macOS platform, on any OS: a fake `hdiutil` prints REAL recorded
 * `hdiutil attach -plist` output with its mount point swapped for a temporary folder the test
 * fills (an app bundle, a package); fake ditto (`cp -R`), chown, chmod, xattr and installer log
 * the argv they got. The sandbox platform's refusal is checked at the end.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installEntry } from '../../../client/install/apply-item.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';
import { parseAttachOutput, parseItemsToCopy } from '../../../client/platform/macos/disk-image.js';
import { macosPlatform } from '../../../client/platform/macos/macos-platform.js';
import type { PackageInstallProgress } from '../../../client/platform/platform.js';
import {
  SANDBOX_DMG_ERROR,
  sandboxPlatform,
} from '../../../client/platform/sandbox/sandbox-platform.js';
import type { PlistValue } from '../../../formats/index.js';
import { silentLogger } from '../../../lib/log.js';
import { buildFlatPackage } from '../../helpers/flat-package.js';

// ---------------------------------------------------------------------------------------------
// Recorded macOS output

/** The mount point `hdiutil attach -mountrandom /private/tmp` chose in the recording below. */
const RECORDED_MOUNT_POINT = '/private/tmp/dmg.BhfS2g';

/**
 * `hdiutil attach -plist` of an Apple-partition-map image mounted at a random folder, verbatim as
 * recorded in Homebrew/brew, Library/Homebrew/test/system_command_result_spec.rb ("when there's a
 * hdiutil stdout"; Homebrew mounts casks' images with `-mountrandom /private/tmp`).
 */
const ATTACH_PLIST = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>system-entities</key>
  <array>
    <dict>
      <key>content-hint</key>
      <string>Apple_partition_map</string>
      <key>dev-entry</key>
      <string>/dev/disk3s1</string>
      <key>potentially-mountable</key>
      <false/>
      <key>unmapped-content-hint</key>
      <string>Apple_partition_map</string>
    </dict>
    <dict>
      <key>content-hint</key>
      <string>Apple_partition_scheme</string>
      <key>dev-entry</key>
      <string>/dev/disk3</string>
      <key>potentially-mountable</key>
      <false/>
      <key>unmapped-content-hint</key>
      <string>Apple_partition_scheme</string>
    </dict>
    <dict>
      <key>content-hint</key>
      <string>Apple_HFS</string>
      <key>dev-entry</key>
      <string>/dev/disk3s2</string>
      <key>mount-point</key>
      <string>/private/tmp/dmg.BhfS2g</string>
      <key>potentially-mountable</key>
      <true/>
      <key>unmapped-content-hint</key>
      <string>Apple_HFS</string>
      <key>volume-kind</key>
      <string>hfs</string>
    </dict>
  </array>
</dict>
</plist>
`;

/**
 * hdiutil's stderr for a file that is not a disk image (exit status 1), as widely quoted by
 * public projects that drive hdiutil (e.g. autopkg recipe tooling, Rust and Go dmg extractors).
 */
const ATTACH_FAILED = 'hdiutil: attach failed - image not recognized\n';

/** hdiutil's stderr when a volume is in use (exit status 16), as commonly reported on macOS. */
const DETACH_BUSY = 'hdiutil: couldn\'t unmount "disk3" - Resource busy\n';

/** BSD chown's complaint about an unknown owner (exit status 1), from its usage on macOS. */
const CHOWN_UNKNOWN_USER = 'chown: nobodyatall: illegal user name\n';

/**
 * Lines of `installer -verboseR -pkg "SF Symbols.pkg" -target /` (Homebrew cask sf-symbols),
 * verbatim as recorded in appfair/App, Sources/App/CaskManager.swift (formats reference §3.5).
 */
const INSTALL_OK = `installer: Package name is SF Symbols
installer: Installing at base path /
installer: The install was successful.
`;

/** `installer -query RestartAction -plist`'s shape (weswhet/russet installer.md). */
const QUERY_NONE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>RestartAction</key>
\t<string>None</string>
</dict>
</plist>
`;

// ---------------------------------------------------------------------------------------------
// Fake executables

let commandRoot: string;
let mountPoint: string;
let dest: string;
let dmg: string;
let argvLog: string;
beforeEach(async () => {
  commandRoot = await mkdtemp(join(tmpdir(), 'abbot-dmg-cmd-'));
  mountPoint = await mkdtemp(join(tmpdir(), 'abbot-dmg-mount-'));
  dest = await mkdtemp(join(tmpdir(), 'abbot-dmg-dest-'));
  dmg = join(commandRoot, 'Firefox 120.dmg');
  await writeFile(dmg, 'not really a disk image: the fake hdiutil never reads it');
  argvLog = join(commandRoot, 'argv.log');
  await installFakes();
});
afterEach(async () => {
  for (const dir of [commandRoot, mountPoint, dest])
    await rm(dir, { recursive: true, force: true });
});

/** A fake tool at `<commandRoot><macPath>` (see test/helpers/fake-tools.ts). */
const fake = (
  macPath: string,
  source: string,
  body: string,
  outputs: Record<string, string> = {},
) => writeFakeTool(commandRoot, argvLog, macPath, source, body, outputs);

/** Switches a fake's failure on: the fakes look for `<commandRoot>/<name>`. */
const failing = (name: 'attach-fails' | 'detach-fails' | 'chown-fails'): Promise<void> =>
  writeFile(join(commandRoot, name), '');

async function installFakes(): Promise<void> {
  await fake(
    '/usr/bin/hdiutil',
    'Homebrew/brew system_command_result_spec.rb (attach plist); common hdiutil messages',
    [
      'if [ "$1" = "attach" ]; then',
      '  cat > "$SEEN/attach-stdin"',
      '  if [ -f "$SEEN/attach-fails" ]; then cat "$OUT.failed.out" >&2; exit 1; fi',
      '  cat "$OUT.attach.out"; exit 0',
      'fi',
      'if [ "$1" = "detach" ]; then',
      '  if [ -f "$SEEN/detach-fails" ] && [ "$3" != "-force" ]; then cat "$OUT.busy.out" >&2; exit 16; fi',
      '  exit 0',
      'fi',
      'exit 1',
    ].join('\n'),
    {
      // The recording, but mounted where this test laid out the image's contents.
      attach: ATTACH_PLIST.replace(RECORDED_MOUNT_POINT, mountPoint),
      failed: ATTACH_FAILED,
      busy: DETACH_BUSY,
    },
  );
  // ditto -V --noqtn SRC DST: a plain recursive copy stands in for it.
  await fake('/usr/bin/ditto', 'none (copies with cp -R)', 'cp -R "$3" "$4"');
  await fake(
    '/usr/sbin/chown',
    'BSD chown usage message',
    'if [ -f "$SEEN/chown-fails" ]; then cat "$OUT.unknown.out" >&2; exit 1; fi',
    { unknown: CHOWN_UNKNOWN_USER },
  );
  await fake('/bin/chmod', 'none (silent on success)', 'exit 0');
  await fake('/usr/bin/xattr', 'none (silent on success)', 'exit 0');
  await fake(
    '/usr/sbin/installer',
    'appfair/App CaskManager.swift; weswhet/russet installer.md (see the constants)',
    'if [ "$1" = "-query" ]; then cat "$OUT.query.out"; exit 0; fi\ncat "$OUT.install.out"',
    { query: QUERY_NONE, install: INSTALL_OK },
  );
}

/** The argv lines the fakes logged, in order, with the random copy folder shown as `<tmp>`. */
async function calls(): Promise<string[][]> {
  return (await readToolCalls(argvLog)).map((l) =>
    l.map((a) => a.replace(/\.abbot-copy-[^/]+/, '<tmp>')),
  );
}

/** Lays out an app bundle on the "mounted image". */
async function appOnImage(name = 'Firefox.app', version = '120.0'): Promise<void> {
  const contents = join(mountPoint, name, 'Contents');
  await mkdir(join(contents, 'MacOS'), { recursive: true });
  await writeFile(join(contents, 'Info.plist'), `<plist><dict>${version}</dict></plist>`);
  await writeFile(join(contents, 'MacOS', 'firefox'), '#!/bin/sh\n');
}

const mac = (): ReturnType<typeof macosPlatform> =>
  macosPlatform({ commandRoot, tmpDir: join(commandRoot, 'state-tmp') });

const attachArgv = (): string[] => [
  '/usr/bin/hdiutil',
  'attach',
  dmg,
  '-nobrowse',
  '-mountRandom',
  '/tmp',
  '-noverify',
  '-plist',
];
const detachArgv = (): string[] => ['/usr/bin/hdiutil', 'detach', mountPoint];

// ---------------------------------------------------------------------------------------------

describe('parseAttachOutput', () => {
  it('takes the mount point from the recorded plist', () => {
    expect(parseAttachOutput(ATTACH_PLIST)).toEqual({ mountPoint: RECORDED_MOUNT_POINT });
  });

  it('skips text around the plist (a licence, warnings)', () => {
    const noisy = `Agreeing to the licence...\n${ATTACH_PLIST}\nwarning: something\n`;
    expect(parseAttachOutput(noisy)).toEqual({ mountPoint: RECORDED_MOUNT_POINT });
  });

  it('reports no plist, a broken plist, and a plist without a mount point', () => {
    expect(parseAttachOutput('')).toEqual({ error: expect.stringMatching(/no property list/) });
    expect(parseAttachOutput('<plist><dict><key>x</dict></plist>')).toEqual({
      error: expect.stringMatching(/unreadable property list/),
    });
    const unmounted = ATTACH_PLIST.replace(/<key>mount-point<\/key>\s*<string>[^<]*<\/string>/, '');
    expect(parseAttachOutput(unmounted)).toEqual({
      error: expect.stringMatching(/no mount-point/),
    });
  });
});

describe('parseItemsToCopy', () => {
  it('applies Munki defaults and destination rules', () => {
    expect(
      parseItemsToCopy([
        { source_item: 'Firefox.app', destination_path: '/Applications' },
        { source_item: '/Tools/x.app', destination_item: '/Applications/Utilities/y.app' },
        {
          source_item: 'a.app',
          destination_path: '/Applications',
          destination_item: 'b.app',
          user: 'jo',
          group: 'staff',
          mode: '755',
        },
      ]),
    ).toEqual([
      {
        source: 'Firefox.app',
        destination: '/Applications/Firefox.app',
        user: 'root',
        group: 'admin',
        mode: 'o-w,go+rX',
      },
      {
        source: 'Tools/x.app',
        destination: '/Applications/Utilities/y.app',
        user: 'root',
        group: 'admin',
        mode: 'o-w,go+rX',
      },
      {
        source: 'a.app',
        destination: '/Applications/b.app',
        user: 'jo',
        group: 'staff',
        mode: '755',
      },
    ]);
  });

  it.each<[string, PlistValue, RegExp]>([
    ['no items', [], /no items/],
    ['not a list', 'Firefox.app', /no items/],
    ['no source_item', [{ destination_path: '/Applications' }], /no source_item/],
    [
      '.. in source_item',
      [{ source_item: '../etc', destination_path: '/x' }],
      /inside the disk image/,
    ],
    ['no destination', [{ source_item: 'a.app' }], /no destination_path/],
    [
      'a relative destination',
      [{ source_item: 'a.app', destination_path: 'Apps' }],
      /not absolute/,
    ],
    [
      'an option as owner',
      [{ source_item: 'a', destination_path: '/x', user: '-h' }],
      /not an owner/,
    ],
  ])('refuses %s', (_what, items, message) => {
    expect(parseItemsToCopy(items)).toEqual({ error: expect.stringMatching(message) });
  });
});

describe('macOS copyFromDmg', () => {
  it('mounts, copies with ditto, sets owner and mode (Munki defaults), unmounts', async () => {
    await appOnImage();
    const apps = join(dest, 'Applications');
    await mkdir(apps);
    const events: PackageInstallProgress[] = [];
    const result = await mac().copyFromDmg(
      dmg,
      [{ source_item: 'Firefox.app', destination_path: apps }],
      { onProgress: (p) => events.push(p) },
    );
    const tmp = join(apps, '<tmp>', 'Firefox.app');
    expect(result).toEqual({ ok: true, copied: [join(apps, 'Firefox.app')] });
    expect(await calls()).toEqual([
      attachArgv(),
      ['/usr/bin/ditto', '-V', '--noqtn', join(mountPoint, 'Firefox.app'), tmp],
      ['/usr/bin/xattr', '-dr', 'com.apple.quarantine', tmp],
      ['/usr/sbin/chown', '-R', 'root:admin', tmp],
      ['/bin/chmod', '-R', 'o-w,go+rX', tmp],
      detachArgv(),
    ]);
    // Answers a licence agreement's prompt, if the image has one.
    expect(await readFile(join(commandRoot, 'attach-stdin'), 'utf8')).toBe('Y\n');
    expect(await readFile(join(apps, 'Firefox.app', 'Contents', 'Info.plist'), 'utf8')).toContain(
      '120.0',
    );
    // The private copy folder is gone: only the app is left.
    expect(await readdir(apps)).toEqual(['Firefox.app']);
    expect(events[0]).toEqual({ status: `Copying Firefox.app to ${join(apps, 'Firefox.app')}` });
  });

  it('uses destination_item, custom owner and mode, and creates missing folders', async () => {
    await appOnImage('Tool.app');
    const target = join(dest, 'Deep', 'Er', 'Renamed.app');
    const result = await mac().copyFromDmg(dmg, [
      {
        source_item: 'Tool.app',
        destination_item: target,
        user: 'jo',
        group: 'staff',
        mode: 'u+w',
      },
    ]);
    expect(result).toEqual({ ok: true, copied: [target] });
    const tmp = join(dest, 'Deep', 'Er', '<tmp>', 'Renamed.app');
    const argv = await calls();
    expect(argv).toContainEqual(['/usr/sbin/chown', '-R', 'jo:staff', tmp]);
    expect(argv).toContainEqual(['/bin/chmod', '-R', 'u+w', tmp]);
    expect(await readFile(join(target, 'Contents', 'MacOS', 'firefox'), 'utf8')).toBe(
      '#!/bin/sh\n',
    );
  });

  it('replaces an existing destination', async () => {
    await appOnImage('Firefox.app', '121.0');
    const old = join(dest, 'Firefox.app');
    await mkdir(join(old, 'Contents'), { recursive: true });
    await writeFile(join(old, 'Contents', 'Info.plist'), 'old 119.0');
    await writeFile(join(old, 'Contents', 'stale-file'), 'left over');
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'Firefox.app', destination_path: dest },
    ]);
    expect(result.ok).toBe(true);
    expect(await readFile(join(old, 'Contents', 'Info.plist'), 'utf8')).toContain('121.0');
    expect(await readdir(join(old, 'Contents'))).toEqual(['Info.plist', 'MacOS']);
  });

  it('copies several items in order', async () => {
    await appOnImage('A.app');
    await appOnImage('B.app');
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'A.app', destination_path: dest },
      { source_item: 'B.app', destination_path: dest },
    ]);
    expect(result).toEqual({ ok: true, copied: [join(dest, 'A.app'), join(dest, 'B.app')] });
    expect((await calls()).filter((c) => c[1] === 'detach')).toEqual([detachArgv()]);
  });

  it('refuses .. in source_item without mounting anything', async () => {
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'Firefox.app/../../etc', destination_path: dest },
    ]);
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(/must stay inside the disk image/),
      copied: [],
    });
    expect(await calls()).toEqual([]);
  });

  it('reports a failed attach in hdiutil words, and copies nothing', async () => {
    await failing('attach-fails');
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'Firefox.app', destination_path: dest },
    ]);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/cannot mount Firefox 120\.dmg: .*image not recognized/);
    expect(await calls()).toEqual([attachArgv()]);
  });

  it('still unmounts when a step fails, leaving the destination as it was', async () => {
    await appOnImage();
    await failing('chown-fails');
    const old = join(dest, 'Firefox.app');
    await mkdir(old);
    await writeFile(join(old, 'keep'), 'the installed version');
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'Firefox.app', destination_path: dest, user: 'nobodyatall' },
    ]);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/owner of Firefox\.app: .*illegal user name/);
    const argv = await calls();
    expect(argv.at(-1)).toEqual(detachArgv());
    expect(argv.some((c) => c[0] === '/bin/chmod')).toBe(false);
    expect(await readdir(dest)).toEqual(['Firefox.app']);
    expect(await readFile(join(old, 'keep'), 'utf8')).toBe('the installed version');
  });

  it('reports a source_item missing from the image, and unmounts', async () => {
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'Missing.app', destination_path: dest },
    ]);
    expect(result).toEqual({
      ok: false,
      error: 'source_item Missing.app is not on the disk image',
      copied: [],
    });
    expect(await calls()).toEqual([attachArgv(), detachArgv()]);
  });

  it('forces the unmount when a polite detach fails', async () => {
    await appOnImage();
    await failing('detach-fails');
    const result = await mac().copyFromDmg(dmg, [
      { source_item: 'Firefox.app', destination_path: dest },
    ]);
    expect(result.ok).toBe(true);
    expect((await calls()).slice(-2)).toEqual([detachArgv(), [...detachArgv(), '-force']]);
  });
});

describe('macOS installPackageFromDmg', () => {
  const pkg = (): Promise<Uint8Array> =>
    buildFlatPackage({
      kind: 'component',
      identifier: 'org.mozilla.firefox',
      version: '120.0',
      installLocation: '/Applications',
      files: [{ path: 'Firefox.app/Contents/Info.plist', contents: '<plist/>' }],
    });

  it('installs the first package at the image root', async () => {
    const bytes = await pkg();
    await writeFile(join(mountPoint, 'Zeta.pkg'), bytes);
    await writeFile(join(mountPoint, 'Firefox.pkg'), bytes);
    await writeFile(join(mountPoint, 'ReadMe.txt'), 'not a package');
    const result = await mac().installPackageFromDmg(dmg, undefined, {});
    const installed = join(mountPoint, 'Firefox.pkg');
    expect(result).toMatchObject({ ok: true, exitCode: 0, receipts: ['org.mozilla.firefox'] });
    expect(await calls()).toEqual([
      attachArgv(),
      ['/usr/sbin/installer', '-query', 'RestartAction', '-pkg', installed, '-plist'],
      ['/usr/sbin/installer', '-verboseR', '-pkg', installed, '-target', '/'],
      detachArgv(),
    ]);
  });

  it('installs package_path when given', async () => {
    await mkdir(join(mountPoint, 'Packages'));
    await writeFile(join(mountPoint, 'A.pkg'), await pkg());
    await writeFile(join(mountPoint, 'Packages', 'Real.pkg'), await pkg());
    const result = await mac().installPackageFromDmg(dmg, 'Packages/Real.pkg', {});
    expect(result.ok).toBe(true);
    expect(await calls()).toContainEqual([
      '/usr/sbin/installer',
      '-verboseR',
      '-pkg',
      join(mountPoint, 'Packages', 'Real.pkg'),
      '-target',
      '/',
    ]);
  });

  it('fails, and unmounts, when the image holds no package', async () => {
    await appOnImage();
    const result = await mac().installPackageFromDmg(dmg, undefined, {});
    expect(result).toMatchObject({
      ok: false,
      exitCode: -1,
      restartAction: 'None',
      error: 'no .pkg or .mpkg at the root of Firefox 120.dmg',
    });
    expect(await calls()).toEqual([attachArgv(), detachArgv()]);
  });

  it('refuses a package_path that leaves the image or is not a package', async () => {
    const outside = await mac().installPackageFromDmg(dmg, '../Other.pkg', {});
    expect(outside.error).toMatch(/must stay inside the disk image/);
    const notPkg = await mac().installPackageFromDmg(dmg, 'Firefox.app', {});
    expect(notPkg.error).toMatch(/does not name a \.pkg or \.mpkg/);
    expect(await calls()).toEqual([]);
  });

  it('reports a failed attach', async () => {
    await failing('attach-fails');
    const result = await mac().installPackageFromDmg(dmg, undefined, {});
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/image not recognized/);
  });
});

describe('sandbox disk images', () => {
  it('refuses both with a clear message', async () => {
    const platform = sandboxPlatform(dest);
    expect(
      await platform.copyFromDmg(dmg, [{ source_item: 'Firefox.app', destination_path: '/x' }]),
    ).toEqual({ ok: false, error: SANDBOX_DMG_ERROR, copied: [] });
    expect(await platform.installPackageFromDmg(dmg, undefined, {})).toMatchObject({
      ok: false,
      error: SANDBOX_DMG_ERROR,
    });
    expect(SANDBOX_DMG_ERROR).toBe(
      'disk images (.dmg) need hdiutil on macOS; the sandbox platform does not open them',
    );
  });
});

describe('installEntry with disk images', () => {
  it('runs copy_from_dmg through the platform', async () => {
    await appOnImage();
    const item = {
      name: 'Firefox',
      installer_type: 'copy_from_dmg',
      items_to_copy: [{ source_item: 'Firefox.app', destination_path: dest }],
    };
    const outcome = await installEntry(mac(), item, dmg, silentLogger);
    expect(outcome).toEqual({ ok: true, status: 0, restartAction: 'None' });
    expect(await readdir(dest)).toEqual(['Firefox.app']);
  });

  it('installs a package from a .dmg with its package_path', async () => {
    await mkdir(join(mountPoint, 'Packages'));
    await writeFile(
      join(mountPoint, 'Packages', 'Real.pkg'),
      await buildFlatPackage({ kind: 'component', identifier: 'com.example.real', version: '1' }),
    );
    const item = { name: 'Real', package_path: 'Packages/Real.pkg' };
    const outcome = await installEntry(mac(), item, dmg, silentLogger);
    expect(outcome.ok).toBe(true);
    expect((await calls()).map((c) => c[1])).toEqual(['attach', '-query', '-verboseR', 'detach']);
  });

  it('fails plainly in the sandbox', async () => {
    const item = { name: 'Firefox', installer_type: 'copy_from_dmg', items_to_copy: [] };
    const outcome = await installEntry(sandboxPlatform(dest), item, dmg, silentLogger);
    expect(outcome).toMatchObject({ ok: false, error: `Firefox: ${SANDBOX_DMG_ERROR}` });
  });
});
