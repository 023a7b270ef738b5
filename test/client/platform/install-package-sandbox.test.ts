/**
 * The sandbox installer with REAL flat packages (test/helpers/flat-package.ts writes them as
 * pkgbuild and productbuild do): scripts that dump their argv and environment, gzip and pbzx
 * payloads, app bundles, receipts the existing reader sees, and every way an install must refuse
 * to start (the root is snapshotted before and after).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planComponents } from '../../../client/platform/sandbox/package-components.js';
import { readReceiptPaths } from '../../../client/platform/sandbox/receipt-writer.js';
import { readReceiptsFolder } from '../../../client/platform/sandbox/receipts.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import type { PackageInstallProgress, Platform } from '../../../client/platform/platform.js';
import {
  bufferSource,
  isPlistDict,
  openXar,
  parsePlist,
  readFlatPackage,
  writeCpioOdc,
} from '../../../formats/index.js';
import type { CpioWriteEntry, PlistValue } from '../../../formats/index.js';
import { memoryLogger, silentLogger } from '../../../lib/log.js';
import { buildFlatPackage, flipByte, writeXar } from '../../helpers/flat-package.js';
import type { FlatPackageSpec, XarMemberSpec } from '../../helpers/flat-package.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const NOW = new Date('2026-03-01T10:00:00Z');

let root: string;
let pkgDir: string;
let outside: string;
let platform: Platform;
beforeEach(async () => {
  root = await makeSandboxRoot();
  pkgDir = await mkdtemp(join(tmpdir(), 'abbot-pkgs-'));
  outside = await mkdtemp(join(tmpdir(), 'abbot-outside-'));
  platform = sandboxPlatform(root, { now: () => NOW });
});
afterEach(async () => {
  for (const dir of [root, pkgDir, outside]) await rm(dir, { recursive: true, force: true });
});

/** Writes package bytes into the package folder (outside the root) and returns the path. */
async function savePkg(name: string, bytes: Uint8Array): Promise<string> {
  const file = join(pkgDir, name);
  await writeFile(file, bytes);
  return file;
}
const pkgFile = async (name: string, spec: FlatPackageSpec): Promise<string> =>
  savePkg(name, await buildFlatPackage(spec));

