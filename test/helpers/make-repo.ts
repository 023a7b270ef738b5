/**
 * Builds a Munki repo in a real temporary folder for tests: pkginfo files (given as values, written
 * with our plist builder, or as raw text), manifests, pkgs/ files and icons.
 */
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildPlist, type PlistValue } from '../../formats/index.js';

/** A file to put in the repo: a plist value, or raw text/bytes written as they are. */
export type RepoFileSpec = PlistValue | { raw: string | Uint8Array };

/** What makeRepo writes, each keyed by path relative to its folder. */
export interface RepoSpec {
  pkgsinfo?: Record<string, RepoFileSpec>;
  manifests?: Record<string, RepoFileSpec>;
  pkgs?: Record<string, string | Uint8Array>;
  icons?: Record<string, string | Uint8Array>;
  catalogs?: Record<string, RepoFileSpec>;
}

function isRaw(v: RepoFileSpec): v is { raw: string | Uint8Array } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    'raw' in v &&
    Object.keys(v).length === 1
  );
}

async function put(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/** Creates a temporary repo (pkgsinfo/ and pkgs/ always exist) and returns its root. */
export async function makeRepo(spec: RepoSpec = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'abbot-repo-'));
  await mkdir(join(root, 'pkgsinfo'), { recursive: true });
  await mkdir(join(root, 'pkgs'), { recursive: true });
  for (const kind of ['pkgsinfo', 'manifests', 'catalogs'] as const) {
    for (const [path, value] of Object.entries(spec[kind] ?? {})) {
      await put(join(root, kind, path), isRaw(value) ? value.raw : buildPlist(value));
    }
  }
  for (const kind of ['pkgs', 'icons'] as const) {
    for (const [path, value] of Object.entries(spec[kind] ?? {}))
      await put(join(root, kind, path), value);
  }
  return root;
}

/** Removes a repo made by makeRepo. */
export async function removeRepo(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** A minimal valid pkg pkginfo for `name`/`version` in `catalogs`, with its installer item path. */
export function pkgInfo(
  name: string,
  version: string,
  catalogs: string[] = ['testing'],
  extra: Record<string, PlistValue> = {},
): Record<string, PlistValue> {
  return {
    name,
    version,
    catalogs,
    installer_item_location: `apps/${name}-${version}.pkg`,
    installer_item_hash: 'a'.repeat(64),
    installer_item_size: 10,
    ...extra,
  };
}

/** Where the shared real-world fixtures live (absent outside the development workspace). */
export const REAL_WORLD = join(
  dirname(new URL(import.meta.url).pathname),
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'real-world',
);
