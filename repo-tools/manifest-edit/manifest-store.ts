/**
 * The manifests/ folder of a file repo: safe names, reading a manifest for editing, atomic
 * writes that keep the file's mode, and one lock so two edits never interleave (the second
 * would otherwise write back a copy without the first one's change).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlistDict } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError } from '../../lib/errors.js';
import { acquireRunLock } from '../../lib/lock.js';
import { assertRepo, listRepoFiles } from '../file-repo.js';
import { EditablePlist } from './editable-plist.js';

/** A repo whose manifests are read and edited. */
export interface ManifestStore {
  repo: string;
  dir: string;
}

/** Opens `repo`'s manifests; REPO_INVALID when the repo or its manifests/ folder is missing. */
export function openManifestStore(repo: string): ManifestStore {
  assertRepo(repo, ['manifests']);
  return { repo, dir: join(repo, 'manifests') };
}

/**
 * The file of manifest `name` (`site_default`, `site/lab1`). Names that could leave manifests/
 * (`..`, absolute, backslashes) or hide (a segment starting with `.`) are PATH_UNSAFE.
 */
export function manifestFile(store: ManifestStore, name: string): string {
  const segments = name.split('/');
  const isSafe =
    name !== '' &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    segments.every((s) => s !== '' && !s.startsWith('.'));
  if (!isSafe) {
    throw new AppError(
      'PATH_UNSAFE',
      `manifest name "${name}" is not a plain path under manifests/`,
      {
        hint: 'use names like site_default or site/lab1, without "..", "." or a leading "/"',
      },
    );
  }
  return join(store.dir, ...segments);
}

/** Every manifest name, sorted, as Munki's repo listing finds them (dot-files skipped). */
export function listManifestNames(store: ManifestStore): string[] {
  return listRepoFiles(store.repo, 'manifests').map((e) => e.path);
}

/** Reads manifest `name` for editing; NOT_FOUND, PLIST_INVALID or SCHEMA_INVALID when unusable. */
export async function readManifest(store: ManifestStore, name: string): Promise<EditablePlist> {
  const path = manifestFile(store, name);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new AppError('NOT_FOUND', `manifests/${name}: no such manifest`, {
        hint: 'run `repo manifest list` to see the manifests, or `repo manifest new NAME`',
      });
    }
    throw new AppError('IO', `manifests/${name}: ${(e as Error).message}`, { cause: e });
  }
  const doc = EditablePlist.open(bytes, `manifests/${name}`);
  if (!isPlistDict(doc.value)) {
    throw new AppError(
      'SCHEMA_INVALID',
      `manifests/${name}: the root of a manifest must be a dict`,
    );
  }
  return doc;
}

/** True when manifest `name` exists as a file. */
export async function hasManifest(store: ManifestStore, name: string): Promise<boolean> {
  const info = await stat(manifestFile(store, name)).catch(() => undefined);
  return info?.isFile() === true;
}

/** Writes manifest `name` atomically, keeping an existing file's permissions. */
export async function writeManifest(
  store: ManifestStore,
  name: string,
  text: string,
): Promise<void> {
  const path = manifestFile(store, name);
  const info = await stat(path).catch(() => undefined);
  await writeFileAtomic(path, text, { mkdirs: true, mode: info ? info.mode & 0o777 : 0o644 });
}

/** Runs `edit` holding the repo's manifest lock (a dot-file, so repo listings skip it). */
export async function withManifestLock<T>(
  store: ManifestStore,
  edit: () => Promise<T>,
): Promise<T> {
  const lock = await acquireRunLock(join(store.dir, '.abbot-manifest.lock'), 'repo manifest');
  try {
    return await edit();
  } finally {
    await lock.release();
  }
}
