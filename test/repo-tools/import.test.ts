/**
 * `repo import` into temporary repos (test/helpers/make-repo.ts) of real flat packages: where files
 * land and how they are named, matching existing items, prompts on a terminal, icons, and that a
 * refused or failed import leaves the repo exactly as it was.
 */
import { readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlist, type PlistDict } from '../../formats/index.js';
import { runRepoCli } from '../../repo-tools/cli.js';
import { repoCli } from '../helpers/cli.js';
import { buildFlatPackage, type FlatPackageSpec } from '../helpers/flat-package.js';
import { makeRepo, removeRepo } from '../helpers/make-repo.js';

let repo: string;
let work: string;

beforeEach(async () => {
  repo = await makeRepo();
  work = await mkdtemp(join(tmpdir(), 'abbot-import-src-'));
});
afterEach(async () => {
  await removeRepo(repo);
  await rm(work, { recursive: true, force: true });
});

const fooSpec = (version = '1.0'): FlatPackageSpec => ({
  kind: 'component',
  identifier: 'com.example.foo',
  version,
  apps: [{ path: 'Applications/Foo.app', bundleId: 'com.example.foo', shortVersion: version }],
});

async function writePkg(file: string, spec: FlatPackageSpec = fooSpec()): Promise<string> {
  const path = join(work, file);
  await writeFile(path, await buildFlatPackage(spec));
  return path;
}

const importCli = (args: string[]) => repoCli(['import', '--repo', repo, '-n', ...args]);

async function listRepo(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else out.push(relative(repo, join(dir, e.name)));
    }
  };
  await walk(repo);
  return out.sort();
}

const readPkginfo = async (rel: string): Promise<PlistDict> =>
  parsePlist(await readFile(join(repo, rel))) as PlistDict;

