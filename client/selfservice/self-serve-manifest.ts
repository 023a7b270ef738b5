/**
 * The user's self-service choices, kept in Munki's SelfServeManifest (`<state>/manifests/
 * SelfServeManifest`), which the next check reads: its `managed_installs` are installed, its
 * `managed_uninstalls` removed. Choosing an item works as Managed Software Center's subscribe and
 * unsubscribe: installing adds the name to managed_installs and takes it out of managed_uninstalls;
 * removing does the opposite. Every other key (Munki's `default_installs` record above all, so a
 * default the user removed is never added back) is kept as it was.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPlist, isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError } from '../../lib/errors.js';
import type { AbbotPaths } from '../platform/platform.js';

/** What the user chose in self service. */
export interface SelfServeChoices {
  /** Names to install (Munki's managed_installs). */
  installs: string[];
  /** Names to remove (Munki's managed_uninstalls). */
  uninstalls: string[];
}

/** `<state>/manifests/SelfServeManifest`. */
export function selfServeManifestPath(paths: Pick<AbbotPaths, 'manifestsDir'>): string {
  return join(paths.manifestsDir, 'SelfServeManifest');
}

/**
 * The SelfServeManifest as a dictionary; `{}` when there is none. A file that is not a plist
 * dictionary throws PLIST_INVALID naming it (nothing is overwritten on the strength of it).
 */
export async function readSelfServeManifest(
  paths: Pick<AbbotPaths, 'manifestsDir'>,
): Promise<PlistDict> {
  const path = selfServeManifestPath(paths);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new AppError('IO', `${path}: ${(e as Error).message}`, { cause: e });
  }
  const value = parsePlist(bytes, { source: path });
  if (!isPlistDict(value)) {
    throw new AppError('PLIST_INVALID', `${path}: a SelfServeManifest must be a dictionary`);
  }
  return value;
}

/** The install and removal choices in a SelfServeManifest (non-string entries ignored). */
export function choicesOf(manifest: PlistDict): SelfServeChoices {
  const list = (key: string): string[] => {
    const v = manifest[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  };
  return { installs: list('managed_installs'), uninstalls: list('managed_uninstalls') };
}

/** The user wants `name`: Munki's subscribe. Returns the choices as written. */
export function chooseInstall(
  paths: Pick<AbbotPaths, 'manifestsDir'>,
  name: string,
): Promise<SelfServeChoices> {
  return updateChoices(paths, (c) => ({
    installs: c.installs.includes(name) ? c.installs : [...c.installs, name],
    uninstalls: c.uninstalls.filter((n) => n !== name),
  }));
}

/** The user no longer wants `name`: Munki's unsubscribe. Returns the choices as written. */
export function chooseRemoval(
  paths: Pick<AbbotPaths, 'manifestsDir'>,
  name: string,
): Promise<SelfServeChoices> {
  return updateChoices(paths, (c) => ({
    installs: c.installs.filter((n) => n !== name),
    uninstalls: c.uninstalls.includes(name) ? c.uninstalls : [...c.uninstalls, name],
  }));
}

async function updateChoices(
  paths: Pick<AbbotPaths, 'manifestsDir'>,
  change: (current: SelfServeChoices) => SelfServeChoices,
): Promise<SelfServeChoices> {
  const manifest = await readSelfServeManifest(paths);
  const next = change(choicesOf(manifest));
  await writeFileAtomic(
    selfServeManifestPath(paths),
    buildPlist({
      ...manifest,
      managed_installs: next.installs,
      managed_uninstalls: next.uninstalls,
    }),
    { mkdirs: true },
  );
  return next;
}
