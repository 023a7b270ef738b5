/**
 * `repo makecatalogs`: rebuilds catalogs/ and icons/_icon_hashes.plist from pkgsinfo/, as Munki's
 * makecatalogs does, plus: sorted (byte-identical) output, atomic writes, unchanged catalogs left
 * untouched (stable ETags), a per-file cache so a later run re-reads only what changed, both CPU
 * cores for big cold runs, and a progress line on a terminal.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  assignCatalogs,
  indexPkgs,
  type CatalogCandidate,
  type CatalogFinding,
  type PkgsIndex,
} from '../../catalogs/index.js';
import { buildPlist } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { noProgress, type Progress } from '../../lib/progress.js';
import { abbotVersion } from '../../lib/version.js';
import { assertRepo, listRepoFiles, type RepoEntry } from '../file-repo.js';
import {
  cachePathFor,
  catalogFingerprint,
  emptyCache,
  fileKey,
  readCatalogCache,
  sameKey,
  writeCatalogCache,
  type CacheEntry,
  type CatalogCache,
  type FileKey,
} from '../makecatalogs-cache.js';
import {
  readClaimed,
  unpackResults,
  type PackedResults,
  type PkginfoReadResult,
} from '../pkginfo-reader.js';

/** What `repo makecatalogs` takes. */
export interface MakeCatalogsOptions {
  repo: string;
  skipPkgCheck?: boolean;
  force?: boolean;
  /** Use and update the per-file cache (default true). */
  cache?: boolean;
  /** Overrides where the cache lives (tests). */
  cachePath?: string;
  /** Files changed this long before the run are not trusted from the cache next time (default 1000 ms). */
  racyWindowMs?: number;
  /** Read in a worker thread too when at least this many files need reading (default 2000). */
  parallelThreshold?: number;
  /** Log every item as it is added (Munki's `Adding pkgsinfo/… to …` lines); off by default. */
  listItems?: boolean;
  logger: Logger;
  progress?: Progress;
}

/** What a makecatalogs run did. */
export interface MakeCatalogsResult {
  catalogs: { name: string; items: number; written: boolean }[];
  removedCatalogs: string[];
  icons: number;
  findings: CatalogFinding[];
  /** pkginfo files read and parsed this run (the rest came from the cache). */
  parsed: number;
  /** Threads that read pkginfo files (1, or 2 when a worker helped). */
  threads: number;
  /** 0 when every pkginfo could be read, 1 otherwise. */
  exitCode: 0 | 1;
}

const CATALOG_OPEN = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    '<plist version="1.0">\n<array>\n',
);
const CATALOG_CLOSE = Buffer.from('</array>\n</plist>\n');
// Bumped whenever the fragment serialisation changes, so old caches are not reused.
const FRAGMENT_FORMAT = 1;

/** One pkginfo as this run knows it: from the cache or freshly read. */
interface Item {
  path: string;
  key: FileKey;
  candidate: CatalogCandidate | null;
  findings: CatalogFinding[];
  /** Byte length of the item's catalog fragment. */
  length: number;
  /** The fragment, when it was serialised this run; else it is read from catalogs/all at `at`. */
  fragment?: Buffer;
  at?: number;
}

/**
 * Reads `files` on this thread and, for big batches, on a worker thread too; both claim chunks from
 * one shared counter, so neither waits while the other still has work.
 */
async function readAll(
  files: RepoEntry[],
  threshold: number,
  progress: Progress,
): Promise<{ results: PkginfoReadResult[]; threads: number }> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const report = (n: number): void =>
    progress.update('Reading pkginfo', Math.min(n, files.length), files.length);
  // The worker runs compiled code only; under a TS test runner everything stays on this thread.
  const canFork = import.meta.url.endsWith('.js') && files.length >= threshold;
  if (!canFork) {
    const { results } = readClaimed(files, counter, report);
    return { results, threads: 1 };
  }
  const worker = new Worker(new URL('../pkginfo-reader-worker.js', import.meta.url), {
    workerData: { files, counter: counter.buffer },
  });
  const fromWorker = new Promise<PackedResults>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once(
      'exit',
      (code) => code !== 0 && reject(new Error(`pkginfo reader thread exited with ${code}`)),
    );
  });
  const mine = readClaimed(files, counter, report);
  const theirs = await fromWorker;
  await worker.terminate();
  const results = new Array<PkginfoReadResult>(files.length);
  mine.indexes.forEach((i, k) => (results[i] = mine.results[k]!));
  const unpacked = unpackResults(theirs);
  theirs.indexes.forEach((i, k) => (results[i] = unpacked[k]!));
  return { results, threads: 2 };
}

/** Writes `chunks` to `path` unless the file already holds exactly those bytes; true if written. */
async function writeIfChanged(path: string, chunks: Buffer[], current?: Buffer): Promise<boolean> {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing?.isFile() && existing.size === size) {
    const bytes = current ?? readFileSync(path);
    let offset = 0;
    let same = true;
    for (const c of chunks) {
      if (!bytes.subarray(offset, offset + c.length).equals(c)) {
        same = false;
        break;
      }
      offset += c.length;
    }
    if (same) return false;
  }
  await writeFileAtomic(path, chunks);
  return true;
}