describe('repo import', () => {
  it('copies the package with its version, writes the pkginfo and rebuilds the catalogs', async () => {
    const pkg = await writePkg('Foo.pkg');
    const r = await importCli([pkg, '--subdirectory', 'apps/foo', '--catalog', 'production']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Copied');
    expect(r.stdout).toContain('Saved pkginfo to pkgsinfo/apps/foo/Foo-1.0.plist');
    expect(await readFile(join(repo, 'pkgs/apps/foo/Foo-1.0.pkg'))).toEqual(await readFile(pkg));
    const info = await readPkginfo('pkgsinfo/apps/foo/Foo-1.0.plist');
    expect(info).toMatchObject({
      name: 'Foo',
      version: '1.0',
      catalogs: ['production'],
      installer_item_location: 'apps/foo/Foo-1.0.pkg',
      receipts: [{ packageid: 'com.example.foo', version: '1.0' }],
    });
    const all = parsePlist(await readFile(join(repo, 'catalogs/all'))) as PlistDict[];
    expect(all.map((i) => i['name'])).toEqual(['Foo']);
    expect(existsSync(join(repo, 'catalogs/production'))).toBe(true);
  });

  it('keeps a file name that already ends with the version', async () => {
    const r = await importCli([await writePkg('Foo-1.0.pkg')]);
    expect(r.code).toBe(0);
    expect(await listRepo()).toEqual([
      'catalogs/all',
      'catalogs/testing',
      'pkgs/Foo-1.0.pkg',
      'pkgsinfo/Foo-1.0.plist',
    ]);
  });

  it('names the pkginfo after a single supported architecture, as munkiimport does', async () => {
    const r = await importCli([await writePkg('Foo.pkg'), '--arch', 'arm64']);
    expect(r.code).toBe(0);
    expect(existsSync(join(repo, 'pkgsinfo/Foo-1.0-arm64.plist'))).toBe(true);
  });

  it('refuses the very same package again, and imports it beside the first with --force', async () => {
    const pkg = await writePkg('Foo.pkg');
    expect((await importCli([pkg])).code).toBe(0);
    const before = await listRepo();
    const again = await importCli([pkg]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /Foo\.pkg is identical to pkgs\/Foo-1\.0\.pkg already in the repo/,
    );
    expect(again.stderr).toMatch(/--force/);
    expect(await listRepo()).toEqual(before);
    const forced = await importCli([pkg, '--force']);
    expect(forced.code).toBe(0);
    expect(existsSync(join(repo, 'pkgs/Foo-1.0__1.pkg'))).toBe(true);
    expect((await readPkginfo('pkgsinfo/Foo-1.0__1.plist'))['installer_item_location']).toBe(
      'Foo-1.0__1.pkg',
    );
  });

  it('takes display name, description, category and blocking apps from an item with the same receipts', async () => {
    const first = await writePkg('Foo.pkg');
    expect(
      (
        await importCli([
          first,
          '--subdirectory',
          'apps',
          '--displayname',
          'Foo Pro',
          '--description',
          'Does foo.',
          '--category',
          'Productivity',
          '--blocking-application',
          'Foo Helper.app',
        ])
      ).code,
    ).toBe(0);
    const update = await writePkg('Foo.pkg', fooSpec('1.1'));
    const r = await importCli([update, '--developer', 'Example Corp', '--category', 'Utilities']);
    expect(r.code).toBe(0);
    // The template's subdirectory is reused; a flag (--category) beats the template.
    const info = await readPkginfo('pkgsinfo/apps/Foo-1.1.plist');
    expect(info).toMatchObject({
      version: '1.1',
      display_name: 'Foo Pro',
      description: 'Does foo.',
      category: 'Utilities',
      developer: 'Example Corp',
      blocking_applications: ['Foo Helper.app'],
      installer_item_location: 'apps/Foo-1.1.pkg',
    });
  });

  it('copies nothing from a similar item with --no-template', async () => {
    await importCli([await writePkg('Foo.pkg'), '--category', 'Productivity']);
    const r = await importCli([await writePkg('Foo.pkg', fooSpec('1.1')), '--no-template']);
    expect(r.code).toBe(0);
    expect((await readPkginfo('pkgsinfo/Foo-1.1.plist'))['category']).toBeUndefined();
  });

  it('does not copy a package that is already in pkgs/', async () => {
    const inRepo = join(repo, 'pkgs', 'vendor', 'Foo-1.0.pkg');
    await (await import('node:fs/promises')).mkdir(join(repo, 'pkgs', 'vendor'));
    await writeFile(inRepo, await buildFlatPackage(fooSpec()));
    const r = await importCli([inRepo]);
    expect(r.code).toBe(0);
    expect(await listRepo()).toEqual([
      'catalogs/all',
      'catalogs/testing',
      'pkgs/vendor/Foo-1.0.pkg',
      'pkgsinfo/vendor/Foo-1.0.plist',
    ]);
    expect((await readPkginfo('pkgsinfo/vendor/Foo-1.0.plist'))['installer_item_location']).toBe(
      'vendor/Foo-1.0.pkg',
    );
  });

  it('imports a nopkg item', async () => {
    const script = join(work, 'check.sh');
    await writeFile(script, '#!/bin/sh\nexit 1\n');
    const r = await importCli([
      '--nopkg',
      '--name',
      'Dock',
      '--pkgvers',
      '1.0',
      '--installcheck_script',
      script,
    ]);
    expect(r.code).toBe(0);
    expect((await readPkginfo('pkgsinfo/Dock-1.0.plist'))['installer_type']).toBe('nopkg');
    expect((await listRepo()).filter((p) => p.startsWith('pkgs/'))).toEqual([]);
  });

  it('extracts the app’s icon as a PNG into icons/', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('not really pixels'),
    ]);
    const entry = Buffer.alloc(8);
    entry.write('ic08', 0, 'latin1');
    entry.writeUInt32BE(8 + png.length, 4);
    const header = Buffer.alloc(8);
    header.write('icns', 0, 'latin1');
    header.writeUInt32BE(16 + png.length, 4);
    const spec: FlatPackageSpec = {
      ...fooSpec(),
      apps: [
        {
          path: 'Applications/Foo.app',
          bundleId: 'com.example.foo',
          shortVersion: '1.0',
          iconFile: 'AppIcon',
        },
      ],
      files: [
        {
          path: 'Applications/Foo.app/Contents/Resources/AppIcon.icns',
          contents: Buffer.concat([header, entry, png]),
        },
      ],
    };
    const r = await importCli([await writePkg('Foo.pkg', spec), '--extract-icon']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Saved icon to icons/Foo.png');
    expect(await readFile(join(repo, 'icons/Foo.png'))).toEqual(png);
    expect(existsSync(join(repo, 'icons/_icon_hashes.plist'))).toBe(true);
  });
});

