/**
 * The makecatalogs cache. For each pkginfo file it keeps what the prepare step produced, keyed by
 * path, size, mtime, ctime and inode, and where that item's serialised fragment sits in
 * catalogs/all — which already holds every item, so the cache needs no copy of the 50 MB of XML.
 *
 * Safety rules:
 * - an entry is used only if every part of its file key matches (stat happens before the read, so a
 *   file edited mid-run is re-read next time rather than cached under the wrong key);
 * - entries for files modified in the second before the run are not stored (a later write within the
 *   same timestamp tick could go unnoticed);
 * - fragments are taken from catalogs/all only if that file's own key is the one recorded when it
 *   was written; otherwise every file is re-read;
 * - a cache that cannot be read is ignored, never fatal.
 */
import { createHash } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CatalogCandidate, CatalogFinding } from '../catalogs/index.js';
import { writeFileAtomic } from '../lib/atomic-write.js';

/** What identifies one version of a file on disk. */
export interface FileKey {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/** The key of a file from a bigint stat. */
export function fileKey(s: {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
}): FileKey {
  return {
    size: Number(s.size),
    mtimeNs: s.mtimeNs.toString(),
    ctimeNs: s.ctimeNs.toString(),
    ino: s.ino.toString(),
  };
}

/** True when two keys name the same version of a file. */
export function sameKey(a: FileKey | undefined, b: FileKey | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
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
}

interface Stored {
  version: 3;
  /** The tool version that wrote it: fragments from another version may be serialised differently. */
  tool: string;
  repo: string;
  entries: [string, CacheEntry][];
  catalogs: [string, CatalogRecord][];
}

/** An empty cache. */
export function emptyCache(): CatalogCache {
  return { entries: new Map(), catalogs: new Map() };
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
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as Stored;
    if (stored.version !== 3 || stored.tool !== tool || stored.repo !== repoRealPath)
      return emptyCache();
    return { entries: new Map(stored.entries), catalogs: new Map(stored.catalogs) };
  } catch {
    return emptyCache(); // none yet, or unreadable: rebuild from the files
  }
}

/**
 * Writes the cache atomically, leaving out entries for files modified within `racyWindowMs` before
 * `runStartMs`, so the next run re-reads them.
 */
export async function writeCatalogCache(
  path: string,
  repoRealPath: string,
  tool: string,
  cache: CatalogCache,
  runStartMs: number,
  racyWindowMs = 1000,
): Promise<void> {
  const cutoff = BigInt(runStartMs - racyWindowMs) * 1_000_000n;
  const entries = [...cache.entries].filter(([, e]) => BigInt(e.key.mtimeNs) < cutoff);
  const stored: Stored = {
    version: 3,
    tool,
    repo: repoRealPath,
    entries,
    catalogs: [...cache.catalogs],
  };
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(stored), { mode: 0o600 });
}

/** A fingerprint of a catalog's members: it changes whenever any member or the order changes. */
export function catalogFingerprint(
  members: readonly { path: string; key: FileKey; length: number }[],
): string {
  const h = createHash('sha1');
  for (const m of members)
    h.update(
      `${m.path}\0${m.key.size}\0${m.key.mtimeNs}\0${m.key.ctimeNs}\0${m.key.ino}\0${m.length}\n`,
    );
  return h.digest('hex');
}
