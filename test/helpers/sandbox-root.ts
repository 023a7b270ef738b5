/**
 * Builds a sandbox root for client tests: a folder standing in for `/` with SystemVersion.plist,
 * machine facts, receipts (binary plists, as pkgutil writes them), application bundles and the
 * client's preferences.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildBinaryPlist, buildPlist, type PlistValue } from '../../formats/index.js';

/** What a sandbox root holds. */
export interface SandboxSpec {
  os?: { version: string; build: string };
  machine?: Record<string, string>;
  receipts?: { packageId: string; version: string }[];
  apps?: { path: string; bundleId: string; version: string; name?: string }[];
  preferences?: Record<string, PlistValue>;
  files?: Record<string, string>;
}

async function put(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/** Creates a sandbox root folder from `spec` and returns its path. */
export async function makeSandboxRoot(spec: SandboxSpec = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'abbot-root-'));
  const os = spec.os ?? { version: '14.5', build: '23F79' };
  await put(
    join(root, 'System/Library/CoreServices/SystemVersion.plist'),
    buildPlist({ ProductName: 'macOS', ProductVersion: os.version, ProductBuildVersion: os.build }),
  );
  await put(
    join(root, 'Library/Abbot/machine.plist'),
    buildPlist({
      arch: 'arm64',
      machine_model: 'Mac14,9',
      machine_type: 'desktop',
      serial_number: 'C02TEST0001',
      hostname: 'test-mac.example.com',
      ...spec.machine,
    }),
  );
  for (const r of spec.receipts ?? []) {
    await put(
      join(root, 'var/db/receipts', `${r.packageId}.plist`),
      buildBinaryPlist({
        PackageIdentifier: r.packageId,
        PackageVersion: r.version,
        InstallPrefixPath: '/',
        InstallDate: new Date('2026-01-01T00:00:00Z'),
        InstallProcessName: 'installer',
      }),
    );
  }
  for (const app of spec.apps ?? []) {
    await put(
      join(root, app.path, 'Contents/Info.plist'),
      buildPlist({
        CFBundleIdentifier: app.bundleId,
        CFBundleName:
          app.name ??
          app.path
            .split('/')
            .pop()!
            .replace(/\.app$/, ''),
        CFBundleShortVersionString: app.version,
        CFBundleVersion: app.version,
      }),
    );
  }
  if (spec.preferences)
    await put(
      join(root, 'Library/Preferences/org.abbot.client.plist'),
      buildPlist(spec.preferences),
    );
  for (const [path, content] of Object.entries(spec.files ?? {}))
    await put(join(root, path), content);
  return root;
}
