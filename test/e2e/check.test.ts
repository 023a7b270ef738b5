/**
 * `abbot check` end to end: a repo served over real loopback HTTPS (a CA made per run), a sandbox
 * root with receipts and apps, and the plan the CLI prints as JSON.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { abbotCli } from '../helpers/cli.js';
import { buildPlist, parsePlist, type PlistValue } from '../../formats/index.js';
import { memoryLogger } from '../../lib/log.js';
import { makeCatalogs } from '../../repo-tools/commands/makecatalogs.js';
import { routes, startTestServer, type TestServer } from '../helpers/https-server.js';
import { makeRepo, pkgInfo, type RepoSpec } from '../helpers/make-repo.js';
import { makeSandboxRoot, type SandboxSpec } from '../helpers/sandbox-root.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/repo', import.meta.url));
const cleanup: string[] = [];
let server: TestServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const p of cleanup.splice(0)) await rm(p, { recursive: true, force: true });
});

interface CheckJsonItem {
  name: string;
  version_to_install?: string;
  installed_version?: string;
  reason: string;
  unattended: boolean;
  installer_type: string;
}
interface CheckJson {
  manifest: string;
  installs: CheckJsonItem[];
  removals: CheckJsonItem[];
  optional: (CheckJsonItem & { installed?: boolean; needs_update?: boolean })[];
  appleUpdates: unknown[];
  problems: { name: string; reason: string }[];
}

async function serve(repo: string): Promise<TestServer> {
  await makeCatalogs({ repo, logger: memoryLogger(), cache: false, skipPkgCheck: true });
  server = await startTestServer({ root: repo });
  return server;
}

const abbot = (args: string[]) => abbotCli(args);

async function rootFor(
  spec: SandboxSpec,
  s: TestServer,
  prefs: Record<string, PlistValue> = {},
): Promise<string> {
  const root = await makeSandboxRoot({
    ...spec,
    preferences: {
      SoftwareRepoURL: s.url,
      SoftwareRepoCACertificate: s.pki.caCert,
      HttpRetries: 0,
      ...prefs,
    },
  });
  cleanup.push(root);
  return root;
}

async function check(
  root: string,
  clientId: string,
  extra: string[] = [],
): Promise<{ code: number; json: CheckJson | undefined; stderr: string }> {
  const r = await abbot(['check', '--json', '--root', root, '--client-id', clientId, ...extra]);
  return {
    code: r.code,
    json: r.code === 0 ? (JSON.parse(r.stdout) as CheckJson) : undefined,
    stderr: r.stderr,
  };
}

const names = (items: { name: string; version_to_install?: string }[]): string[] =>
  items.map((i) => `${i.name}${i.version_to_install ? `-${i.version_to_install}` : ''}`);

async function repoWith(spec: RepoSpec): Promise<string> {
  const repo = await makeRepo(spec);
  cleanup.push(repo);
  return repo;
}

const nopkg = (
  name: string,
  version: string,
  catalogs: string[],
  extra: Record<string, PlistValue> = {},
) => pkgInfo(name, version, catalogs, { installer_type: 'nopkg', ...extra });

describe('abbot check on the example repo', () => {
  let repo: string;
  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), 'abbot-example-'));
    await cp(EXAMPLE, repo, { recursive: true });
  });
  afterAll(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  it('plans HelloWorld from the catalogs of the manifest that lists it, its update, and offers AbbotTools', async () => {
    const s = await serve(repo);
    const root = await rootFor({}, s);
    const { code, json } = await check(root, 'demo-mac');
    expect(code).toBe(0);
    expect(json?.manifest).toBe('demo-mac');
    // site_default names its own catalogs (production), which replace demo-mac's for its items.
    expect(names(json!.installs)).toEqual(['HelloWorld-1.0', 'HelloWorldSettings-1.0']);
    expect(json!.installs[0]).toMatchObject({
      reason: expect.stringContaining('managed_installs'),
      unattended: true,
    });
    expect(json!.installs[1]?.reason).toMatch(/update for HelloWorld/);
    expect(json!.removals).toEqual([]);
    expect(json!.optional.map((o) => o.name)).toEqual(['AbbotTools']);
    expect(json!.problems).toEqual([]);
    const info = parsePlist(await readFile(join(root, 'Library/Abbot/InstallInfo.plist')));
    expect(info).toMatchObject({
      managed_installs: [{ name: 'HelloWorld' }, { name: 'HelloWorldSettings' }],
    });
  });

  it('adds the laptop-only item when the machine is a laptop (conditional_items)', async () => {
    const s = await serve(repo);
    const root = await rootFor({ machine: { machine_type: 'laptop' } }, s);
    const { json } = await check(root, 'site_default');
    // Conditional items come before the manifest's own items, as in Munki.
    expect(names(json!.installs)).toEqual([
      'DockDefaults-1.0',
      'HelloWorld-1.0',
      'HelloWorldSettings-1.0',
    ]);
  });

  it('finds nothing to do when everything is installed, and removes the legacy agent', async () => {
    const s = await serve(repo);
    const root = await rootFor(
      {
        receipts: [{ packageId: 'org.abbot.example.helloworld', version: '1.1' }],
        apps: [
          {
            path: 'Applications/Hello World.app',
            bundleId: 'org.abbot.example.HelloWorld',
            version: '1.1',
          },
        ],
        files: {
          'Library/Preferences/org.abbot.example.HelloWorld.plist': '<plist><dict/></plist>',
          'Library/LaunchDaemons/org.example.legacyagent.plist': '<plist><dict/></plist>',
        },
      },
      s,
    );
    const { json } = await check(root, 'demo-mac');
    expect(json!.installs).toEqual([]);
    expect(names(json!.removals)).toEqual(['LegacyAgent']);
    expect(json!.removals[0]).toMatchObject({
      unattended: true,
      reason: expect.stringContaining('managed_uninstalls'),
    });
  });

  it('offers managed_updates only for what is installed: AbbotTools 2.0 over an older copy', async () => {
    const s = await serve(repo);
    const root = await rootFor(
      {
        receipts: [
          { packageId: 'org.abbot.example.tools.cli', version: '1.0' },
          { packageId: 'org.abbot.example.tools.docs', version: '1.0' },
        ],
      },
      s,
    );
    const { json } = await check(root, 'demo-mac');
    expect(names(json!.installs)).toContain('AbbotTools-2.0');
  });

  it('does not offer an item that needs a newer macOS', async () => {
    const s = await serve(repo);
    const root = await rootFor({ os: { version: '12.7.4', build: '21H1123' } }, s);
    const { json } = await check(root, 'demo-mac');
    expect(json!.optional.map((o) => o.name)).not.toContain('AbbotTools');
    expect(names(json!.installs)).toEqual(['HelloWorld-1.0', 'HelloWorldSettings-1.0']);
  });

  it('prints a readable summary without --json', async () => {
    const s = await serve(repo);
    const root = await rootFor({}, s);
    const r = await abbot(['check', '--root', root, '--client-id', 'demo-mac']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Manifest: demo-mac (catalogs: testing, production)');
    expect(r.stdout).toMatch(/\+ HelloWorld 1\.0 {2}\(managed_installs/);
    expect(r.stdout).toContain('2 to install, 0 to remove.');
  });

  it('costs only conditional requests on a second, unchanged check', async () => {
    const s = await serve(repo);
    const root = await rootFor({}, s);
    await check(root, 'demo-mac');
    s.resetRequests();
    const before = s.wireBytes();
    const connectionsBefore = s.connections().length;
    const { json } = await check(root, 'demo-mac');
    // Included manifests are fetched together, but on one keep-alive connection: one TLS handshake.
    expect(s.connections().length - connectionsBefore).toBe(1);
    expect(names(json!.installs)).toEqual(['HelloWorld-1.0', 'HelloWorldSettings-1.0']);
    expect(s.requests.map((r) => r.url).sort()).toEqual([
      '/catalogs/production',
      '/catalogs/testing',
      '/manifests/demo-mac',
      '/manifests/includes/baseline',
      '/manifests/site_default',
    ]);
    expect(s.requests.every((r) => typeof r.headers['if-none-match'] === 'string')).toBe(true);
    const after = s.wireBytes();
    // 3 manifests + 2 catalogs revalidated; the TLS handshake is most of it.
    expect(after.in + after.out - before.in - before.out).toBeLessThan(8000);
  });
});

// A nopkg item that always needs installing (its installcheck_script exits 0).
const needed = (
  name: string,
  version: string,
  catalogs: string[],
  extra: Record<string, PlistValue> = {},
) => nopkg(name, version, catalogs, { installcheck_script: '#!/bin/sh\nexit 0\n', ...extra });

describe('abbot check: passes and rules over HTTPS', () => {
  it('installs requires first, honours name--version pins, adds updates, and reports what cannot be had', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'lib-1.plist': needed('Lib', '1.0', ['prod']),
        'lib-2.plist': needed('Lib', '2.0', ['prod']),
        'app.plist': needed('App', '1.0', ['prod'], { requires: ['Lib'] }),
        'app-plugin.plist': needed('AppPlugin', '1.0', ['prod'], { update_for: ['App'] }),
        'tool.plist': needed('Tool', '1.0', ['prod']),
        'tool2.plist': needed('Tool', '2.0', ['prod']),
        'arm.plist': needed('IntelOnly', '1.0', ['prod'], { supported_architectures: ['x86_64'] }),
      },
      manifests: {
        m: { catalogs: ['prod'], managed_installs: ['App', 'Tool--1.0', 'Missing', 'IntelOnly'] },
      },
    });
    const s = await serve(repo);
    const root = await rootFor({}, s);
    const { json } = await check(root, 'm');
    expect(names(json!.installs)).toEqual(['Lib-2.0', 'App-1.0', 'AppPlugin-1.0', 'Tool-1.0']);
    expect(json!.installs[0]?.reason).toMatch(/required by App/);
    expect(json!.problems.map((p) => p.name).sort()).toEqual(['IntelOnly', 'Missing']);
    expect(json!.problems.find((p) => p.name === 'IntelOnly')?.reason).toMatch(/arm64/);
  });

  it('lets an install win over an uninstall of the same item', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': needed('A', '1.0', ['prod'], {
          uninstallable: true,
          uninstall_method: 'uninstall_script',
          uninstall_script: '#!/bin/sh\n',
        }),
      },
      manifests: {
        m: { catalogs: ['prod'], managed_installs: ['A'], included_manifests: ['u'] },
        u: { managed_uninstalls: ['A'] },
      },
    });
    const s = await serve(repo);
    const { json } = await check(await rootFor({}, s), 'm');
    expect(names(json!.installs)).toEqual(['A-1.0']);
    expect(json!.removals).toEqual([]);
  });

  it('skips a conditional item whose condition does not parse, and still checks the rest', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': needed('A', '1.0', ['prod']),
        'b.plist': needed('B', '1.0', ['prod']),
      },
      manifests: {
        m: {
          catalogs: ['prod'],
          managed_installs: ['A'],
          conditional_items: [{ condition: 'os_vers >= ', managed_installs: ['B'] }],
        },
      },
    });
    const s = await serve(repo);
    const r = await abbot(['check', '--root', await rootFor({}, s), '--client-id', 'm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ A 1.0');
    expect(r.stdout).not.toContain('+ B');
    expect(r.stdout).toMatch(/Warnings:\n.*m/);
  });

  it('falls back from the hostname to site_default when there is no client identifier', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': needed('A', '1.0', ['prod']) },
      manifests: { site_default: { catalogs: ['prod'], managed_installs: ['A'] } },
    });
    const s = await serve(repo);
    const r = await abbot(['check', '--json', '--root', await rootFor({}, s)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).manifest).toBe('site_default');
    const tried = s.requests.map((q) => q.url).filter((u) => u.startsWith('/manifests/'));
    expect(tried).toEqual([
      '/manifests/test-mac.example.com',
      '/manifests/test-mac',
      '/manifests/C02TEST0001',
      '/manifests/site_default',
    ]);
  });
});

describe('abbot check: more passes over HTTPS', () => {
  it('removes an autoremove item that is installed but no longer managed', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': needed('A', '1.0', ['prod']),
        'old.plist': nopkg('OldTool', '1.0', ['prod'], {
          autoremove: true,
          uninstallable: true,
          uninstall_method: 'uninstall_script',
          uninstall_script: '#!/bin/sh\n',
          uninstallcheck_script: '#!/bin/sh\nexit 0\n',
        }),
      },
      manifests: { m: { catalogs: ['prod'], managed_installs: ['A'] } },
    });
    const s = await serve(repo);
    const { json } = await check(await rootFor({}, s), 'm');
    expect(names(json!.removals)).toEqual(['OldTool']);
    expect(json!.removals[0]?.reason).toMatch(/autoremove/);
  });

  it('processes a LocalOnlyManifest with the primary catalogs', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': needed('A', '1.0', ['prod']),
        'l.plist': needed('LocalThing', '1.0', ['prod']),
      },
      manifests: { m: { catalogs: ['prod'], managed_installs: ['A'] } },
    });
    const s = await serve(repo);
    const root = await rootFor(
      {
        files: {
          'Library/Abbot/manifests/local-extra': buildPlist({ managed_installs: ['LocalThing'] }),
        },
      },
      s,
      { LocalOnlyManifest: 'local-extra' },
    );
    const { json } = await check(root, 'm');
    expect(names(json!.installs)).toEqual(['A-1.0', 'LocalThing-1.0']);
  });

  it('installs an optional item the user chose in the SelfServeManifest', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'o.plist': needed('Optional', '1.0', ['prod']),
        'p.plist': needed('NotOffered', '1.0', ['prod']),
      },
      manifests: { m: { catalogs: ['prod'], optional_installs: ['Optional'] } },
    });
    const s = await serve(repo);
    const root = await rootFor(
      {
        files: {
          'Library/Abbot/manifests/SelfServeManifest': buildPlist({
            managed_installs: ['Optional', 'NotOffered'],
          }),
        },
      },
      s,
    );
    const { json } = await check(root, 'm');
    // Only optional installs can be chosen; anything else in the file is ignored.
    expect(names(json!.installs)).toEqual(['Optional-1.0']);
    expect(json!.optional).toMatchObject([{ name: 'Optional', will_be_installed: true }]);
  });

  it('authenticates with a client certificate when the server requires one (mTLS)', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': needed('A', '1.0', ['prod']) },
      manifests: { m: { catalogs: ['prod'], managed_installs: ['A'] } },
    });
    await makeCatalogs({ repo, logger: memoryLogger(), cache: false, skipPkgCheck: true });
    server = await startTestServer({ root: repo, requireClientCertificate: true });
    const withCert = await rootFor({}, server, {
      ClientCertificatePath: server.pki.clientCert,
      ClientKeyPath: server.pki.clientKey,
    });
    expect(names((await check(withCert, 'm')).json!.installs)).toEqual(['A-1.0']);
    const without = await rootFor({}, server);
    const r = await check(without, 'm');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/client certificate|ClientCertificatePath/);
  });
});

describe('abbot check: failures', () => {
  async function setup() {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': needed('A', '1.0', ['prod']) },
      manifests: {
        m: { catalogs: ['prod'], managed_installs: ['A'], included_manifests: ['inc'] },
        inc: {},
      },
    });
    const s = await serve(repo);
    const root = await rootFor({}, s);
    return { repo, s, root };
  }

  it('fails with exit 1 and a clear message when the server certificate is not trusted', async () => {
    const { s, root } = await setup();
    await writeFile(
      join(root, 'Library/Preferences/org.abbot.client.plist'),
      buildPlist({ SoftwareRepoURL: s.url, HttpRetries: 0 }),
    );
    const r = await abbot(['check', '--root', root, '--client-id', 'm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/certificate/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('fails with exit 1 when the server cannot be reached', async () => {
    const { s, root } = await setup();
    await s.stop();
    const r = await abbot(['check', '--root', root, '--client-id', 'm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused|reach/);
  });

  it('keeps the previous plan when an included manifest is missing (404)', async () => {
    const { s, root } = await setup();
    expect((await check(root, 'm')).code).toBe(0);
    const infoPath = join(root, 'Library/Abbot/InstallInfo.plist');
    const before = await readFile(infoPath);
    s.setRoute('/manifests/inc', routes.status(404));
    const r = await check(root, 'm');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/manifest inc: .*404/);
    expect(await readFile(infoPath)).toEqual(before);
  });

  it('keeps the previous plan when a manifest answers 500', async () => {
    const { s, root } = await setup();
    await check(root, 'm');
    s.setRoute('/manifests/m', routes.status(500));
    const r = await check(root, 'm');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/500/);
  });

  it('uses the last good copy of a catalog that answers 500, with a warning', async () => {
    const { s, root } = await setup();
    await check(root, 'm');
    s.setRoute('/catalogs/prod', routes.status(500));
    const r = await abbot(['check', '--root', root, '--client-id', 'm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ A 1.0');
    expect(r.stderr + r.stdout).toMatch(/catalog prod: .*500.*last good copy/);
  });

  it('keeps the last good copy of a catalog when the new one is malformed', async () => {
    const { s, root } = await setup();
    await check(root, 'm');
    s.setRoute('/catalogs/prod', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<plist><array><dict><key>name</key>');
    });
    const r = await abbot(['check', '--root', root, '--client-id', 'm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ A 1.0');
    expect(r.stderr + r.stdout).toMatch(/catalog prod: .*last good copy/);
    expect(parsePlist(await readFile(join(root, 'Library/Abbot/catalogs/prod')))).toHaveLength(1);
  });

  it('refuses a manifest name that would leave the manifests folder', async () => {
    const { root } = await setup();
    const r = await abbot(['check', '--root', root, '--client-id', '../../etc/passwd']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.\./);
  });

  it('exits 2 naming the key when a preference has a bad value', async () => {
    const { s, root } = await setup();
    await writeFile(
      join(root, 'Library/Preferences/org.abbot.client.plist'),
      buildPlist({ SoftwareRepoURL: s.url, FollowHTTPRedirects: 'sometimes' }),
    );
    const r = await abbot(['check', '--root', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FollowHTTPRedirects/);
  });

  it('refuses to run while another run holds the lock', async () => {
    const { root } = await setup();
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('sleep', ['30']);
    try {
      await writeFile(
        join(root, 'Library/Abbot/run.lock'),
        JSON.stringify({ pid: sleeper.pid, startedAt: 'now', command: 'install' }),
      );
      const r = await abbot(['check', '--root', root, '--client-id', 'm']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/another run/);
    } finally {
      sleeper.kill();
    }
  });
});

describe('abbot config --show', () => {
  it('prints each preference with its value and source', async () => {
    const root = await makeSandboxRoot({
      preferences: { SoftwareRepoURL: 'https://repo.example.com/munki' },
    });
    cleanup.push(root);
    const r = await abbot(['config', '--show', '--root', root, '--client-id', 'mac-1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SoftwareRepoURL\s+https:\/\/repo\.example\.com\/munki\s+local/);
    expect(r.stdout).toMatch(/ClientIdentifier\s+mac-1\s+flag/);
    expect(r.stdout).toMatch(/PackageVerificationMode\s+hash\s+default/);
  });
});

describe('abbot status after a check', () => {
  it('shows the last check and what is pending', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': needed('A', '1.0', ['prod']) },
      manifests: { m: { catalogs: ['prod'], managed_installs: ['A'] } },
    });
    const s = await serve(repo);
    const root = await rootFor({}, s);
    await check(root, 'm');
    const r = await abbot(['status', '--json', '--root', root]);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status.lastCheck).toMatchObject({ result: 'ok', manifest: 'm', installs: 1 });
    expect(status.pending.installs.map((i: { name: string }) => i.name)).toEqual(['A']);
  });

  it('records a failed check', async () => {
    const repo = await repoWith({ manifests: {} });
    const s = await serve(repo);
    const root = await rootFor({}, s);
    expect((await check(root, 'nope')).code).toBe(1);
    const status = JSON.parse((await abbot(['status', '--json', '--root', root])).stdout);
    expect(status.lastCheck).toMatchObject({ result: 'failed' });
    expect(status.lastCheck.error).toMatch(/nope/);
  });
});
