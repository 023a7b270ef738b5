/**
 * The makecatalogs cache. For each pkginfo file it keeps what the prepare step produced, keyed by
 * path, size, mtime, ctime and inode, and where that item's serialised fragment sits in
 * catalogs/all — which already holds every item, so the cache needs no copy of the 50 MB of XML.
 * It also keeps the listings of pkgsinfo/ and pkgs/ folders, keyed by each folder's own stat.
 *
 * Safety rules:
 * - an entry is used only if every part of its file key matches (the key is taken before the file
 *   is read, so a file edited mid-run is re-read next time rather than cached under the wrong key);
 * - nothing modified in the second before the run is stored (a later write within the same
 *   timestamp tick could go unnoticed);
 * - fragments are taken from catalogs/all only if that file's own key is the one recorded when it
 *   was written; otherwise every file is re-read;
 * - a cache that cannot be read is ignored, never fatal.
 */
import { createHash } from 'node:crypto';
import { readFileSync, mkdirSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CatalogCandidate, CatalogFinding, ItemCheck } from '../catalogs/index.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import type { DirListing } from './file-repo.js';

/** What identifies one version of a file on disk (mtime and ctime in ms, sub-µs precise). */
export interface FileKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** The key of a file from its stat. */
export function fileKey(s: Pick<Stats, 'size' | 'mtimeMs' | 'ctimeMs' | 'ino'>): FileKey {
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
}

/** True when two keys name the same version of a file. */
export function sameKey(a: FileKey | undefined, b: FileKey | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino
  );
}

/** One cached pkginfo. */
export interface CacheEntry {
  key: FileKey;
  candidate: CatalogCandidate | null;
  findings: CatalogFinding[];
  /** Byte range of the item's fragment in catalogs/all, when it is there. */
  at?: number;
  length?: number;
}

/** A written catalog: its key on disk and a fingerprint of what went into it. */
export interface CatalogRecord {
  key: FileKey;
  fingerprint: string;
}

/** The whole cache. */
export interface CatalogCache {
  entries: Map<string, CacheEntry>;
  catalogs: Map<string, CatalogRecord>;
  /** Folder listings by full path. */
  dirs: Map<string, DirListing>;
}

// Compact rows keep the JSON small: it is read and written on every run.
type KeyRow = [size: number, mtimeMs: number, ctimeMs: number, ino: number];
type EntryRow = [
  path: string,
  key: KeyRow,
  at: number,
  length: number,
  name: string | null,
  catalogs: string[] | null,
  check: ItemCheck | null,
  findings?: CatalogFinding[],
];

interface Stored {
  version: 4;
  /** The tool version that wrote it: fragments from another version may be serialised differently. */
  tool: string;
  repo: string;
  entries: EntryRow[];
  catalogs: [string, KeyRow, string][];
  dirs: [string, KeyRow, string[], string[]][];
}

const toRow = (k: FileKey): KeyRow => [k.size, k.mtimeMs, k.ctimeMs, k.ino];
const fromRow = (r: KeyRow): FileKey => ({ size: r[0], mtimeMs: r[1], ctimeMs: r[2], ino: r[3] });

/** An empty cache. */
export function emptyCache(): CatalogCache {
  return { entries: new Map(), catalogs: new Map(), dirs: new Map() };
}

/** Where the cache for a repo lives: outside the repo, so it is never served or committed. */
export function cachePathFor(repoRealPath: string, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env['ABBOT_CACHE_DIR'] ??
    (process.platform === 'darwin'
      ? join(homedir(), 'Library', 'Caches', 'org.abbot.repo')
      : join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'abbot'));
  const id = createHash('sha256').update(repoRealPath).digest('hex').slice(0, 16);
  return join(base, `makecatalogs-${id}.json`);
}

/** Reads the cache for `repo`; a missing, foreign or corrupt cache yields an empty one. */
export function readCatalogCache(path: string, repoRealPath: string, tool: string): CatalogCache {
  let stored: Stored;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as Stored;
  } catch {
    return emptyCache(); // none yet, or unreadable: rebuild from the files
  }
  if (stored.version !== 4 || stored.tool !== tool || stored.repo !== repoRealPath)
    return emptyCache();
  try {
    const cache = emptyCache();
    for (const [path, key, at, length, name, catalogs, check, findings] of stored.entries) {
      const candidate =
        name === null || check === null
          ? null
          : { file: path, name, catalogs: catalogs ?? undefined, check };
      const entry: CacheEntry = { key: fromRow(key), candidate, findings: findings ?? [] };
      if (at >= 0) {
        entry.at = at;
        entry.length = length;
      }
      cache.entries.set(path, entry);
    }
    for (const [name, key, fingerprint] of stored.catalogs)
      cache.catalogs.set(name, { key: fromRow(key), fingerprint });
    for (const [dir, key, files, subdirs] of stored.dirs)
      cache.dirs.set(dir, { key: fromRow(key), files, subdirs });
    return cache;
  } catch {
    return emptyCache(); // a cache of the right version but the wrong shape: rebuild
  }
}

/**
 * Writes the cache atomically, leaving out files and folders modified within `racyWindowMs` before
 * `runStartMs`, so the next run reads them again.
 */
export async function writeCatalogCache(
  path: string,
  repoRealPath: string,
  tool: string,
  cache: CatalogCache,
  runStartMs: number,
  racyWindowMs = 1000,
): Promise<void> {
  const cutoff = runStartMs - racyWindowMs;
  const settled = (k: FileKey): boolean =>
    racyWindowMs <= 0 || (k.mtimeMs < cutoff && k.ctimeMs < cutoff);
  const entries: EntryRow[] = [];
  for (const [p, e] of cache.entries) {
    if (!settled(e.key)) continue;
    const c = e.candidate;
    const row: EntryRow = [
      p,
      toRow(e.key),
      e.at ?? -1,
      e.length ?? 0,
      c?.name ?? null,
      c?.catalogs ?? null,
      c?.check ?? null,
    ];
    if (e.findings.length > 0) row.push(e.findings);
    entries.push(row);
  }
  const stored: Stored = {
    version: 4,
    tool,
    repo: repoRealPath,
    entries,
    catalogs: [...cache.catalogs].map(([n, r]) => [n, toRow(r.key), r.fingerprint]),
    dirs: [...cache.dirs]
      .filter(([, d]) => settled(d.key))
      .map(([p, d]) => [p, toRow(d.key), d.files, d.subdirs]),
  };
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(stored), { mode: 0o600 });
}

/** A fingerprint of a catalog's members: it changes whenever any member or the order changes. */
export function catalogFingerprint(
  members: readonly { path: string; key: FileKey; length: number }[],
): string {
  const parts = members.map(
    (m) =>
      `${m.path}\0${m.key.size}\0${m.key.mtimeMs}\0${m.key.ctimeMs}\0${m.key.ino}\0${m.length}`,
  );
  return createHash('sha1').update(parts.join('\n')).digest('hex');
}
