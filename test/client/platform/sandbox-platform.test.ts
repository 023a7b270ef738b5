import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  mergeConditionFacts,
  runConditionScripts,
} from '../../../client/platform/sandbox/conditions.js';
import {
  appleArch,
  buildLastComponent,
  localDateFact,
  osVersFacts,
} from '../../../client/platform/sandbox/facts.js';
import { hostPathFor } from '../../../client/platform/sandbox/files.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { buildBinaryPlist, buildPlist } from '../../../formats/index.js';
import type { PlistDict } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { abbotVersion } from '../../../lib/version.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'abbot-sandbox-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes a file at a macOS path under the sandbox root. */
async function put(macPath: string, data: string | Uint8Array, mode?: number): Promise<string> {
  const file = join(root, macPath);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, data);
  if (mode !== undefined) await chmod(file, mode);
  return file;
}
const putPlist = (macPath: string, dict: PlistDict, binary = false) =>
  put(macPath, binary ? buildBinaryPlist(dict) : buildPlist(dict));
const systemVersion = (version: string, build: string) =>
  putPlist('/System/Library/CoreServices/SystemVersion.plist', {
    ProductName: 'macOS',
    ProductVersion: version,
    ProductBuildVersion: build,
  });
const machinePlist = (dict: PlistDict) => putPlist('/Library/Abbot/machine.plist', dict);
const app = (macPath: string, info: PlistDict, binary = false) =>
  putPlist(`${macPath}/Contents/Info.plist`, info, binary);

const NOW = new Date('2025-05-01T12:00:00Z');

describe('fact derivations', () => {
  it.each([
    ['15.4.1', { os_vers: '15.4.1', os_vers_major: 15, os_vers_minor: 4, os_vers_patch: 1 }],
    ['15.0', { os_vers: '15.0', os_vers_major: 15, os_vers_minor: 0, os_vers_patch: 0 }],
    ['15.0.0', { os_vers: '15.0', os_vers_major: 15, os_vers_minor: 0, os_vers_patch: 0 }],
    ['15', { os_vers: '15.0', os_vers_major: 15, os_vers_minor: 0, os_vers_patch: 0 }],
    ['14.7', { os_vers: '14.7', os_vers_major: 14, os_vers_minor: 7, os_vers_patch: 0 }],
    ['10.15.7', { os_vers: '10.15.7', os_vers_major: 10, os_vers_minor: 15, os_vers_patch: 7 }],
    ['13.4.1 ', { os_vers: '13.4.1', os_vers_major: 13, os_vers_minor: 4, os_vers_patch: 1 }],
  ])('derives the os_vers facts of %s', (version, facts) => {
    expect(osVersFacts(version)).toEqual(facts);
  });

  it.each([
    ['24E263', '263'],
    ['23H124', '124'],
    ['22G74', '74'],
    ['24A5279h', '5279h'],
    ['19H2026', '2026'],
    ['1234', ''],
    ['', ''],
  ])('takes the build %j after its last uppercase letter: %j', (build, last) => {
    expect(buildLastComponent(build)).toBe(last);
  });

  it('shifts the date fact by the local UTC offset', () => {
    const offsetMs = -NOW.getTimezoneOffset() * 60_000;
    expect(localDateFact(NOW).getTime()).toBe(NOW.getTime() + offsetMs);
  });

  it.each([
    ['x64', 'x86_64'],
    ['arm64', 'arm64'],
    ['ia32', 'i386'],
  ])('maps Node arch %s to %s', (node, apple) => {
    expect(appleArch(node)).toBe(apple);
  });
});

