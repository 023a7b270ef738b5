/**
 * Keeps a local copy of a repo file current with conditional GETs, the way Munki keeps catalogs and
 * manifests: the last good copy stays at `destPath`, its validators in `destPath + '.http.json'`,
 * and a new copy replaces it only whole, only after it validated.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError } from '../../lib/errors.js';
import { FetchError, redactUrl } from './fetch-error.js';
import type { HttpClient } from './http-client.js';

/** What is remembered about the cached copy, beside it as JSON. */
export interface CacheSidecar {
  etag: string | undefined;
  lastModified: string | undefined;
  /** The URL the copy came from (userinfo removed); validators only count for the same URL. */
  url: string;
  /** ISO time the copy was downloaded. */
  fetchedAt: string;
  /** SHA-256 (hex) of the copy, so a copy changed on disk is never revalidated as current. */
  sha256: string;
  /**
   * The copy's size, mtime and inode when it was written: while they still match, `sha256` is
   * trusted without reading the copy (a 40 MB catalog is not re-hashed every hour).
   */
  file?: FileStamp | undefined;
}

/** What identifies one version of a file on disk without reading it. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Options for one fetch. */
export interface CachedFetchOptions {
  /** Checks a new body before it replaces the old copy (e.g. parses the plist); throw to reject it. */
  validate?: ((bytes: Buffer) => void | Promise<void>) | undefined;
  signal?: AbortSignal | undefined;
  /** The clock, for `fetchedAt` (tests pin it). */
  now?: (() => Date) | undefined;
}

/**
 * The outcome. `failed` never throws away the previous copy: `kept` says whether one exists, and
 * the caller decides whether to use it — after a 5xx or a network error Munki carries on with the
 * old catalog, while a 404 means the resource is gone (check `error.status`).
 */
export type CachedFetchResult =
  | { status: 'updated'; path: string; etag: string | undefined; bytes: Buffer }
  | { status: 'not-modified'; path: string; etag: string | undefined }
  | { status: 'failed'; path: string; error: AppError; kept: boolean };

/** A cached copy as found on disk. */
export interface CachedCopy {
  path: string;
  bytes: Buffer;
  /** Undefined when the sidecar is missing, unreadable or does not describe these bytes. */
  meta: CacheSidecar | undefined;
}

/** The sidecar file that goes with `destPath`. */
export function sidecarPath(destPath: string): string {
  return destPath + '.http.json';
}

/** What is known about the copy at `destPath` without reading it, when that can be trusted. */
export interface CacheState {
  exists: boolean;
  /** The sidecar, only when it describes the copy on disk. */
  meta: CacheSidecar | undefined;
}

async function stampOf(path: string): Promise<FileStamp | undefined> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

const sameStamp = (a: FileStamp | undefined, b: FileStamp | undefined): boolean =>
  a !== undefined &&
  b !== undefined &&
  a.size === b.size &&
  a.mtimeMs === b.mtimeMs &&
  a.ino === b.ino;

/**
 * Whether a copy exists at `destPath`, and its sidecar if that describes it: trusted from the
 * recorded stamp when size, mtime and inode still match, otherwise by hashing the copy.
 */
export async function readCacheState(destPath: string): Promise<CacheState> {
  const stamp = await stampOf(destPath);
  if (!stamp) return { exists: false, meta: undefined };
  const meta = await readSidecar(destPath);
  if (!meta) return { exists: true, meta: undefined };
  if (sameStamp(meta.file, stamp)) return { exists: true, meta };
  const copy = await readCachedCopy(destPath);
  if (copy?.meta) {
    // Hashed once and found intact: record the stamp so later runs need not read the copy.
    const upgraded = { ...copy.meta, file: stamp };
    await writeSidecar(destPath, upgraded).catch(() => {});
    return { exists: true, meta: upgraded };
  }
  return { exists: true, meta: undefined };
}

/** Reads the cached copy at `destPath` and its sidecar; undefined when there is no copy. */
export async function readCachedCopy(destPath: string): Promise<CachedCopy | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(destPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('IO', `cannot read ${destPath}: ${(e as Error).message}`, { cause: e });
  }
  const meta = await readSidecar(destPath);
  return {
    path: destPath,
    bytes,
    meta: meta && meta.sha256 === sha256(bytes) ? meta : undefined,
  };
}

/**
 * Brings `destPath` up to date with `url`. Sends If-None-Match / If-Modified-Since when the copy
 * on disk is the one the validators describe; 304 → `not-modified`; 200 → validated, then body and
 * sidecar written atomically → `updated`; anything else → `failed` with the old copy untouched.
 * Throws only when `signal` aborts.
 */