function statKey(path: string): FileKey | undefined {
  const s = statSync(path, { throwIfNoEntry: false });
  return s?.isFile() ? fileKey(s) : undefined;
}

/** Rebuilds the catalogs of a file repo; findings are logged as Munki words them. */
export async function makeCatalogs(options: MakeCatalogsOptions): Promise<MakeCatalogsResult> {
  const { repo, logger } = options;
  const progress = options.progress ?? noProgress;
  const useCache = options.cache ?? true;
  assertRepo(repo, ['pkgsinfo']);
  const runStart = Date.now();
  const repoReal = realpathSync(repo);
  const tool = `${abbotVersion()}/${FRAGMENT_FORMAT}`;
  const cachePath = options.cachePath ?? cachePathFor(repoReal);
  const catalogsDir = join(repo, 'catalogs');
  const allPath = join(catalogsDir, 'all');

  const cache: CatalogCache = useCache ? readCatalogCache(cachePath, repoReal, tool) : emptyCache();
  const nextCache: CatalogCache = emptyCache();
  const dirCache = { previous: cache.dirs, next: nextCache.dirs };
  const files = listRepoFiles(repo, 'pkgsinfo', dirCache);

  // With a cache, stat every file first to find what changed; the key is taken before any read, so a
  // file edited mid-run is re-read next time, never cached stale. Without one, readers fstat instead.
  const keys: (FileKey | undefined)[] =
    cache.entries.size > 0 ? files.map((f) => fileKey(statSync(f.fullPath))) : [];

  // Fragments of cached items live in catalogs/all, if it is still the file this cache wrote.
  const allRecord = cache.catalogs.get('all');
  const fragmentsUsable = allRecord !== undefined && sameKey(allRecord.key, statKey(allPath));
  const hits = new Map<string, CacheEntry>();
  files.forEach((f, i) => {
    const entry = cache.entries.get(f.path);
    if (!entry || !sameKey(entry.key, keys[i])) return;
    if (entry.candidate !== null && entry.at === undefined) return; // its fragment is not in all
    if (entry.at !== undefined && !fragmentsUsable) return;
    hits.set(f.path, entry);
  });
  // Read lazily: an unchanged repo writes no catalog and so never needs the bytes.
  let allBytes: Buffer | undefined;
  const loadAll = (): Buffer => (allBytes ??= readFileSync(allPath));
  const fragmentOf = (m: Item): Buffer =>
    m.fragment ??
    (m.at !== undefined ? loadAll().subarray(m.at, m.at + m.length) : Buffer.alloc(0));

  const misses = files.filter((f) => !hits.has(f.path));
  const { results, threads } = await readAll(misses, options.parallelThreshold ?? 2000, progress);
  progress.done();
  const fresh = new Map<string, PkginfoReadResult>(results.map((r) => [r.path, r]));

  const findings: CatalogFinding[] = [];
  const items: Item[] = [];
  for (const f of files) {
    const hit = hits.get(f.path);
    if (hit) {
      const item: Item = {
        path: f.path,
        key: hit.key,
        candidate: hit.candidate,
        findings: hit.findings,
        length: hit.length ?? 0,
      };
      if (hit.at !== undefined) item.at = hit.at;
      items.push(item);
      continue;
    }
    const r = fresh.get(f.path)!;
    if (!r.ok) {
      findings.push({
        severity: 'error',
        kind: 'unreadable',
        file: `pkgsinfo/${f.path}`,
        message: `Unexpected error reading ${r.error}`,
      });
      continue;
    }
    items.push({
      path: f.path,
      key: r.key,
      candidate: r.candidate,
      findings: r.findings,
      length: r.fragment.length,
      fragment: r.fragment,
    });
  }
  for (const item of items) findings.push(...item.findings);

  const catalogItems = items.filter((i) => i.candidate !== null);
  let pkgs: PkgsIndex = indexPkgs([]);
  if (!options.skipPkgCheck)
    pkgs = indexPkgs(listRepoFiles(repo, 'pkgs', dirCache).map((e) => e.path));
  const assignment = assignCatalogs(
    catalogItems.map((i) => i.candidate!),
    pkgs,
    { skipPkgCheck: options.skipPkgCheck ?? false, force: options.force ?? false },
  );
  findings.push(...assignment.findings);

  mkdirSync(catalogsDir, { recursive: true });
  const written: MakeCatalogsResult['catalogs'] = [];
  // `all` first: the cache records where each fragment sits in it.
  const names = [...assignment.catalogs.keys()].sort((a, b) =>
    a === 'all' ? -1 : b === 'all' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  for (const name of names) {
    const indexes = assignment.catalogs.get(name)!;
    // Munki writes only non-empty catalogs; an empty `all` is still written so clients see an empty repo.
    if (indexes.length === 0 && name !== 'all') continue;
    const members = indexes.map((i) => catalogItems[i]!);
    if (options.listItems) {
      for (const m of members)
        logger.info('makecatalogs.item.added', `Adding pkgsinfo/${m.path} to ${name}...`);
    }
    const path = join(catalogsDir, name);
    const fingerprint = catalogFingerprint(
      members.map((m) => ({ path: m.path, key: m.key, length: m.length })),
    );
    const previous = cache.catalogs.get(name);
    let didWrite = false;
    if (!(
      previous &&
      previous.fingerprint === fingerprint &&
      sameKey(previous.key, statKey(path))
    )) {
      const chunks =
        members.length === 0
          ? [Buffer.from(buildPlist([]))]
          : [CATALOG_OPEN, ...members.map(fragmentOf), CATALOG_CLOSE];
      didWrite = await writeIfChanged(path, chunks, name === 'all' ? allBytes : undefined);
    }
    if (name === 'all') {
      let at = CATALOG_OPEN.length;
      for (const m of members) {
        if (!nextCache.entries.has(m.path)) {
          nextCache.entries.set(m.path, {
            key: m.key,
            candidate: m.candidate,
            findings: m.findings,
            at,
            length: m.length,
          });
        }
        at += m.length;
      }
    }
    const key = statKey(path);
    if (key) nextCache.catalogs.set(name, { key, fingerprint });
    written.push({ name, items: members.length, written: didWrite });
    logger.info(
      'makecatalogs.catalog.created',
      `${didWrite ? 'Created' : 'Unchanged'} catalogs/${name} (${members.length} item${members.length === 1 ? '' : 's'})`,
    );
  }
  // Items that are not in `all` (no name, or skipped) are cached without a fragment position.
  for (const item of items) {
    if (!nextCache.entries.has(item.path) && item.candidate === null) {
      nextCache.entries.set(item.path, { key: item.key, candidate: null, findings: item.findings });
    }
  }

  // Stale catalogs go after the new ones are in place, so a crash never leaves a catalog missing.
  const removed: string[] = [];
  for (const existing of listRepoFiles(repo, 'catalogs')) {
    if (existing.path.includes('/') || assignment.catalogs.has(existing.path)) continue;
    unlinkSync(existing.fullPath);
    removed.push(existing.path);
    logger.info('makecatalogs.catalog.removed', `Removed stale catalogs/${existing.path}`);
  }

  const icons = await hashIcons(repo, logger);

  for (const f of findings) {
    if (f.severity === 'error') logger.error('makecatalogs.error', `ERROR: ${f.message}`);
    else logger.warn('makecatalogs.warning', `WARNING: ${f.message}`);
  }

  // The cache is rewritten only when something in it changed: most runs over a big repo change nothing.
  const dirty =
    misses.length > 0 ||
    hits.size !== cache.entries.size ||
    nextCache.catalogs.size !== cache.catalogs.size ||
    [...nextCache.catalogs].some(([n, r]) => {
      const old = cache.catalogs.get(n);
      return !old || old.fingerprint !== r.fingerprint || !sameKey(old.key, r.key);
    }) ||
    nextCache.dirs.size !== cache.dirs.size ||
    [...nextCache.dirs].some(([d, l]) => cache.dirs.get(d) !== l);
  if (useCache && dirty) {
    await writeCatalogCache(
      cachePath,
      repoReal,
      tool,
      nextCache,
      runStart,
      options.racyWindowMs,
    ).catch((e: unknown) =>
      logger.warn(
        'makecatalogs.cache.unwritable',
        `WARNING: could not write the cache ${cachePath}: ${describeError(e)}`,
      ),
    );
  }
  return {
    catalogs: written,
    removedCatalogs: removed,
    icons,
    findings,
    parsed: misses.length,
    threads,
    exitCode: findings.some((f) => f.severity === 'error') ? 1 : 0,
  };
}

/** Writes icons/_icon_hashes.plist (SHA-256 per icon, keyed by path under icons/); returns the count. */
async function hashIcons(repo: string, logger: Logger): Promise<number> {
  const icons = listRepoFiles(repo, 'icons').filter((e) => e.path !== '_icon_hashes.plist');
  if (icons.length === 0) return 0;
  const hashes: Record<string, string> = {};
  for (const icon of icons)
    hashes[icon.path] = createHash('sha256').update(readFileSync(icon.fullPath)).digest('hex');
  const changed = await writeIfChanged(join(repo, 'icons', '_icon_hashes.plist'), [
    Buffer.from(buildPlist(hashes, { sortKeys: true })),
  ]);
  logger.info(
    'makecatalogs.icons.hashed',
    `${changed ? 'Created' : 'Unchanged'} icons/_icon_hashes.plist (${icons.length} icon${icons.length === 1 ? '' : 's'})`,
  );
  return icons.length;
}
