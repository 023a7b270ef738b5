/**
 * End to end: a real product package with an app bundle is imported with `repo import -n` into an
 * empty repo, added to a manifest, served over loopback HTTPS, and a sandboxed client checks in and
 * installs it; the app's files and the receipt land under the sandbox root, and the next check (using
 * the `installs` entry makepkginfo read from the payload) finds nothing left to do.
 */
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlist, type PlistDict } from '../../formats/index.js';
import { abbotCli, repoCli } from '../helpers/cli.js';
import { buildFlatPackage } from '../helpers/flat-package.js';
import { startTestServer, type TestServer } from '../helpers/https-server.js';
import { makeRepo } from '../helpers/make-repo.js';
import { makeSandboxRoot } from '../helpers/sandbox-root.js';

let server: TestServer | undefined;
const cleanup: string[] = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const p of cleanup.splice(0)) await rm(p, { recursive: true, force: true });
});

async function plannedInstalls(root: string): Promise<string[]> {
  const r = await abbotCli(['check', '--json', '--root', root, '--client-id', 'lab']);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { installs: { name: string }[] }).installs.map((i) => i.name);
}

describe('repo import, then a check-in', () => {
  it('installs the imported package into a sandbox', async () => {
    const repo = await makeRepo({
      manifests: { lab: { catalogs: ['testing'], managed_installs: ['Gadget'] } },
    });
    const work = await mkdtemp(join(tmpdir(), 'abbot-import-e2e-'));
    cleanup.push(repo, work);
    const pkg = join(work, 'Gadget.pkg');
    await writeFile(
      pkg,
      await buildFlatPackage({
        kind: 'product',
        identifier: 'com.example.gadget',
        version: '3.1',
        title: 'Gadget',
        minOsVersion: '12.0',
        components: [
          {
            identifier: 'com.example.gadget.app',
            version: '3.1',
            payloadEncoding: 'pbzx',
            apps: [
              {
                path: 'Applications/Gadget.app',
                bundleId: 'com.example.gadget',
                shortVersion: '3.1',
              },
            ],
          },
        ],
      }),
    );
    const imported = await repoCli(['import', '--repo', repo, '-n', '--subdirectory', 'apps', pkg]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    server = await startTestServer({ root: repo });
    const root = await makeSandboxRoot({
      preferences: {
        SoftwareRepoURL: server.url,
        SoftwareRepoCACertificate: server.pki.caCert,
        HttpRetries: 0,
      },
    });
    cleanup.push(root);
    expect(await plannedInstalls(root)).toEqual(['Gadget']);
    const installed = await abbotCli(['install', '--root', root]);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain('Install of Gadget-3.1: SUCCESSFUL');

    const info = parsePlist(
      await readFile(join(root, 'Applications/Gadget.app/Contents/Info.plist')),
    ) as PlistDict;
    expect(info['CFBundleIdentifier']).toBe('com.example.gadget');
    expect(existsSync(join(root, 'Applications/Gadget.app/Contents/MacOS/Gadget'))).toBe(true);
    const receipt = parsePlist(
      await readFile(join(root, 'var/db/receipts/com.example.gadget.app.plist')),
    ) as PlistDict;
    expect(receipt).toMatchObject({
      PackageIdentifier: 'com.example.gadget.app',
      PackageVersion: '3.1',
    });
    expect(await plannedInstalls(root)).toEqual([]);
  });
});
