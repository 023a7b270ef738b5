/**
 * A self-service world for tests: a Munki repo (made here) whose site_default manifest offers
 * optional items — Sketchpad, a real flat package installing an app bundle, with an icon listed in
 * `_icon_hashes.plist`; Notepad, a nopkg item; and an item whose name is full of shell
 * metacharacters — served over loopback HTTPS, and a sandbox root with `alice` at the console
 * whose preferences point at it.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { buildPlist, parsePlist, type PlistDict, type PlistValue } from '../../../formats/index.js';
import { silentLogger } from '../../../lib/log.js';
import { loadConfig, type Config } from '../../../client/config.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import type { Platform } from '../../../client/platform/platform.js';
import { buildFlatPackage } from '../../helpers/flat-package.js';
import { startTestServer, type TestServer } from '../../helpers/https-server.js';
import { makeRepo } from '../../helpers/make-repo.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

/** An optional item whose name a shell would run parts of. */
export const ODD_NAME = 'Odd $(touch PWNED); `touch PWNED2` | x';

/** A solid-colour PNG (real format: signature, IHDR, IDAT, IEND with CRCs). */
export function solidPng(size: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(size).fill(rgb).flat())]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array(size).fill(row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A running self-service world. */
export interface SelfServiceWorld {
  repo: string;
  root: string;
  server: TestServer;
  platform: Platform;
  config: Config;
  icon: Buffer;
  cleanup(): Promise<void>;
}

/** Builds the world; `extraOffers` are more nopkg optional items (names only). */
export async function makeSelfServiceWorld(
  options: {
    extraOffers?: number;
    manifest?: Record<string, PlistValue>;
    preferences?: Record<string, PlistValue>;
  } = {},
): Promise<SelfServiceWorld> {
  const pkg = await buildFlatPackage({
    kind: 'component',
    identifier: 'org.example.sketchpad',
    version: '1.0',
    installLocation: '/',
    apps: [
      {
        path: 'Applications/Sketchpad.app',
        bundleId: 'org.example.sketchpad',
        shortVersion: '1.0',
      },
    ],
  });
  const icon = solidPng(48, [40, 110, 220]);
  const sketchpad: Record<string, PlistValue> = {
    name: 'Sketchpad',
    display_name: 'Sketchpad',
    version: '1.0',
    catalogs: ['production'],
    category: 'Productivity',
    developer: 'Example Corp',
    description: 'Draw <b>anything</b> & share it.',
    installer_item_location: 'apps/Sketchpad-1.0.pkg',
    installer_item_hash: sha256(pkg),
    installer_item_size: Math.ceil(pkg.length / 1024),
    installed_size: 120,
    receipts: [{ packageid: 'org.example.sketchpad', version: '1.0', installed_size: 120 }],
    uninstallable: true,
    uninstall_method: 'removepackages',
    minimum_os_version: '12.0',
  };
  const nopkg = (
    name: string,
    extra: Record<string, PlistValue> = {},
  ): Record<string, PlistValue> => ({
    name,
    version: '1.0',
    catalogs: ['production'],
    installer_type: 'nopkg',
    category: 'Utilities',
    installcheck_script: '#!/bin/sh\nexit 0\n',
    ...extra,
  });
  const extras = Array.from({ length: options.extraOffers ?? 0 }, (_, i) =>
    nopkg(`Extra${String(i).padStart(4, '0')}`, { description: `Extra item number ${i}` }),
  );
  const catalog = [
    sketchpad,
    nopkg('Notepad', { display_name: 'Notepad' }),
    nopkg(ODD_NAME),
    ...extras,
  ];
  const repo = await makeRepo({
    catalogs: { production: catalog, all: catalog },
    manifests: {
      site_default: {
        catalogs: ['production'],
        optional_installs: [
          'Sketchpad',
          'Notepad',
          ODD_NAME,
          ...extras.map((e) => String(e['name'])),
        ],
        featured_items: ['Notepad'],
        ...options.manifest,
      },
    },
    pkgs: { 'apps/Sketchpad-1.0.pkg': pkg },
    icons: {
      'Sketchpad.png': icon,
      // Notepad's icon does not match its hash: it must never be served.
      'Notepad.png': Buffer.from('not the icon the hash list promises'),
      '_icon_hashes.plist': buildPlist({
        'Sketchpad.png': sha256(icon),
        'Notepad.png': sha256(Buffer.from('another')),
      }),
    },
  });
  const server = await startTestServer({ root: repo });
  const root = await makeSandboxRoot({
    machine: { console_user: 'alice' },
    preferences: {
      SoftwareRepoURL: server.url,
      SoftwareRepoCACertificate: server.pki.caCert,
      ClientIdentifier: 'site_default',
      HttpRetries: 0,
      ...options.preferences,
    },
  });
  const platform = sandboxPlatform(root, { logger: silentLogger });
  const config = await loadConfig({ paths: platform.paths, flags: {}, logger: silentLogger });
  return {
    repo,
    root,
    server,
    platform,
    config,
    icon,
    async cleanup() {
      await server.stop();
      await rm(repo, { recursive: true, force: true });
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Sketchpad's receipt when the package is installed under `root` (its app bundle and receipt both
 * there, as pkgutil writes it); undefined when neither is.
 */
export async function sketchpadReceipt(root: string): Promise<PlistDict | undefined> {
  const app = existsSync(join(root, 'Applications/Sketchpad.app/Contents/Info.plist'));
  const receiptPath = join(root, 'var/db/receipts/org.example.sketchpad.plist');
  const receipt = existsSync(receiptPath)
    ? (parsePlist(await readFile(receiptPath)) as PlistDict)
    : undefined;
  if (app !== (receipt !== undefined)) throw new Error('Sketchpad is half installed');
  return receipt;
}