describe('sandbox collectFacts', () => {
  it('reads the OS version from SystemVersion.plist', async () => {
    await systemVersion('15.4.1', '24E263');
    const facts = await sandboxPlatform(root).collectFacts(NOW);
    expect(facts).toMatchObject({
      os_vers: '15.4.1',
      os_vers_major: 15,
      os_vers_minor: 4,
      os_vers_patch: 1,
      os_build_number: '24E263',
      os_build_last_component: '263',
    });
  });

  it('writes a .0 release as major.minor', async () => {
    await systemVersion('15.0', '24A335');
    const facts = await sandboxPlatform(root).collectFacts(NOW);
    expect(facts).toMatchObject({
      os_vers: '15.0',
      os_vers_patch: 0,
      os_build_last_component: '335',
    });
  });

  it('falls back to the host and documented defaults without plists', async () => {
    const facts = await sandboxPlatform(root).collectFacts(NOW);
    expect(facts).toMatchObject({
      os_vers: '14.0',
      os_build_number: '23A344',
      hostname: hostname(),
      arch: appleArch(process.arch),
      machine_model: 'VirtualMac2,1',
      machine_type: 'desktop',
      serial_number: 'UNKNOWN',
      abbot_version: abbotVersion(),
      applications: [],
    });
    expect(facts['date']).toEqual(localDateFact(NOW));
    expect(Array.isArray(facts['ipv4_address'])).toBe(true);
    expect(facts['product_name']).toBeUndefined();
  });

  it('takes machine facts from machine.plist', async () => {
    await machinePlist({
      arch: 'x86_64',
      machine_model: 'MacBookPro16,1',
      machine_type: 'laptop',
      serial_number: 'C02ABC123XYZ',
      hostname: 'lab-mac-01',
      product_name: 'MacBook Pro (16-inch, 2019)',
    });
    const facts = await sandboxPlatform(root).collectFacts(NOW);
    expect(facts).toMatchObject({
      arch: 'x86_64',
      x86_64_capable: true,
      machine_model: 'MacBookPro16,1',
      machine_type: 'laptop',
      serial_number: 'C02ABC123XYZ',
      hostname: 'lab-mac-01',
      product_name: 'MacBook Pro (16-inch, 2019)',
    });
  });

  it('leaves x86_64_capable out on arm64, as Munki does', async () => {
    await machinePlist({ arch: 'arm64' });
    const facts = await sandboxPlatform(root).collectFacts(NOW);
    expect(facts['arch']).toBe('arm64');
    expect('x86_64_capable' in facts).toBe(false);
  });

  it('ignores bad machine.plist values with a warning', async () => {
    await machinePlist({ machine_type: 'server', serial_number: 42 });
    const logger = memoryLogger();
    const facts = await sandboxPlatform(root, { logger }).collectFacts(NOW);
    expect(facts).toMatchObject({ machine_type: 'desktop', serial_number: 'UNKNOWN' });
    expect(logger.entries.map((e) => e.event)).toEqual([
      'facts.value.ignored',
      'facts.value.ignored',
    ]);
  });

  it('uses defaults, with a warning, when SystemVersion.plist is malformed', async () => {
    await put('/System/Library/CoreServices/SystemVersion.plist', '<plist><dict>');
    const logger = memoryLogger();
    const facts = await sandboxPlatform(root, { logger }).collectFacts(NOW);
    expect(facts['os_vers']).toBe('14.0');
    expect(logger.entries[0]?.event).toBe('facts.file.invalid');
  });

  it('includes the applications', async () => {
    await app('/Applications/Firefox.app', {
      CFBundleIdentifier: 'org.mozilla.firefox',
      CFBundleName: 'Firefox',
      CFBundleShortVersionString: '138.0.1',
    });
    const facts = await sandboxPlatform(root).collectFacts(NOW);
    expect(facts['applications']).toEqual([
      {
        bundleid: 'org.mozilla.firefox',
        name: 'Firefox',
        path: '/Applications/Firefox.app',
        version: '138.0.1',
      },
    ]);
  });
});

