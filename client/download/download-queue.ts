/**
 * Downloads a plan's installer items a few at a time. One item's failure is recorded against its
 * name and never stops the others; the free space is checked once before anything starts; the cache
 * is pruned of items no longer planned.
 */
import { readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { noProgress, type Progress } from '../../lib/progress.js';
import type { PackageVerificationMode } from '../config.js';
import type { HttpClient } from '../sync/http-client.js';
import { checkFreeSpace, neededFor, type StatfsFn } from './disk-space.js';
import {
  CACHE_SIDE_SUFFIXES,
  downloadItem,
  partialPath,
  type DownloadResult,
} from './download-item.js';
import { aggregateProgress } from './download-progress.js';

/** One installer item to fetch. */
export interface DownloadRequest {
  /** The item's name; the key of its result. */
  name: string;
  url: string;
  /** Its cache path, inside `cacheDir`. */
  dest: string;
  /** pkginfo `installer_item_hash`. */
  expectedHash?: string | undefined;
  /** Download size in bytes (pkginfo `installer_item_size` × 1024), if known. */
  expectedSize?: number | undefined;
  /** Installed size in bytes (pkginfo `installed_size` × 1024), if known; counts towards free space. */
  installedSize?: number | undefined;
}

/** How `downloadAll` runs. */
export interface DownloadAllOptions {
  client: Pick<HttpClient, 'stream' | 'toFetchError'>;
  cacheDir: string;
  verification: PackageVerificationMode;
  logger: Logger;
  /** Downloads at once (DownloadConcurrency; default 2, at least 1). */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Where the aggregate line is drawn; `terminalProgress(stderr)` on a TTY, nothing by default. */
  progress?: Progress | undefined;
  /** The clock for rates (tests pin it). */
  now?: (() => number) | undefined;
  /** The free-space check made before starting; `false` skips it. */
  space?: false | { statfs?: StatfsFn | undefined; marginBytes?: number | undefined } | undefined;
}

/**
 * Downloads `items`, `concurrency` at a time, and maps each name to its result or its error.
 * Rejects only before starting (IO when the volume lacks space) or when `signal` aborts.
 * Items sharing a `dest` are fetched once.
 */
export async function downloadAll(
  items: readonly DownloadRequest[],
  options: DownloadAllOptions,
): Promise<Map<string, DownloadResult | Error>> {
  const names = new Set<string>();
  for (const item of items) {
    if (names.has(item.name)) throw new Error(`downloadAll: duplicate item name ${item.name}`);
    names.add(item.name);
  }
  if (options.space !== false) {
    // An installer shared by several items lands once.
    const unique = [...new Map(items.map((item) => [resolve(item.dest), item])).values()];
    const cached = await Promise.all(unique.map((item) => cachedBytes(item.dest)));
    // neededFor speaks pkginfo's KiB; dividing by 1024 and multiplying back is exact in floating point.
    const needed = neededFor(
      unique.map((item, i) => ({
        installer_item_size: (item.expectedSize ?? 0) / 1024,
        installed_size: (item.installedSize ?? 0) / 1024,
        cachedBytes: cached[i],
      })),
    );
    const free = await checkFreeSpace(options.cacheDir, needed, options.space?.marginBytes, {
      statfs: options.space?.statfs,
    });
    options.logger.debug('download.space', `${free.volume}: ${free.freeBytes} bytes free`, {
      ...free,
    });
  }

  const tracker = aggregateProgress(
    new Map(items.map((item) => [item.name, item.expectedSize])),
    options.progress ?? noProgress,
    options.now,
  );
  const results: (DownloadResult | Error)[] = new Array<DownloadResult | Error>(items.length);
  const byDest = new Map<string, Promise<DownloadResult>>();
  const { signal, logger } = options;

  const fetchOne = (item: DownloadRequest): Promise<DownloadResult> => {
    const key = resolve(item.dest);
    let running = byDest.get(key);
    if (!running) {
      running = downloadItem({
        client: options.client,
        url: item.url,
        dest: item.dest,
        cacheDir: options.cacheDir,
        expectedHash: item.expectedHash,
        expectedSize: item.expectedSize,
        verification: options.verification,
        signal,
        logger,
        onProgress: (p) => tracker.report(item.name, p),
      });
      byDest.set(key, running);
    }
    return running;
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (!signal?.aborted) {
      const index = next++;
      const item = items[index];
      if (!item) return;
      try {
        results[index] = await fetchOne(item);
      } catch (e) {
        if (signal?.aborted) return;
        const error = e instanceof Error ? e : new Error(String(e));
        results[index] = error;
        logger.error('download.item.failed', `${item.name}: ${error.message}`, {
          name: item.name,
          code: error instanceof AppError ? error.code : undefined,
        });
      } finally {
        tracker.finished(item.name);
      }
    }
  };

  const wanted = options.concurrency ?? 2;
  const width = Math.max(
    1,
    Math.min(Number.isFinite(wanted) ? Math.floor(wanted) : 2, items.length),
  );
  try {
    await Promise.all(Array.from({ length: width }, worker));
  } finally {
    tracker.done();
  }
  if (signal?.aborted) throw signal.reason ?? new Error('download aborted');

  const out = new Map<string, DownloadResult | Error>();
  items.forEach((item, i) => {
    const result = results[i];
    if (result) out.set(item.name, result);
  });
  return out;
}

/**
 * Removes from `cacheDir` every entry whose path (relative, `/`-separated) is not in `keep`,
 * together with its sidecars and partial download, and stale temporary files. Call it only while
 * no download runs (the run lock guarantees that). Returns the removed paths, relative and sorted.
 */
export async function pruneCache(cacheDir: string, keep: ReadonlySet<string>): Promise<string[]> {
  const root = resolve(cacheDir);
  const removed: string[] = [];

  const visit = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new AppError('IO', `cannot list ${dir}: ${(e as Error).message}`, { cause: e });
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      // Never followed: a symlink is an entry like any other, removed itself if unwanted.
      if (entry.isDirectory()) {
        await visit(full);
        // Only succeeds when the folder is now empty, which is the point.
        await rmdir(full).catch(() => {});
        continue;
      }
      const rel = relative(root, full).split(sep).join('/');
      if (isKept(rel, keep)) continue;
      try {
        await unlink(full);
        removed.push(rel);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new AppError('IO', `cannot remove ${full}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
  };

  await visit(root);
  return removed.sort();
}

/** Bytes of `dest` already on disk: the finished file, else the partial download, else 0. */
export async function cachedBytes(dest: string): Promise<number> {
  for (const path of [dest, partialPath(dest)]) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) return info.size;
  }
  return 0;
}

// `.name.<pid>.<random>.tmp`: what lib/atomic-write leaves behind when a run dies mid-write.
const ATOMIC_TEMP = /(^|\/)\.[^/]+\.\d+\.[0-9a-f]{8}\.tmp$/;

function isKept(rel: string, keep: ReadonlySet<string>): boolean {
  if (keep.has(rel)) return true;
  if (ATOMIC_TEMP.test(rel)) return false;
  for (const suffix of CACHE_SIDE_SUFFIXES) {
    if (rel.endsWith(suffix) && keep.has(rel.slice(0, -suffix.length))) return true;
  }
  return false;
}