describe('repo import prompts on a terminal', () => {
  it('asks for each field, the catalogs and the subdirectory, and keeps defaults on empty answers', async () => {
    const pkg = await writePkg('Foo.pkg');
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    // name, display name, description, version, category, developer, unattended install,
    // unattended uninstall, catalogs, "Import this item?", subdirectory.
    stdin.end(
      [
        '',
        'Foo App',
        'The foo app.',
        '',
        'Utilities',
        '',
        'true',
        '',
        'testing, production',
        'y',
        'apps',
      ].join('\n') + '\n',
    );
    let stdout = '';
    let stderr = '';
    const code = await runRepoCli(['import', '--repo', repo, pkg], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin,
      env: process.env,
      cwd: work,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Item name [Foo]: ');
    expect(stdout).toContain('Import this item? [y/N] ');
    expect(await readPkginfo('pkgsinfo/apps/Foo-1.0.plist')).toMatchObject({
      name: 'Foo',
      display_name: 'Foo App',
      description: 'The foo app.',
      category: 'Utilities',
      unattended_install: true,
      unattended_uninstall: false,
      catalogs: ['testing', 'production'],
    });
  });

  it('writes nothing when the admin answers no', async () => {
    const pkg = await writePkg('Foo.pkg');
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    stdin.end('\n'.repeat(9) + 'n\n');
    const code = await runRepoCli(['import', '--repo', repo, pkg], {
      stdout: { write: () => true },
      stderr: { write: () => true },
      stdin,
      env: process.env,
      cwd: work,
    });
    expect(code).toBe(0);
    expect(await listRepo()).toEqual([]);
  });
});

describe('repo import refuses bad input with exit 2 and changes nothing', () => {
  it('a repo without pkgsinfo/', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'abbot-bare-'));
    try {
      const r = await repoCli(['import', '--repo', bare, '-n', await writePkg('Foo.pkg')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/not a Munki repo \(pkgsinfo\/ is missing\)/);
      expect(await readdir(bare)).toEqual([]);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('a file that is not a package', async () => {
    const path = join(work, 'Broken.pkg');
    await writeFile(path, 'this is not a xar archive');
    const r = await importCli([path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Broken\.pkg: /);
    expect(await listRepo()).toEqual([]);
  });

  it('a subdirectory that leaves the repo', async () => {
    const r = await importCli([await writePkg('Foo.pkg'), '--subdirectory', '../outside']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subdirectory "\.\.\/outside"/);
    expect(await listRepo()).toEqual([]);
  });

  it('a name that cannot be a file name, after the package was copied: the copy is removed', async () => {
    const pkg = await writePkg('Foo.pkg');
    const r = await importCli([pkg, '--name', '.hidden', '--subdirectory', 'new/apps']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/name "\.hidden" cannot be used in a file name/);
    expect(await listRepo()).toEqual([]);
    expect(await readdir(join(repo, 'pkgs'))).toEqual([]);
  });

  it('no item at all', async () => {
    const r = await importCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing ITEM/);
  });
});