describe('sandbox listReceipts', () => {
  it('reads binary and XML receipts', async () => {
    // Values from the real receipts quoted in formats-and-dependencies.md §2.
    await putPlist(
      '/var/db/receipts/com.tencent.qq.plist',
      {
        InstallDate: new Date('2021-02-15T03:06:32Z'),
        InstallPrefixPath: 'Applications/',
        InstallProcessName: 'appstoreagent',
        PackageFileName: 'com.tencent.qq.pkg',
        PackageIdentifier: 'com.tencent.qq',
        PackageVersion: '6.7.3',
      },
      true,
    );
    await putPlist('/var/db/receipts/uk.co.canimaansoftware.clamxav-engine-installer.plist', {
      InstallDate: new Date('2016-05-04T07:38:17Z'),
      InstallPrefixPath: 'usr/local/clamXav',
      InstallProcessName: 'installer',
      PackageFileName: 'engine.pkg',
      PackageIdentifier: 'uk.co.canimaansoftware.clamxav-engine-installer',
      PackageVersion: '0.99.1',
      PathSHA1Checksums: {},
    });
    await put('/var/db/receipts/com.tencent.qq.bom', new Uint8Array([0x42, 0x4f, 0x4d]));
    expect(await sandboxPlatform(root).listReceipts()).toEqual([
      {
        packageId: 'com.tencent.qq',
        version: '6.7.3',
        installPrefixPath: 'Applications/',
        installDate: new Date('2021-02-15T03:06:32Z'),
      },
      {
        packageId: 'uk.co.canimaansoftware.clamxav-engine-installer',
        version: '0.99.1',
        installPrefixPath: 'usr/local/clamXav',
        installDate: new Date('2016-05-04T07:38:17Z'),
      },
    ]);
  });

  it('skips corrupt and incomplete receipts with a warning, keeping the rest', async () => {
    await putPlist(
      '/var/db/receipts/good.plist',
      { PackageIdentifier: 'good', PackageVersion: '1' },
      true,
    );
    await put('/var/db/receipts/corrupt.plist', 'bplist00\u0000garbage');
    await put('/var/db/receipts/truncated.plist', '<?xml version="1.0"?><plist><dict><key>Pack');
    await putPlist('/var/db/receipts/noid.plist', { PackageVersion: '1' });
    await putPlist('/var/db/receipts/array.plist', { x: 1 }).then(() =>
      put('/var/db/receipts/array.plist', buildPlist(['PackageIdentifier'])),
    );
    const logger = memoryLogger();
    const receipts = await sandboxPlatform(root, { logger }).listReceipts();
    expect(receipts.map((r) => r.packageId)).toEqual(['good']);
    expect(logger.entries.map((e) => [e.level, e.event])).toEqual(
      Array.from({ length: 4 }, () => ['warn', 'receipts.skipped']),
    );
    expect(logger.entries.map((e) => e.message).join('\n')).toContain('corrupt.plist');
  });

  it('has none when the receipts folder does not exist', async () => {
    expect(await sandboxPlatform(root).listReceipts()).toEqual([]);
  });
});

