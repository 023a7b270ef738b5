/**
 * makepkginfo on disk images, on any OS: the context says darwin and points at a fake `hdiutil`
 * (test/helpers/fake-tools.ts) that prints REAL recorded `hdiutil attach -plist` output
 * (test/fixtures/hdiutil/) with its mount point swapped for a folder the test fills.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist } from '../../formats/index.js';
import { silentLogger } from '../../lib/log.js';
import { makePkginfo, type MakePkginfoContext } from '../../repo-tools/pkginfo/make-pkginfo.js';
import { readPkginfoOptions } from '../../repo-tools/pkginfo/options.js';
import { readToolCalls, writeFakeTool } from '../helpers/fake-tools.js';
import { buildFlatPackage } from '../helpers/flat-package.js';

const RECORDING = new URL('../fixtures/hdiutil/attach-mountrandom.plist', import.meta.url);
const RECORDED_MOUNT_POINT = '/private/tmp/dmg.BhfS2g';

let work: string;
let mount: string;
let toolRoot: string;
let argvLog: string;
let dmg: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'abbot-dmg-'));
  mount = join(work, 'mnt');
  toolRoot = join(work, 'root');
  argvLog = join(work, 'argv.log');
  dmg = join(work, 'Foo-2.0.dmg');
  await mkdir(mount, { recursive: true });
  await writeFile(dmg, 'stands in for a UDIF image: only the fake hdiutil "reads" it');
  const attach = (await readFile(RECORDING, 'utf8')).replace(RECORDED_MOUNT_POINT, mount);
  await writeFakeTool(
    toolRoot,
    argvLog,
    '/usr/bin/hdiutil',
    'attach: test/fixtures/hdiutil/attach-mountrandom.plist (Homebrew/brew recording); detach prints nothing',
    'case "$1" in attach) cat "$OUT.attach.out" ;; detach) exit 0 ;; *) exit 1 ;; esac',
    { attach },
  );
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const context = (): MakePkginfoContext => ({
  now: new Date('2026-01-01T00:00:00Z'),
  user: 'admin',
  platform: 'darwin',
  toolRoot,
  logger: silentLogger,
});

async function putApp(name: string, info: Record<string, string>): Promise<void> {
  await mkdir(join(mount, name, 'Contents/MacOS'), { recursive: true });
  await writeFile(join(mount, name, 'Contents/Info.plist'), buildPlist(info));
}

describe('makepkginfo on a disk image', () => {
  it('makes a copy_from_dmg item for the app on a drag-and-drop image, then detaches it', async () => {
    await putApp('Foo.app', {
      CFBundleName: 'Foo',
      CFBundleIdentifier: 'com.example.foo',
      CFBundleShortVersionString: '2.0',
      LSMinimumSystemVersion: '13.0',
    });
    const made = await makePkginfo(dmg, readPkginfoOptions({}), context());
    expect(made.kind).toBe('disk-image');
    expect(made.pkginfo).toMatchObject({
      name: 'Foo',
      version: '2.0',
      installer_type: 'copy_from_dmg',
      items_to_copy: [{ source_item: 'Foo.app', destination_path: '/Applications' }],
      installs: [
        {
          type: 'application',
          path: '/Applications/Foo.app',
          CFBundleIdentifier: 'com.example.foo',
          CFBundleShortVersionString: '2.0',
          minosversion: '13.0',
        },
      ],
      minimum_os_version: '13.0',
      uninstallable: true,
      uninstall_method: 'remove_copied_items',
      installer_item_location: 'Foo-2.0.dmg',
    });
    expect(await readToolCalls(argvLog)).toEqual([
      [
        '/usr/bin/hdiutil',
        'attach',
        '-plist',
        '-nobrowse',
        '-readonly',
        '-mountrandom',
        '/tmp',
        dmg,
      ],
      ['/usr/bin/hdiutil', 'detach', mount],
    ]);
  });

  it('honours --destinationpath, --destinationitemname, owner and mode', async () => {
    await putApp('Foo.app', {
      CFBundleIdentifier: 'com.example.foo',
      CFBundleShortVersionString: '2.0',
    });
    const options = readPkginfoOptions({
      destinationpath: '/Applications/Utilities',
      destinationitemname: 'Bar.app',
      owner: 'root',
      mode: 'go-w',
    });
    const made = await makePkginfo(dmg, options, context());
    expect(made.pkginfo['items_to_copy']).toEqual([
      {
        source_item: 'Foo.app',
        destination_path: '/Applications/Utilities',
        destination_item: 'Bar.app',
        user: 'root',
        mode: 'go-w',
      },
    ]);
    expect(made.pkginfo.installs?.[0]?.path).toBe('/Applications/Utilities/Bar.app');
    expect(made.pkginfo.name).toBe('Foo');
  });

  it('describes the package at the root of the image instead, when there is one', async () => {
    await writeFile(
      join(mount, 'FooInstaller.pkg'),
      await buildFlatPackage({
        kind: 'component',
        identifier: 'com.example.foo.pkg',
        version: '2.0.1',
        files: [{ path: 'x', contents: 'x' }],
      }),
    );
    const made = await makePkginfo(dmg, readPkginfoOptions({}), context());
    expect(made.pkginfo).toMatchObject({
      name: 'FooInstaller',
      version: '2.0.1',
      receipts: [{ packageid: 'com.example.foo.pkg', version: '2.0.1' }],
      uninstall_method: 'removepackages',
      installer_item_location: 'Foo-2.0.dmg',
    });
    expect(made.pkginfo.installer_type).toBeUndefined();
    expect((await readToolCalls(argvLog)).at(-1)).toEqual(['/usr/bin/hdiutil', 'detach', mount]);
  });

  it('refuses an image with nothing to install, and still detaches it', async () => {
    await writeFile(join(mount, 'README.txt'), 'hello');
    await expect(makePkginfo(dmg, readPkginfoOptions({}), context())).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('no package or application at the root'),
    });
    expect((await readToolCalls(argvLog)).at(-1)).toEqual(['/usr/bin/hdiutil', 'detach', mount]);
  });

  it('refuses a --pkgname that leaves the image', async () => {
    await expect(
      makePkginfo(dmg, readPkginfoOptions({ pkgname: '../../etc/x.pkg' }), context()),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});
