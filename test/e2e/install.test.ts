/**
 * `abbot install` and `abbot run --auto` end to end: the example repo's real flat packages served
 * over loopback HTTPS, downloaded, verified and installed into a sandbox root; then checked again.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { abbotCli } from '../helpers/cli.js';
import { buildPlist, parsePlist, type PlistDict, type PlistValue } from '../../formats/index.js';
import { memoryLogger } from '../../lib/log.js';
import { makeCatalogs } from '../../repo-tools/commands/makecatalogs.js';
import { etagFor, routes, startTestServer, type TestServer } from '../helpers/https-server.js';
import { makeSandboxRoot, type SandboxSpec } from '../helpers/sandbox-root.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/repo', import.meta.url));
let server: TestServer | undefined;
let repo: string;
const cleanup: string[] = [];

beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), 'abbot-install-repo-'));
  cleanup.push(repo);
  await cp(EXAMPLE, repo, { recursive: true });
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const p of cleanup.splice(0)) await rm(p, { recursive: true, force: true });
});

const abbot = (args: string[]) => abbotCli(args);

async function start(
  spec: SandboxSpec = {},
  prefs: Record<string, PlistValue> = {},
): Promise<string> {
  await makeCatalogs({ repo, logger: memoryLogger(), cache: false });
  server = await startTestServer({ root: repo });
  const root = await makeSandboxRoot({
    ...spec,
    preferences: {
      SoftwareRepoURL: server.url,
      SoftwareRepoCACertificate: server.pki.caCert,
      HttpRetries: 0,
      ...prefs,
    },
  });
  cleanup.push(root);
  return root;
}

const receipt = async (root: string, id: string): Promise<PlistDict> =>
  parsePlist(await readFile(join(root, 'var/db/receipts', `${id}.plist`))) as PlistDict;

async function installs(root: string, id: string): Promise<string[]> {
  const r = await abbot(['check', '--json', '--root', root, '--client-id', id]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { installs: { name: string }[] }).installs.map((i) => i.name);
}

describe('abbot install', () => {
  it('installs the planned packages and scripts, and the next check finds nothing to do', async () => {
    const root = await start({ machine: { machine_type: 'laptop' } });
    expect(await installs(root, 'site_default')).toEqual([
      'DockDefaults',
      'HelloWorld',
      'HelloWorldSettings',
    ]);
    const r = await abbot(['install', '--root', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Install of Hello World-1.0: SUCCESSFUL');
    // The package's payload, its postinstall script's work, and a receipt as pkgutil writes it.
    const info = parsePlist(
      await readFile(join(root, 'Applications/Hello World.app/Contents/Info.plist')),
    ) as PlistDict;
    expect(info['CFBundleShortVersionString']).toBe('1.0');
    expect(
      await readFile(join(root, 'Library/Application Support/Hello World/installed.txt'), 'utf8'),
    ).toMatch(/installed by/);
    expect(await receipt(root, 'org.abbot.example.helloworld')).toMatchObject({
      PackageIdentifier: 'org.abbot.example.helloworld',
      PackageVersion: '1.0',
    });
    // The nopkg items' postinstall scripts ran under the root.
    expect(existsSync(join(root, 'Library/Preferences/org.abbot.example.HelloWorld.plist'))).toBe(
      true,
    );
    expect(existsSync(join(root, 'Library/Abbot-Examples/dock-configured'))).toBe(true);
    expect(await installs(root, 'site_default')).toEqual([]);
    const status = JSON.parse((await abbot(['status', '--json', '--root', root])).stdout);
    expect(status.pending.installs).toEqual([]);
    expect(existsSync(join(root, 'Library/Abbot/ManagedInstallReport.plist'))).toBe(true);
  });

  it('upgrades to a newer version and replaces the receipt', async () => {
    const root = await start();
    await abbot(['check', '--root', root, '--client-id', 'site_default']);
    await abbot(['install', '--root', root]);
    // A manifest that takes HelloWorld from testing, where 1.1 (a pbzx payload) lives.
    await writeFile(
      join(repo, 'manifests', 'upgrader'),
      buildPlist({ catalogs: ['testing'], managed_installs: ['HelloWorld'] }),
    );
    expect(await installs(root, 'upgrader')).toEqual(['HelloWorld']);
    expect((await abbot(['install', '--root', root])).code).toBe(0);
    expect((await receipt(root, 'org.abbot.example.helloworld'))['PackageVersion']).toBe('1.1');
    const info = parsePlist(
      await readFile(join(root, 'Applications/Hello World.app/Contents/Info.plist')),
    ) as PlistDict;
    expect(info['CFBundleShortVersionString']).toBe('1.1');
    expect(await installs(root, 'upgrader')).toEqual([]);
  });

  it('removes exactly the files the receipt owned (removepackages)', async () => {
    const root = await start();
    await writeFile(
      join(repo, 'manifests', 'tools'),
      buildPlist({ catalogs: ['production'], managed_installs: ['AbbotTools'] }),
    );
    await abbot(['check', '--root', root, '--client-id', 'tools']);
    expect((await abbot(['install', '--root', root])).code).toBe(0);
    expect(existsSync(join(root, 'usr/local/bin/abbot-hello'))).toBe(true);
    await mkdir(join(root, 'usr/local/bin'), { recursive: true });
    await writeFile(join(root, 'usr/local/bin/someone-elses-tool'), 'keep me');
    await writeFile(
      join(repo, 'manifests', 'tools'),
      buildPlist({ catalogs: ['production'], managed_uninstalls: ['AbbotTools'] }),
    );
    const check = JSON.parse(
      (await abbot(['check', '--json', '--root', root, '--client-id', 'tools'])).stdout,
    );
    expect(check.removals.map((r: { name: string }) => r.name)).toEqual(['AbbotTools']);
    expect((await abbot(['install', '--root', root])).code).toBe(0);
    expect(existsSync(join(root, 'usr/local/bin/abbot-hello'))).toBe(false);
    expect(existsSync(join(root, 'usr/local/share/doc/abbot-hello'))).toBe(false);
    expect(await readFile(join(root, 'usr/local/bin/someone-elses-tool'), 'utf8')).toBe('keep me');
    expect(existsSync(join(root, 'var/db/receipts/org.abbot.example.tools.cli.plist'))).toBe(false);
  });

  it('removes an item with its uninstall_script', async () => {
    const root = await start({
      files: { 'Library/LaunchDaemons/org.example.legacyagent.plist': '<plist/>' },
    });
    await abbot(['check', '--root', root, '--client-id', 'site_default']);
    expect((await abbot(['install', '--root', root])).code).toBe(0);
    expect(existsSync(join(root, 'Library/LaunchDaemons/org.example.legacyagent.plist'))).toBe(
      false,
    );
  });

  it('installs nothing of an item whose download does not match its hash', async () => {
    const root = await start();
    await abbot(['check', '--root', root, '--client-id', 'site_default']);
    const pkg = join(repo, 'pkgs/apps/HelloWorld-1.0.pkg');
    const bytes = await readFile(pkg);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10]! + 1) % 256;
    await writeFile(pkg, bytes);
    const r = await abbot(['install', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HelloWorld.*SHA-256|hash/i);
    expect(existsSync(join(root, 'Applications/Hello World.app'))).toBe(false);
    expect(existsSync(join(root, 'var/db/receipts/org.abbot.example.helloworld.plist'))).toBe(
      false,
    );
    // Its update needs it, so it is skipped rather than installed alone.
    expect(r.stdout).toMatch(/Skipped install of HelloWorldSettings: needs HelloWorld/);
    const status = JSON.parse((await abbot(['status', '--json', '--root', root])).stdout);
    expect(status.pending.installs.map((i: { name: string }) => i.name)).toContain('HelloWorld');
  });

  it('fails a truncated package cleanly and still installs the next item', async () => {
    const root = await start({ machine: { machine_type: 'laptop' } });
    await abbot(['check', '--root', root, '--client-id', 'site_default']);
    const pkg = join(repo, 'pkgs/apps/HelloWorld-1.0.pkg');
    const size = (await stat(pkg)).size;
    server!.setRoute(
      '/pkgs/apps/HelloWorld-1.0.pkg',
      routes.truncated((await readFile(pkg)).subarray(0, size / 2), size),
    );
    const r = await abbot(['install', '--root', root]);
    expect(r.code).toBe(1);
    expect(existsSync(join(root, 'Applications/Hello World.app'))).toBe(false);
    expect(existsSync(join(root, 'Library/Abbot-Examples/dock-configured'))).toBe(true);
  });

  it('reports a failing postinstall and the next item still installs', async () => {
    await writeFile(
      join(repo, 'pkgsinfo/config/Broken-1.0.plist'),
      buildPlist({
        name: 'Broken',
        version: '1.0',
        catalogs: ['production'],
        installer_type: 'nopkg',
        installcheck_script: '#!/bin/sh\nexit 0\n',
        preinstall_script: '#!/bin/sh\necho "no licence key" >&2\nexit 3\n',
      }),
    );
    await writeFile(
      join(repo, 'manifests', 'broken'),
      buildPlist({ catalogs: ['production'], managed_installs: ['Broken', 'HelloWorld'] }),
    );
    const root = await start();
    await abbot(['check', '--root', root, '--client-id', 'broken']);
    const r = await abbot(['install', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Install of Broken-1.0: FAILED \(Broken: preinstall_script exited with 3/,
    );
    expect(r.stdout).toContain('Install of Hello World-1.0: SUCCESSFUL');
  });
});

describe('abbot install: interrupted downloads and failing package scripts', () => {
  it('resumes a download cut off halfway with a Range request, then installs', async () => {
    const root = await start();
    await abbot(['check', '--root', root, '--client-id', 'site_default']);
    const pkgPath = '/pkgs/apps/HelloWorld-1.0.pkg';
    const bytes = await readFile(join(repo, pkgPath));
    // Like a real server: validators first, then the connection drops halfway through the body.
    server!.setRoute(pkgPath, (req, res) => {
      res.writeHead(200, {
        'content-length': String(bytes.length),
        etag: etagFor(bytes),
        'last-modified': new Date('2026-01-15T09:00:00Z').toUTCString(),
      });
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () =>
        setTimeout(() => req.socket.destroy(), 20),
      );
    });
    expect((await abbot(['install', '--root', root])).code).toBe(1);
    expect(existsSync(join(root, 'Library/Abbot/Cache/HelloWorld-1.0.pkg.download'))).toBe(true);
    server!.clearRoutes();
    server!.resetRequests();
    const r = await abbot(['install', '--root', root]);
    expect(r.code).toBe(0);
    const get = server!.requests.find((q) => q.url === pkgPath);
    expect(get?.headers['range']).toBe(`bytes=${Math.floor(bytes.length / 2)}-`);
    expect(get?.headers['if-range']).toBeDefined();
    expect((await receipt(root, 'org.abbot.example.helloworld'))['PackageVersion']).toBe('1.0');
  });

  it('reports a package whose postinstall script fails, and still installs the next item', async () => {
    const { buildFlatPackage } = await import('../helpers/flat-package.js');
    const { createHash } = await import('node:crypto');
    const pkg = await buildFlatPackage({
      kind: 'component',
      identifier: 'org.example.badscript',
      version: '1.0',
      installLocation: '/',
      files: [{ path: 'usr/local/share/badscript/README', contents: 'hi\n' }],
      scripts: { postinstall: '#!/bin/sh\necho "cannot reach the licence server" >&2\nexit 1\n' },
    });
    await mkdir(join(repo, 'pkgs/apps'), { recursive: true });
    await writeFile(join(repo, 'pkgs/apps/BadScript-1.0.pkg'), pkg);
    await writeFile(
      join(repo, 'pkgsinfo/apps/BadScript-1.0.plist'),
      buildPlist({
        name: 'BadScript',
        version: '1.0',
        catalogs: ['production'],
        installer_item_location: 'apps/BadScript-1.0.pkg',
        installer_item_hash: createHash('sha256').update(pkg).digest('hex'),
        installer_item_size: 1,
        receipts: [{ packageid: 'org.example.badscript', version: '1.0' }],
      }),
    );
    await writeFile(
      join(repo, 'manifests', 'bad'),
      buildPlist({ catalogs: ['production'], managed_installs: ['BadScript', 'HelloWorld'] }),
    );
    const root = await start();
    await abbot(['check', '--root', root, '--client-id', 'bad']);
    const r = await abbot(['install', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Install of BadScript-1.0: FAILED .*postinstall/);
    expect(r.stdout).toContain('Install of Hello World-1.0: SUCCESSFUL');
    // No receipt: the next check tries again, as after a failed install on a Mac.
    expect(await installs(root, 'bad')).toEqual(['BadScript']);
  });
});

describe('abbot run --auto', () => {
  it('installs everything at the login window (no one logged in)', async () => {
    const root = await start();
    const r = await abbot(['run', '--auto', '--root', root, '--client-id', 'site_default']);
    expect(r.code).toBe(0);
    expect(existsSync(join(root, 'Applications/Hello World.app'))).toBe(true);
  });

  it('with a user logged in, installs only unattended items and skips blocked ones', async () => {
    await writeFile(
      join(repo, 'pkgsinfo/config/Attended-1.0.plist'),
      buildPlist({
        name: 'Attended',
        version: '1.0',
        catalogs: ['production'],
        installer_type: 'nopkg',
        installcheck_script: '#!/bin/sh\nexit 0\n',
      }),
    );
    await writeFile(
      join(repo, 'manifests', 'user-mac'),
      buildPlist({ catalogs: ['production'], managed_installs: ['Attended', 'HelloWorld'] }),
    );
    const root = await start({
      machine: { console_user: 'alice' },
      files: {
        'Library/Abbot/processes.txt': '/Applications/Hello World.app/Contents/MacOS/Hello World\n',
      },
    });
    const r = await abbot(['run', '--auto', '--root', root, '--client-id', 'user-mac']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Skipped install of Attended: needs a user/);
    expect(r.stdout).toMatch(/Skipped install of HelloWorld: blocked by running Hello World.app/);
    expect(existsSync(join(root, 'Applications/Hello World.app'))).toBe(false);
    // Once the app quits, the next run installs it.
    await writeFile(join(root, 'Library/Abbot/processes.txt'), '');
    expect((await abbot(['run', '--auto', '--root', root, '--client-id', 'user-mac'])).code).toBe(
      0,
    );
    expect(existsSync(join(root, 'Applications/Hello World.app'))).toBe(true);
  });
});