describe('sandbox listApplications', () => {
  it('finds apps at the top level, one folder down and in /System/Applications', async () => {
    await app(
      '/Applications/Firefox.app',
      {
        CFBundleIdentifier: 'org.mozilla.firefox',
        CFBundleName: 'Firefox',
        CFBundleShortVersionString: '138.0.1',
        CFBundleVersion: '13825.5.1',
      },
      true,
    );
    await app('/Applications/Utilities/Privileges.app', {
      CFBundleIdentifier: 'corp.sap.privileges',
      CFBundleVersion: '1.5.4',
    });
    await app('/System/Applications/Utilities/Terminal.app', {
      CFBundleIdentifier: 'com.apple.Terminal',
      CFBundleName: 'Terminal',
      CFBundleShortVersionString: '2.14',
    });
    await app('/Applications/Deep/Er/Hidden.app', { CFBundleIdentifier: 'too.deep' });
    await put('/Applications/Broken.app/Contents/Info.plist', 'not a plist');
    await put('/Applications/readme.txt', 'hello');
    await put('/Applications/.Hidden.app/Contents/Info.plist', buildPlist({}));

    expect(await sandboxPlatform(root).listApplications()).toEqual([
      { bundleid: '', name: 'Broken', path: '/Applications/Broken.app', version: '' },
      {
        bundleid: 'org.mozilla.firefox',
        name: 'Firefox',
        path: '/Applications/Firefox.app',
        version: '138.0.1',
      },
      {
        bundleid: 'corp.sap.privileges',
        name: 'Privileges',
        path: '/Applications/Utilities/Privileges.app',
        version: '1.5.4',
      },
      {
        bundleid: 'com.apple.Terminal',
        name: 'Terminal',
        path: '/System/Applications/Utilities/Terminal.app',
        version: '2.14',
      },
    ]);
  });

  it('reports Munki’s 0.0.0.0.0 for a bundle without any version', async () => {
    await app('/Applications/NoVersion.app', { CFBundleIdentifier: 'x.y' });
    const [found] = await sandboxPlatform(root).listApplications();
    expect(found?.version).toBe('0.0.0.0.0');
  });
});