/** Every path under `dir` with its mode and content hash or link target, sorted. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const host = rel === '' ? dir : join(dir, rel);
    const info = await lstat(host);
    let line = `${rel || '.'} ${info.mode.toString(8)}`;
    if (info.isFile())
      line += ` ${createHash('sha1')
        .update(await readFile(host))
        .digest('hex')}`;
    if (info.isSymbolicLink()) line += ` -> ${await readlink(host)}`;
    out.push(line);
    if (info.isDirectory()) {
      for (const name of (await readdir(host)).sort()) {
        await walk(rel === '' ? name : `${rel}/${name}`);
      }
    }
  };
  await walk('');
  return out;
}

/** `KEY=value` lines a dump script wrote, as a record. */
async function readDump(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** A script that writes its argv, environment and surroundings to `$3/private/markers/<name>`. */
const dumpScript = (name: string): string =>
  [
    '#!/bin/sh',
    'm="$3/private/markers"',
    'mkdir -p "$m"',
    '{',
    '  echo "argv1=$1"',
    '  echo "argv2=$2"',
    '  echo "argv3=$3"',
    '  echo "argv4=$4"',
    '  echo "INSTALLER_TEMP=$INSTALLER_TEMP"',
    '  echo "PACKAGE_PATH=$PACKAGE_PATH"',
    '  echo "DSTVOLUME=$DSTVOLUME"',
    '  echo "DSTROOT=$DSTROOT"',
    '  echo "SCRIPT_NAME=$SCRIPT_NAME"',
    '  echo "INSTALL_PKG_SESSION_ID=$INSTALL_PKG_SESSION_ID"',
    '  echo "COMMAND_LINE_INSTALL=$COMMAND_LINE_INSTALL"',
    '  echo "ABBOT_ROOT=$ABBOT_ROOT"',
    '  echo "PATH=$PATH"',
    '  echo "CUSTOM_SETTING=$CUSTOM_SETTING"',
    '  echo "pwd=$(pwd)"',
    '  if [ -d "$INSTALLER_TEMP" ]; then echo "tempdir=yes"; else echo "tempdir=no"; fi',
    '  if [ -e "$2/bin/tool" ]; then echo "payload=present"; else echo "payload=absent"; fi',
    `} > "$m/${name}"`,
    `echo "${name} ran"`,
    '',
  ].join('\n');

/** A script that appends its name and package to `$3/private/order.log`. */
const orderScript = (text: string): string =>
  `#!/bin/sh\nmkdir -p "$3/private"\necho "${text} $INSTALL_PKG_SESSION_ID" >> "$3/private/order.log"\n`;

const TOOL_SPEC: FlatPackageSpec = {
  kind: 'component',
  identifier: 'com.example.tool',
  version: '1.0',
  installLocation: '/usr/local',
  files: [
    { path: 'bin/tool', contents: '#!/bin/sh\necho tool 1.0\n', mode: 0o755 },
    { path: 'share/tool/secret.conf', contents: 'key=1\n', mode: 0o600 },
  ],
  scripts: { preinstall: dumpScript('preinstall'), postinstall: dumpScript('postinstall') },
};

/** A component's xar members laid out as pkgbuild does, with a hand-written PackageInfo. */
function rawComponent(options: {
  dir?: string;
  id: string;
  version?: string;
  location?: string;
  postinstallAction?: string;
  entries: CpioWriteEntry[];
  bundles?: string;
}): XarMemberSpec[] {
  const at = (name: string): string =>
    options.dir === undefined ? name : `${options.dir}/${name}`;
  return [
    { path: at('Bom'), contents: 'stub', encoding: 'zlib' },
    { path: at('Payload'), contents: gzipSync(writeCpioOdc(options.entries)) },
    {
      path: at('PackageInfo'),
      encoding: 'zlib',
      contents:
        `<?xml version="1.0" encoding="utf-8"?>\n<pkg-info format-version="2" identifier="${options.id}" ` +
        `version="${options.version ?? '1.0'}" install-location="${options.location ?? '/'}" ` +
        `postinstall-action="${options.postinstallAction ?? 'none'}" auth="root">\n` +
        `    <payload numberOfFiles="${options.entries.length}" installKBytes="1"/>\n${options.bundles ?? ''}</pkg-info>\n`,
    },
  ];
}

const dir = (path: string, mode = 0o755): CpioWriteEntry => ({ path, mode: 0o040000 | mode });
const file = (path: string, data: string, mode = 0o644): CpioWriteEntry => ({
  path,
  mode: 0o100000 | mode,
  data,
});
const link = (path: string, target: string): CpioWriteEntry => ({
  path,
  mode: 0o120755,
  data: target,
});

// ---------------------------------------------------------------------------------------------

describe('installPackage in the sandbox: a component package with scripts', () => {
  it('runs preinstall and postinstall with installer argv and environment around the payload', async () => {
    const pkg = await pkgFile('Tool-1.0.pkg', TOOL_SPEC);
    const result = await platform.installPackage(pkg, { environment: { CUSTOM_SETTING: 'on' } });
    expect(result).toMatchObject({ ok: true, exitCode: 0, receipts: ['com.example.tool'] });

    const pre = await readDump(join(root, 'private/markers/preinstall'));
    const post = await readDump(join(root, 'private/markers/postinstall'));
    const dest = join(root, 'usr/local');
    for (const [dump, name] of [
      [pre, 'preinstall'],
      [post, 'postinstall'],
    ] as const) {
      expect(dump).toMatchObject({
        argv1: pkg,
        argv2: dest,
        argv3: root,
        argv4: '/',
        PACKAGE_PATH: pkg,
        DSTVOLUME: root,
        DSTROOT: dest,
        SCRIPT_NAME: name,
        INSTALL_PKG_SESSION_ID: 'com.example.tool',
        COMMAND_LINE_INSTALL: '1',
        ABBOT_ROOT: root,
        PATH: '/bin:/sbin:/usr/bin:/usr/sbin:/usr/libexec',
        CUSTOM_SETTING: 'on',
        tempdir: 'yes',
      });
      expect(dump['INSTALLER_TEMP']).toMatch(
        new RegExp(`^${root}/Library/Abbot/tmp/install-[^/]+/tmp$`),
      );
      expect(dump['pwd']).toMatch(/\/Scripts\/com\.example\.tool$/);
    }
    expect(pre['payload']).toBe('absent');
    expect(post['payload']).toBe('present');
    // The scratch folder and the extracted scripts are gone afterwards.
    expect(await readdir(join(root, 'Library/Abbot/tmp'))).toEqual([]);
    expect(result.log).toEqual(expect.arrayContaining(['./preinstall: preinstall ran']));
  });

  it('extracts the payload at its install-location with the archived modes', async () => {
    await platform.installPackage(await pkgFile('Tool-1.0.pkg', TOOL_SPEC), {});
    const tool = join(root, 'usr/local/bin/tool');
    expect(await readFile(tool, 'utf8')).toBe('#!/bin/sh\necho tool 1.0\n');
    expect((await stat(tool)).mode & 0o7777).toBe(0o755);
    expect((await stat(join(root, 'usr/local/share/tool/secret.conf'))).mode & 0o7777).toBe(0o600);
    expect((await stat(join(root, 'usr/local/share/tool'))).mode & 0o7777).toBe(0o755);
  });

  it('writes a binary receipt the receipts reader sees, with its file list beside it', async () => {
    await platform.installPackage(await pkgFile('Tool-1.0.pkg', TOOL_SPEC), {});
    const receiptFile = join(root, 'var/db/receipts/com.example.tool.plist');
    const bytes = await readFile(receiptFile);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('bplist00');
    expect(parsePlist(bytes)).toEqual({
      PackageIdentifier: 'com.example.tool',
      PackageVersion: '1.0',
      InstallDate: NOW,
      InstallPrefixPath: 'usr/local/',
      InstallProcessName: 'installer',
      PackageFileName: 'Tool-1.0.pkg',
    });
    expect(await platform.listReceipts()).toEqual([
      {
        packageId: 'com.example.tool',
        version: '1.0',
        installPrefixPath: 'usr/local/',
        installDate: NOW,
      },
    ]);
    const list = await readReceiptPaths(join(root, 'var/db/receipts'), 'com.example.tool');
    expect(Object.fromEntries(list ?? [])).toEqual({
      bin: { type: 'directory', mode: 0o755, uid: 0, gid: 0 },
      'bin/tool': { type: 'file', mode: 0o755, uid: 0, gid: 0 },
      share: { type: 'directory', mode: 0o755, uid: 0, gid: 0 },
      'share/tool': { type: 'directory', mode: 0o755, uid: 0, gid: 0 },
      'share/tool/secret.conf': { type: 'file', mode: 0o600, uid: 0, gid: 0 },
    });
    const xml = await readFile(join(root, 'var/db/receipts/com.example.tool.paths.plist'), 'utf8');
    expect(xml).toMatch(/^<\?xml/);
  });

  it('lists the receipt without a warning about the file list beside it', async () => {
    const logger = memoryLogger();
    const quiet = sandboxPlatform(root, { logger });
    await quiet.installPackage(await pkgFile('Tool-1.0.pkg', TOOL_SPEC), {});
    expect((await quiet.listReceipts()).map((r) => r.packageId)).toEqual(['com.example.tool']);
    expect(logger.entries.filter((e) => e.level === 'warn')).toEqual([]);
  });

  it('reports a package without a payload as installed but leaves no receipt, as pkgutil does', async () => {
    const pkg = await pkgFile('Scripts.pkg', {
      kind: 'component',
      identifier: 'com.example.scriptsonly',
      version: '1.0',
      payloadFree: true,
      scripts: { postinstall: orderScript('post') },
    });
    const result = await platform.installPackage(pkg, {});
    expect(result).toMatchObject({ ok: true, receipts: [] });
    expect(await readFile(join(root, 'private/order.log'), 'utf8')).toBe(
      'post com.example.scriptsonly\n',
    );
    expect(await platform.listReceipts()).toEqual([]);
  });
});

describe('installPackage in the sandbox: a product with two components', () => {
  const PRODUCT: FlatPackageSpec = {
    kind: 'product',
    identifier: 'com.example.foo.product',
    version: '1.0',
    components: [
      {
        identifier: 'com.example.foo',
        version: '1.0',
        apps: [{ path: 'Applications/Foo.app', bundleId: 'com.example.foo', shortVersion: '1.0' }],
        files: [
          { path: 'Applications/Foo.app/Contents/Resources/notes.txt', contents: 'notes\n' },
          { path: 'Applications/Foo.app/Contents/Resources/Info', symlink: '../Info.plist' },
        ],
        scripts: { preinstall: orderScript('pre'), postinstall: orderScript('post') },
      },
      {
        identifier: 'com.example.foo.cli',
        version: '1.0',
        installLocation: '/usr/local',
        payloadEncoding: 'pbzx',
        pbzxChunkSize: 64,
        files: [{ path: 'bin/foo', contents: '#!/bin/sh\necho foo\n'.repeat(20), mode: 0o755 }],
        scripts: { preinstall: orderScript('pre'), postinstall: orderScript('post') },
      },
    ],
  };

  it('installs each component in Distribution order, scripts around its own payload', async () => {
    const result = await platform.installPackage(await pkgFile('Foo.pkg', PRODUCT), {});
    expect(result).toMatchObject({
      ok: true,
      restartAction: 'None',
      receipts: ['com.example.foo', 'com.example.foo.cli'],
    });
    expect(await readFile(join(root, 'private/order.log'), 'utf8')).toBe(
      [
        'pre com.example.foo',
        'post com.example.foo',
        'pre com.example.foo.cli',
        'post com.example.foo.cli',
        '',
      ].join('\n'),
    );
    expect(await readFile(join(root, 'usr/local/bin/foo'), 'utf8')).toBe(
      '#!/bin/sh\necho foo\n'.repeat(20),
    );
    const receipts = await readReceiptsFolder(join(root, 'var/db/receipts'), silentLogger);
    expect(receipts.map((r) => [r.packageId, r.installPrefixPath])).toEqual([
      ['com.example.foo', '/'],
      ['com.example.foo.cli', 'usr/local/'],
    ]);
    const cli = parsePlist(await readFile(join(root, 'var/db/receipts/com.example.foo.cli.plist')));
    expect(isPlistDict(cli) && cli['PackageFileName']).toBe('cli.pkg');
  });

  it('lands the app bundle at /Applications/Foo.app with its modes and symlink', async () => {
    await platform.installPackage(await pkgFile('Foo.pkg', PRODUCT), {});
    const app = join(root, 'Applications/Foo.app');
    expect((await stat(join(app, 'Contents/MacOS/Foo'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(app, 'Contents/Info.plist'))).mode & 0o7777).toBe(0o644);
    expect(await readlink(join(app, 'Contents/Resources/Info'))).toBe('../Info.plist');
    expect(await platform.listApplications()).toEqual([
      { bundleid: 'com.example.foo', name: 'Foo', path: '/Applications/Foo.app', version: '1.0' },
    ]);
  });

  it('reports progress in order: phases, rising percents, then 100', async () => {
    const events: PackageInstallProgress[] = [];
    await platform.installPackage(await pkgFile('Foo.pkg', PRODUCT), {
      onProgress: (p) => events.push(p),
    });
    const phases = events.flatMap((e) => (e.phase === undefined ? [] : [e.phase]));
    expect(phases).toEqual([
      'Preparing for installation…',
      'Running preinstall script of com.example.foo…',
      'Writing files…',
      'Running postinstall script of com.example.foo…',
      'Registering updated components…',
      'Running preinstall script of com.example.foo.cli…',
      'Writing files…',
      'Running postinstall script of com.example.foo.cli…',
      'Registering updated components…',
      'The software was successfully installed.',
    ]);
    const percents = events.flatMap((e) => (e.percent === undefined ? [] : [e.percent]));
    expect(percents[0]).toBe(0);
    expect(percents.at(-1)).toBe(100);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(
      events.some((e) => /^extracting \d+ files of com\.example\.foo$/.test(e.status ?? '')),
    ).toBe(true);
  });

  it('skips a component its choice deselects (choiceAttribute selected, attributeSetting 0)', async () => {
    const result = await platform.installPackage(await pkgFile('Foo.pkg', PRODUCT), {
      choicesXml: [
        {
          choiceIdentifier: 'com.example.foo.cli',
          choiceAttribute: 'selected',
          attributeSetting: 0,
        },
        {
          choiceIdentifier: 'com.example.foo',
          choiceAttribute: 'visible',
          attributeSetting: false,
        },
      ],
    });
    expect(result).toMatchObject({ ok: true, receipts: ['com.example.foo'] });
    await expect(stat(join(root, 'usr/local/bin/foo'))).rejects.toThrow();
    expect(result.log).toEqual(
      expect.arrayContaining([
        'choice com.example.foo: attribute visible ignored (only "selected" is applied)',
      ]),
    );
  });

  it('plans by choices: false deselects, a string toggles, unknown ids are noted', async () => {
    const pkg = await readFlatPackage(bufferSource(await buildFlatPackage(PRODUCT)));
    const notes: string[] = [];
    const ids = async (choices: PlistValue | undefined) =>
      (await planComponents(pkg, choices, (n) => notes.push(n))).map(
        (p) => p.component.packageInfo.identifier,
      );
    expect(await ids(undefined)).toEqual(['com.example.foo', 'com.example.foo.cli']);
    expect(
      await ids([
        {
          choiceIdentifier: 'com.example.foo',
          choiceAttribute: 'selected',
          attributeSetting: false,
        },
      ]),
    ).toEqual(['com.example.foo.cli']);
    expect(await ids(['com.example.foo'])).toEqual(['com.example.foo.cli']);
    expect(await ids(['nope'])).toEqual(['com.example.foo', 'com.example.foo.cli']);
    expect(notes).toEqual(['choice nope ignored: no such choice']);
  });
});

describe('installPackage in the sandbox: failing scripts', () => {
  it('extracts nothing and writes no receipt when preinstall fails', async () => {
    const pkg = await pkgFile('Tool.pkg', {
      ...TOOL_SPEC,
      scripts: { preinstall: '#!/bin/sh\necho "disk check failed" >&2\nexit 3\n' },
    });
    const result = await platform.installPackage(pkg, {});
    expect(result).toMatchObject({ ok: false, exitCode: 1, receipts: [], restartAction: 'None' });
    expect(result.error).toContain('preinstall of com.example.tool exited with status 3');
    expect(result.log).toEqual(expect.arrayContaining(['./preinstall: disk check failed']));
    await expect(stat(join(root, 'usr/local/bin/tool'))).rejects.toThrow();
    expect(await platform.listReceipts()).toEqual([]);
  });

  it('reports a failing postinstall, leaves the payload, and writes no receipt (as PackageKit)', async () => {
    const pkg = await pkgFile('Tool.pkg', {
      ...TOOL_SPEC,
      scripts: { postinstall: '#!/bin/sh\nexit 1\n' },
    });
    const result = await platform.installPackage(pkg, {});
    expect(result).toMatchObject({ ok: false, exitCode: 1, receipts: [] });
    expect(result.error).toContain('postinstall of com.example.tool exited with status 1');
    expect(await readFile(join(root, 'usr/local/bin/tool'), 'utf8')).toContain('tool 1.0');
    expect(await platform.listReceipts()).toEqual([]);
  });
});

describe('installPackage in the sandbox: refusing before anything is written', () => {
  const refuses = async (pkg: string, message: RegExp): Promise<void> => {
    const before = await snapshot(root);
    const outsideBefore = await snapshot(outside);
    const result = await platform.installPackage(pkg, {});
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(message);
    expect(result.error).toContain('nothing was installed');
    expect(await snapshot(root)).toEqual(before);
    expect(await snapshot(outside)).toEqual(outsideBefore);
  };

  it('gives a clear error for a truncated package and leaves the root as it was', async () => {
    const bytes = await buildFlatPackage(TOOL_SPEC);
    await refuses(
      await savePkg('Tool.pkg', bytes.subarray(0, bytes.length - 200)),
      /Tool\.pkg: .+/,
    );
  });

  it('refuses a payload whose bytes fail their checksum', async () => {
    const bytes = await buildFlatPackage(TOOL_SPEC);
    const range = (await openXar(bufferSource(bytes))).dataRange('Payload');
    flipByte(bytes, range.offset + Math.floor(range.length / 2));
    await refuses(await savePkg('Tool.pkg', bytes), /checksum|corrupt|gzip/i);
  });

  it.each([
    ['a .. member', './../../escaped'],
    ['an absolute member', '/etc/escaped'],
  ])('refuses %s in the payload', async (_what, path) => {
    const members = rawComponent({
      id: 'com.example.evil',
      entries: [dir('.'), file('./ok.txt', 'fine\n'), file(path, 'evil\n')],
    });
    await refuses(await savePkg('Evil.pkg', writeXar(members)), /refused/);
  });

  it('refuses a package id that could name a file outside the receipts folder', async () => {
    const members = rawComponent({ id: '../../evil', entries: [dir('.'), file('./x', 'x\n')] });
    await refuses(await savePkg('Evil.pkg', writeXar(members)), /cannot name a receipt/);
  });

  it('refuses a device file or FIFO in the payload', async () => {
    const members = rawComponent({
      id: 'com.example.fifo',
      entries: [dir('.'), { path: './pipe', mode: 0o010644 }],
    });
    await refuses(await savePkg('Fifo.pkg', writeXar(members)), /device, socket or FIFO/);
  });

  it('refuses a member written through a payload symlink that leaves the root', async () => {
    const members = rawComponent({
      id: 'com.example.evil',
      entries: [dir('.'), link('./up', '../../../..'), file('./up/escaped.txt', 'evil\n')],
    });
    await refuses(await savePkg('Evil.pkg', writeXar(members)), /through a symlink/);
  });

  it('refuses a member written through an absolute payload symlink', async () => {
    const members = rawComponent({
      id: 'com.example.evil',
      entries: [dir('.'), link('./out', outside), file('./out/escaped.txt', 'evil\n')],
    });
    await refuses(await savePkg('Evil.pkg', writeXar(members)), /through a symlink/);
  });

  it('refuses to write through an existing folder symlink that leads outside the root', async () => {
    await mkdir(join(root, 'usr'), { recursive: true });
    await symlink(outside, join(root, 'usr/local'));
    await refuses(await pkgFile('Tool.pkg', TOOL_SPEC), /outside the root/);
  });
});

describe('installPackage in the sandbox: writing', () => {
  it('replaces a symlink at a file name instead of writing through it', async () => {
    const target = join(outside, 'victim');
    await writeFile(target, 'untouched\n');
    await mkdir(join(root, 'usr/local/bin'), { recursive: true });
    await symlink(target, join(root, 'usr/local/bin/tool'));
    const result = await platform.installPackage(await pkgFile('Tool.pkg', TOOL_SPEC), {});
    expect(result.ok).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('untouched\n');
    expect((await lstat(join(root, 'usr/local/bin/tool'))).isFile()).toBe(true);
  });

  it('installs through a folder symlink that stays inside the root (/etc → private/etc)', async () => {
    await mkdir(join(root, 'private/etc'), { recursive: true });
    await symlink('private/etc', join(root, 'etc'));
    const members = rawComponent({
      id: 'com.example.etc',
      entries: [dir('.'), dir('./etc'), file('./etc/example.conf', 'x=1\n')],
    });
    const result = await platform.installPackage(await savePkg('Etc.pkg', writeXar(members)), {});
    expect(result.ok).toBe(true);
    expect(await readlink(join(root, 'etc'))).toBe('private/etc');
    expect(await readFile(join(root, 'private/etc/example.conf'), 'utf8')).toBe('x=1\n');
  });

  it('creates hard links as links to one file', async () => {
    const members = rawComponent({
      id: 'com.example.links',
      location: '/usr/local',
      entries: [
        dir('.'),
        dir('./bin'),
        { path: './bin/a', mode: 0o100755, nlink: 2, ino: 77, data: 'shared\n' },
        { path: './bin/b', mode: 0o100755, nlink: 2, ino: 77, data: 'shared\n' },
      ],
    });
    const result = await platform.installPackage(await savePkg('Links.pkg', writeXar(members)), {});
    expect(result.ok).toBe(true);
    const [a, b] = await Promise.all(['a', 'b'].map((n) => stat(join(root, 'usr/local/bin', n))));
    expect(a?.ino).toBe(b?.ino);
    expect(await readFile(join(root, 'usr/local/bin/b'), 'utf8')).toBe('shared\n');
  });

  it('upgrades 1.0 to 1.1: files and receipt replaced, the app bundle exactly as packaged', async () => {
    const version = (v: string, extra: boolean): FlatPackageSpec => ({
      kind: 'component',
      identifier: 'com.example.foo',
      version: v,
      apps: [{ path: 'Applications/Foo.app', bundleId: 'com.example.foo', shortVersion: v }],
      files: [
        { path: 'Library/Foo/settings.txt', contents: `v${v}\n` },
        ...(extra
          ? [
              { path: 'Applications/Foo.app/Contents/Resources/old.txt', contents: 'old\n' },
              { path: 'Library/Foo/legacy.txt', contents: 'legacy\n' },
            ]
          : []),
      ],
    });
    expect(
      (await platform.installPackage(await pkgFile('Foo-1.0.pkg', version('1.0', true)), {})).ok,
    ).toBe(true);
    expect(
      (await platform.installPackage(await pkgFile('Foo-1.1.pkg', version('1.1', false)), {})).ok,
    ).toBe(true);

    expect(await readFile(join(root, 'Library/Foo/settings.txt'), 'utf8')).toBe('v1.1\n');
    expect(await platform.listApplications()).toMatchObject([{ version: '1.1' }]);
    await expect(
      stat(join(root, 'Applications/Foo.app/Contents/Resources/old.txt')),
    ).rejects.toThrow();
    // Outside bundles installer leaves what the new version no longer carries, as PackageKit does.
    expect(await readFile(join(root, 'Library/Foo/legacy.txt'), 'utf8')).toBe('legacy\n');
    expect(await platform.listReceipts()).toMatchObject([
      { packageId: 'com.example.foo', version: '1.1' },
    ]);
    const list = await readReceiptPaths(join(root, 'var/db/receipts'), 'com.example.foo');
    expect(list?.has('Applications/Foo.app/Contents/Resources/old.txt')).toBe(false);
    expect(list?.has('Library/Foo/settings.txt')).toBe(true);
  });
});

describe('installPackage in the sandbox: RestartAction', () => {
  it.each([
    ['restart', 'RequireRestart'],
    ['logout', 'RequireLogout'],
    ['shutdown', 'RequireShutdown'],
    ['none', 'None'],
  ] as const)('maps postinstall-action %s to %s', async (action, expected) => {
    const members = rawComponent({
      id: 'com.example.r',
      postinstallAction: action,
      entries: [dir('.'), dir('./Library'), file('./Library/r.txt', 'r\n')],
    });
    const result = await platform.installPackage(await savePkg('R.pkg', writeXar(members)), {});
    expect(result.restartAction).toBe(expected);
  });

  it('takes the strongest of postinstall-action and the Distribution onConclusion', async () => {
    const members: XarMemberSpec[] = [
      ...rawComponent({
        dir: 'a.pkg',
        id: 'com.example.a',
        postinstallAction: 'logout',
        entries: [dir('.'), file('./a.txt', 'a\n')],
      }),
      ...rawComponent({
        dir: 'b.pkg',
        id: 'com.example.b',
        entries: [dir('.'), file('./b.txt', 'b\n')],
      }),
      {
        path: 'Distribution',
        encoding: 'zlib',
        contents: [
          '<?xml version="1.0" encoding="utf-8"?>',
          '<installer-gui-script minSpecVersion="2">',
          '    <pkg-ref id="com.example.a" onConclusion="RecommendRestart">#a.pkg</pkg-ref>',
          '    <pkg-ref id="com.example.b" onConclusion="RequireRestart">#b.pkg</pkg-ref>',
          '</installer-gui-script>',
        ].join('\n'),
      },
    ];
    const result = await platform.installPackage(await savePkg('AB.pkg', writeXar(members)), {});
    expect(result).toMatchObject({
      ok: true,
      receipts: ['com.example.a', 'com.example.b'],
      restartAction: 'RequireRestart',
    });
  });

  it('reports None when the install failed, as Munki does', async () => {
    const members = rawComponent({
      id: 'com.example.r',
      postinstallAction: 'restart',
      entries: [dir('.'), file('./../bad', 'x')],
    });
    const result = await platform.installPackage(await savePkg('R.pkg', writeXar(members)), {});
    expect(result).toMatchObject({ ok: false, restartAction: 'None' });
  });
});

describe('requestRestart in the sandbox', () => {
  it('records the reasons in <state>/restart-requested.json and restarts nothing', async () => {
    await platform.requestRestart('Foo 1.0 requires a restart');
    await platform.requestRestart('macOS update');
    await platform.requestRestart('Foo 1.0 requires a restart');
    const json: unknown = JSON.parse(
      await readFile(join(root, 'Library/Abbot/restart-requested.json'), 'utf8'),
    );
    expect(json).toEqual({
      reasons: ['Foo 1.0 requires a restart', 'macOS update'],
      requestedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
  });
});
