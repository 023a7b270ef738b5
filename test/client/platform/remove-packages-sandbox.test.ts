/**
 * removepackages in the sandbox, on packages really installed by the sandbox installer: exactly
 * the files a receipt owns go, shared and unrelated ones stay, emptied folders go (deepest first),
 * non-empty ones stay, and the receipt is forgotten.
 */
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Platform } from '../../../client/platform/platform.js';
import { planRemoval, volumePath } from '../../../client/platform/sandbox/remove-packages.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { buildFlatPackage } from '../../helpers/flat-package.js';
import type { FlatPackageSpec } from '../../helpers/flat-package.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

let root: string;
let pkgDir: string;
let platform: Platform;
beforeEach(async () => {
  root = await makeSandboxRoot({ receipts: [{ packageId: 'com.legacy.unlisted', version: '1' }] });
  pkgDir = await mkdtemp(join(tmpdir(), 'abbot-pkgs-'));
  platform = sandboxPlatform(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(pkgDir, { recursive: true, force: true });
});

const exists = (macPath: string): Promise<boolean> =>
  lstat(join(root, macPath)).then(
    () => true,
    () => false,
  );

async function install(spec: FlatPackageSpec): Promise<void> {
  const file = join(pkgDir, `${spec.identifier}.pkg`);
  await writeFile(file, await buildFlatPackage(spec));
  const result = await platform.installPackage(file, {});
  expect(result.ok).toBe(true);
}

/** A owns /Library/Shared/common.txt together with B; everything else of A is A's alone. */
const A: FlatPackageSpec = {
  kind: 'component',
  identifier: 'com.example.a',
  version: '1.0',
  files: [
    { path: 'Library/A/only/deep.txt', contents: 'deep\n' },
    { path: 'Library/A/link', symlink: 'only/deep.txt' },
    { path: 'Library/Shared/a.txt', contents: 'a\n' },
    { path: 'Library/Shared/common.txt', contents: 'common\n' },
    { path: 'usr/local/bin/a', contents: '#!/bin/sh\n', mode: 0o755 },
  ],
};
const B: FlatPackageSpec = {
  kind: 'component',
  identifier: 'com.example.b',
  version: '2.0',
  installLocation: '/Library',
  files: [
    { path: 'Shared/common.txt', contents: 'common\n' },
    { path: 'Shared/b.txt', contents: 'b\n' },
  ],
};

describe('removePackages in the sandbox', () => {
  beforeEach(async () => {
    await install(A);
    await install(B);
    // Not owned by any receipt: must survive, and keeps its folder.
    await writeFile(join(root, 'Library/A/user-notes.txt'), 'mine\n');
    // Finder's litter does not keep a folder alive.
    await writeFile(join(root, 'usr/local/.DS_Store'), 'x');
  });

  it('removes exactly the paths only the receipt owns, deepest first', async () => {
    const result = await platform.removePackages(['com.example.a']);
    expect(result).toEqual({
      ok: true,
      removedPaths: [
        '/usr/local/bin/a',
        '/usr/local/bin',
        '/usr/local',
        '/usr',
        '/Library/Shared/a.txt',
        '/Library/A/only/deep.txt',
        '/Library/A/only',
        '/Library/A/link',
      ],
      keptPaths: ['/Library/Shared', '/Library/Shared/common.txt', '/Library/A', '/Library'],
      forgotten: ['com.example.a'],
      errors: [],
    });
  });

  it('leaves shared and unrelated files, and the folders that still hold something', async () => {
    await platform.removePackages(['com.example.a']);
    expect(await readFile(join(root, 'Library/Shared/common.txt'), 'utf8')).toBe('common\n');
    expect(await readFile(join(root, 'Library/Shared/b.txt'), 'utf8')).toBe('b\n');
    expect(await readFile(join(root, 'Library/A/user-notes.txt'), 'utf8')).toBe('mine\n');
    expect(await exists('/Library/A/only')).toBe(false);
    expect(await exists('/usr')).toBe(false);
    expect(await exists('/Library/Abbot/machine.plist')).toBe(true);
  });

  it('forgets the receipt and its file list, and only that one', async () => {
    await platform.removePackages(['com.example.a']);
    expect(await exists('/var/db/receipts/com.example.a.plist')).toBe(false);
    expect(await exists('/var/db/receipts/com.example.a.paths.plist')).toBe(false);
    expect((await platform.listReceipts()).map((r) => r.packageId)).toEqual([
      'com.example.b',
      'com.legacy.unlisted',
    ]);
  });

  it("then removes the other receipt's files, the shared ones included", async () => {
    await platform.removePackages(['com.example.a']);
    const result = await platform.removePackages(['com.example.b']);
    expect(result).toMatchObject({
      ok: true,
      removedPaths: ['/Library/Shared/common.txt', '/Library/Shared/b.txt', '/Library/Shared'],
      forgotten: ['com.example.b'],
    });
  });

  it('reports a package without a receipt and removes nothing for it', async () => {
    const result = await platform.removePackages(['com.example.nope']);
    expect(result).toEqual({
      ok: false,
      removedPaths: [],
      keptPaths: [],
      forgotten: [],
      errors: ['No receipt for package com.example.nope'],
    });
  });

  it('will not forget a receipt whose files it cannot tell', async () => {
    const result = await platform.removePackages(['com.legacy.unlisted']);
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([
      'com.legacy.unlisted: the receipt has no file list; cannot tell which files it owns',
    ]);
    expect(result.forgotten).toEqual([]);
    expect(await exists('/var/db/receipts/com.legacy.unlisted.plist')).toBe(true);
  });

  it("removes nothing when another receipt's file list is unreadable", async () => {
    await writeFile(join(root, 'var/db/receipts/com.example.b.paths.plist'), '<plist><dict>');
    const result = await platform.removePackages(['com.example.a']);
    expect(result.ok).toBe(false);
    expect(result.removedPaths).toEqual([]);
    expect(result.errors[0]).toMatch(/com\.example\.b: .*nothing was removed/);
    expect(await exists('/usr/local/bin/a')).toBe(true);
  });
});

describe('removePackages in the sandbox: symlinks and install locations', () => {
  it('removes a symlink itself, never what it points to', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'abbot-outside-'));
    try {
      await writeFile(join(outside, 'target.txt'), 'keep\n');
      await install({
        kind: 'component',
        identifier: 'com.example.link',
        version: '1',
        installLocation: '/opt/link',
        files: [{ path: 'points-out', symlink: join(outside, 'target.txt') }],
      });
      const result = await platform.removePackages(['com.example.link']);
      expect(result.removedPaths).toEqual(['/opt/link/points-out']);
      expect(await readFile(join(outside, 'target.txt'), 'utf8')).toBe('keep\n');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("joins paths onto the receipt's install location and keeps the location itself", async () => {
    await install({
      kind: 'component',
      identifier: 'com.example.tool',
      version: '1',
      installLocation: '/usr/local',
      files: [{ path: 'bin/tool', contents: 'x', mode: 0o755 }],
    });
    await mkdir(join(root, 'usr/local/keep'), { recursive: true });
    const result = await platform.removePackages(['com.example.tool']);
    expect(result.removedPaths).toEqual(['/usr/local/bin/tool', '/usr/local/bin']);
    expect((await stat(join(root, 'usr/local'))).isDirectory()).toBe(true);
  });

  it('does not follow a folder symlink that leads outside the root', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'abbot-outside-'));
    try {
      await install({
        kind: 'component',
        identifier: 'com.example.x',
        version: '1',
        files: [{ path: 'opt/x/file.txt', contents: 'x' }],
      });
      await writeFile(join(outside, 'file.txt'), 'victim\n');
      await rm(join(root, 'opt/x'), { recursive: true });
      await symlink(outside, join(root, 'opt/x'));
      const result = await platform.removePackages(['com.example.x']);
      expect(result.errors).toEqual([
        "Couldn't remove item /opt/x/file.txt: its folder leads outside the root",
      ]);
      expect(await readFile(join(outside, 'file.txt'), 'utf8')).toBe('victim\n');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('removal planning', () => {
  it.each([
    ['/', 'Applications/Foo.app', 'Applications/Foo.app'],
    ['Applications/', 'Foo.app', 'Applications/Foo.app'],
    ['./usr/local', 'bin/x', 'usr/local/bin/x'],
    ['usr/local/clamXav', './share', 'usr/local/clamXav/share'],
    ['/', '../../etc/passwd', undefined],
    ['/', '.', undefined],
  ])('volumePath(%j, %j) is %j', (location, path, expected) => {
    expect(volumePath(location, path)).toBe(expected);
  });

  it('removes unshared paths in reverse sorted order and lists shared ones', () => {
    expect(
      planRemoval(
        [{ packageId: 'a', paths: ['x', 'x/y', 'x/y/z', 's'] }],
        [{ packageId: 'b', paths: ['s', 'q'] }],
      ),
    ).toEqual({ remove: ['x/y/z', 'x/y', 'x'], shared: ['s'] });
  });
});