describe('sandbox file access', () => {
  it('reads plists, tests existence and hashes at macOS paths under the root', async () => {
    await putPlist('/Library/Preferences/com.example.plist', { a: 'b' }, true);
    await put('/Applications/Foo.app/Contents/MacOS/Foo', 'binary');
    const platform = sandboxPlatform(root);
    expect(await platform.readPlist('/Library/Preferences/com.example.plist')).toEqual({ a: 'b' });
    expect(await platform.exists('/Applications/Foo.app')).toBe(true);
    expect(await platform.exists('/Applications/Bar.app')).toBe(false);
    expect(await platform.md5('/Applications/Foo.app/Contents/MacOS/Foo')).toBe(
      createHash('md5').update('binary').digest('hex'),
    );
    expect(await platform.md5('/Applications/Foo.app')).toBeUndefined();
    expect(await platform.md5('/missing')).toBeUndefined();
  });

  it('gives undefined for a malformed plist', async () => {
    await put('/Library/Preferences/bad.plist', '<plist><dict>');
    expect(await sandboxPlatform(root).readPlist('/Library/Preferences/bad.plist')).toBeUndefined();
  });

  it.each([['/../outside.txt'], ['/Applications/../../outside.txt'], ['../outside.txt']])(
    'treats %s, which climbs out of the root, as missing',
    async (path) => {
      await writeFile(join(dirname(root), 'outside.txt'), 'secret');
      const platform = sandboxPlatform(root);
      try {
        expect(hostPathFor(root, path)).toBeUndefined();
        expect(await platform.exists(path)).toBe(false);
        expect(await platform.md5(path)).toBeUndefined();
      } finally {
        await rm(join(dirname(root), 'outside.txt'), { force: true });
      }
    },
  );

  it('resolves .. that stays inside the root', async () => {
    await put('/Applications/Foo.app/Contents/Info.plist', buildPlist({ CFBundleName: 'Foo' }));
    const platform = sandboxPlatform(root);
    expect(await platform.exists('/Applications/Bar/../Foo.app/Contents/Info.plist')).toBe(true);
  });

  it('treats a symlink leading out of the root as missing', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'abbot-outside-'));
    try {
      await writeFile(join(outside, 'secret.plist'), buildPlist({ secret: true }));
      await mkdir(join(root, 'Library'), { recursive: true });
      await symlink(outside, join(root, 'Library', 'Escape'));
      const platform = sandboxPlatform(root);
      expect(await platform.exists('/Library/Escape/secret.plist')).toBe(false);
      expect(await platform.readPlist('/Library/Escape/secret.plist')).toBeUndefined();
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('sandbox runScript', () => {
  it.each([0, 1, 42])('returns exit code %i', async (code) => {
    const result = await sandboxPlatform(root).runScript(`#!/bin/sh\nexit ${code}\n`, {
      name: 'installcheck_script',
    });
    expect(result).toMatchObject({ exitCode: code, timedOut: false });
  });

  it('sets ABBOT_ROOT to the root and passes extra environment', async () => {
    const result = await sandboxPlatform(root).runScript(
      '#!/bin/sh\nprintf "%s|%s" "$ABBOT_ROOT" "$EXTRA"\necho oops >&2\n',
      { name: 'version_script', env: { EXTRA: 'x' } },
    );
    expect(result.stdout).toBe(`${root}|x`);
    expect(result.stderr).toBe('oops\n');
  });

  it('runs the script from a private file that is gone afterwards', async () => {
    const platform = sandboxPlatform(root);
    const result = await platform.runScript(
      // ls -ld is the portable way (GNU and BSD stat differ) to see the modes from inside.
      '#!/bin/sh\nls -ld "$0" | cut -c1-10; ls -ld "$(dirname "$0")" | cut -c1-10\n',
      { name: 'postinstall_script' },
    );
    expect(result.stdout).toBe('-rwx------\ndrwx------\n');
    expect(await readdir(platform.paths.tmpDir)).toEqual([]);
    expect((await stat(platform.paths.tmpDir)).mode & 0o777).toBe(0o700);
  });

  it('kills a script that runs past its timeout, with what it started', async () => {
    const started = Date.now();
    const result = await sandboxPlatform(root).runScript('#!/bin/sh\nsleep 30 & wait\n', {
      name: 'installcheck_script',
      timeoutMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(143); // 128 + SIGTERM
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('applies the platform default timeout when the caller gives none', async () => {
    const platform = sandboxPlatform(root, { scriptTimeoutMs: 300 });
    const result = await platform.runScript('#!/bin/sh\nsleep 30\n', { name: 'slow' });
    expect(result.timedOut).toBe(true);
  });

  it('throws COMMAND_FAILED naming the script when its interpreter is missing', async () => {
    const platform = sandboxPlatform(root);
    await expect(
      platform.runScript('#!/nonexistent/interpreter\necho hi\n', { name: 'uninstall_script' }),
    ).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      message: 'uninstall_script: cannot run the script',
    });
    expect(await readdir(platform.paths.tmpDir)).toEqual([]);
  });

  it('refuses a script without a #! line, as macOS does', async () => {
    await expect(
      sandboxPlatform(root).runScript('echo no shebang\n', { name: 'postinstall_script' }),
    ).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      message: 'postinstall_script: cannot run the script: no #! line',
    });
  });

  it('runs scripts concurrently', async () => {
    const platform = sandboxPlatform(root);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        platform.runScript(`#!/bin/sh\necho ${i}\n`, { name: `s${i}` }),
      ),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `${i}\n`));
  });
});