export async function fetchToCache(
  client: HttpClient,
  url: string,
  destPath: string,
  options: CachedFetchOptions = {},
): Promise<CachedFetchResult> {
  const shownUrl = redactUrl(url);
  let existing: CacheState;
  try {
    existing = await readCacheState(destPath);
  } catch (e) {
    return { status: 'failed', path: destPath, error: asAppError(e, 'IO', destPath), kept: false };
  }
  const kept = existing.exists;
  const failed = (error: AppError): CachedFetchResult => ({
    status: 'failed',
    path: destPath,
    error,
    kept,
  });

  // Validators from another URL (the repo moved) say nothing about this one.
  const validators = existing.meta?.url === shownUrl ? existing.meta : undefined;
  const headers: Record<string, string> = {};
  if (validators?.etag !== undefined) headers['if-none-match'] = validators.etag;
  // Sent alongside the ETag as Munki does: servers that ignore If-None-Match still honour it.
  if (validators?.lastModified !== undefined) {
    headers['if-modified-since'] = validators.lastModified;
  }

  let response;
  try {
    response = await client.get(url, { headers, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    return failed(asAppError(e, 'NETWORK', shownUrl));
  }

  if (response.status === 304) {
    if (!validators || !existing.exists) {
      return failed(
        new FetchError({
          code: 'HTTP_STATUS',
          reason: 'status',
          url: shownUrl,
          message: `${shownUrl}: HTTP 304 Not Modified to a request that had no validators`,
          status: 304,
          isRetryable: false,
        }),
      );
    }
    const etag = response.headers.etag ?? validators.etag;
    const lastModified = response.headers['last-modified'] ?? validators.lastModified;
    if (etag !== validators.etag || lastModified !== validators.lastModified) {
      // A 304 may carry fresher validators (RFC 9110 §15.4.5); keep them, the bytes are the same.
      try {
        await writeSidecar(destPath, { ...validators, etag, lastModified });
      } catch (e) {
        return failed(asAppError(e, 'IO', destPath));
      }
    }
    return { status: 'not-modified', path: destPath, etag };
  }

  const bytes = response.body;
  if (options.validate) {
    try {
      await options.validate(bytes);
    } catch (e) {
      return failed(withSource(e, shownUrl));
    }
  }

  const meta: CacheSidecar = {
    etag: response.headers.etag,
    lastModified: response.headers['last-modified'],
    url: shownUrl,
    fetchedAt: (options.now?.() ?? new Date()).toISOString(),
    sha256: sha256(bytes),
  };
  try {
    // Body first, sidecar second: a crash in between leaves a sidecar whose sha256 no longer
    // matches, so the next run simply downloads again instead of trusting stale validators.
    await writeFileAtomic(destPath, bytes, { mkdirs: true });
    meta.file = await stampOf(destPath);
    await writeSidecar(destPath, meta);
  } catch (e) {
    return failed(asAppError(e, 'IO', destPath));
  }
  return { status: 'updated', path: destPath, etag: meta.etag, bytes };
}

async function readSidecar(destPath: string): Promise<CacheSidecar | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(sidecarPath(destPath), 'utf8'));
  } catch {
    // Missing or corrupt: the copy is still usable, it just cannot be revalidated cheaply.
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const optional = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  if (typeof v.url !== 'string' || typeof v.sha256 !== 'string') return undefined;
  return {
    etag: optional(v.etag),
    lastModified: optional(v.lastModified),
    url: v.url,
    fetchedAt: optional(v.fetchedAt) ?? '',
    sha256: v.sha256,
    file: stampFrom(v.file),
  };
}

function stampFrom(x: unknown): FileStamp | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const f = x as Record<string, unknown>;
  return typeof f.size === 'number' && typeof f.mtimeMs === 'number' && typeof f.ino === 'number'
    ? { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino }
    : undefined;
}

async function writeSidecar(destPath: string, meta: CacheSidecar): Promise<void> {
  await writeFileAtomic(sidecarPath(destPath), JSON.stringify(meta, null, 2) + '\n', {
    mkdirs: true,
  });
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function asAppError(e: unknown, code: 'IO' | 'NETWORK', where: string): AppError {
  if (e instanceof AppError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new AppError(code, `${where}: ${message}`, { cause: e });
}

/** A validate() rejection, named after the URL whose body it rejected. */
function withSource(e: unknown, url: string): AppError {
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof AppError ? e.code : 'SCHEMA_INVALID';
  const hint = e instanceof AppError ? e.hint : undefined;
  return new AppError(code, `${url}: ${message}`, {
    ...(hint !== undefined ? { hint } : {}),
    cause: e,
  });
}