describe('runConditionScripts', () => {
  const conditionScript = (name: string, body: string, mode = 0o755) =>
    put(`/Library/Abbot/conditions/${name}`, `#!/bin/sh\n${body}\n`, mode);
  // Writes one key into the conditions plist the way a script would (XML, one dict).
  const writes = (dict: PlistDict) =>
    `cat > "$ABBOT_CONDITIONS_PLIST" <<'EOF'\n${buildPlist(dict)}EOF`;

  it('merges what the scripts write over the built-in facts', async () => {
    await systemVersion('15.4.1', '24E263');
    await conditionScript('site', writes({ site: 'lab', os_vers: 'overridden', rooms: [1, 2] }));
    const platform = sandboxPlatform(root);
    const logger = memoryLogger();
    const conditions = await runConditionScripts(platform, platform.paths, logger);
    expect(conditions).toEqual({ site: 'lab', os_vers: 'overridden', rooms: [1, 2] });
    const facts = mergeConditionFacts(await platform.collectFacts(NOW), conditions);
    expect(facts).toMatchObject({ site: 'lab', os_vers: 'overridden', os_vers_major: 15 });
    expect(logger.entries).toEqual([]);
  });

  it('gives each script ABBOT_ROOT and the plist path, and deletes the plist afterwards', async () => {
    await conditionScript(
      'env',
      writes({}).replace('cat', 'echo "$ABBOT_ROOT" > "$ABBOT_ROOT/seen"; cat'),
    );
    const platform = sandboxPlatform(root);
    await runConditionScripts(platform, platform.paths, memoryLogger());
    await expect(stat(join(root, 'seen'))).resolves.toBeTruthy();
    await expect(stat(platform.paths.conditionalItems)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('deletes a stale plist before running the scripts', async () => {
    const platform = sandboxPlatform(root);
    await putPlist('/Library/Abbot/ConditionalItems.plist', { stale: true });
    expect(await runConditionScripts(platform, platform.paths, memoryLogger())).toEqual({});
  });

  it('skips, with the reason, a world-writable or non-executable script', async () => {
    await conditionScript('a-writable', writes({ a: 1 }), 0o757);
    await conditionScript('b-plain', writes({ b: 1 }), 0o644);
    await conditionScript('c-good', 'true');
    const platform = sandboxPlatform(root);
    const logger = memoryLogger();
    expect(await runConditionScripts(platform, platform.paths, logger)).toEqual({});
    expect(logger.entries.map((e) => [e.event, e.fields?.['reason']])).toEqual([
      ['conditions.script.skipped', 'world-writable'],
      ['conditions.script.skipped', 'not executable'],
    ]);
  });

  it.skipIf(process.getuid?.() !== 0)('skips a script owned by another user', async () => {
    const file = await conditionScript('other', writes({ other: 1 }));
    await chown(file, 12345, 12345);
    const platform = sandboxPlatform(root);
    const logger = memoryLogger();
    expect(await runConditionScripts(platform, platform.paths, logger)).toEqual({});
    expect(logger.entries[0]?.message).toContain('owned by uid 12345, not root');
  });

  it('ignores dot files and folders, and survives a failing script', async () => {
    await conditionScript('.hidden', writes({ hidden: 1 }));
    await mkdir(join(root, 'Library/Abbot/conditions/folder'), { recursive: true });
    await conditionScript('a-fails', 'echo broken >&2; exit 3');
    await conditionScript('b-writes', writes({ ok: true }));
    const platform = sandboxPlatform(root);
    const logger = memoryLogger();
    expect(await runConditionScripts(platform, platform.paths, logger)).toEqual({ ok: true });
    expect(logger.entries.map((e) => e.message)).toEqual([
      `${join(platform.paths.conditionsDir, 'a-fails')}: exited with status 3`,
    ]);
  });

  it('kills a script that runs past the limit', async () => {
    await conditionScript('slow', 'sleep 30');
    const platform = sandboxPlatform(root);
    const logger = memoryLogger();
    await runConditionScripts(platform, platform.paths, logger, { timeoutMs: 200 });
    expect(logger.entries[0]?.message).toMatch(/slow: timed out/);
  });

  it('warns about a plist that is not a dictionary', async () => {
    await conditionScript(
      'array',
      `cat > "$ABBOT_CONDITIONS_PLIST" <<'EOF'\n${buildPlist(['x'])}EOF`,
    );
    const platform = sandboxPlatform(root);
    const logger = memoryLogger();
    expect(await runConditionScripts(platform, platform.paths, logger)).toEqual({});
    expect(logger.entries[0]?.event).toBe('conditions.plist.invalid');
  });

  it('returns nothing when there is no conditions folder', async () => {
    const platform = sandboxPlatform(root);
    expect(await runConditionScripts(platform, platform.paths, memoryLogger())).toEqual({});
  });
});
