/**
 * Downloads one installer item into the cache the way Munki does (munki-behaviour.md §h): into
 * `<dest>.download`, hashed as it streams, verified per PackageVerificationMode, fsynced, then
 * renamed over `<dest>`. A verified copy already in the cache costs no request; a partial copy left
 * by a killed run is resumed with Range/If-Range, and only ever extended with bytes of the same
 * version of the file.
 *
 * Files beside `<dest>`:
 *   `<dest>.download`       the partial download, kept when a run dies so the next one resumes it;
 *   `<dest>.download.json`  what the partial is a prefix of: { url, etag, lastModified, expectedLength };
 *   `<dest>.sha256`         the finished file's SHA-256, keyed by its size and mtime so it is not
 *                           re-hashed every run, plus its validators for a conditional GET.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { syncDir, writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { PackageVerificationMode } from '../config.js';
import { FetchError, redactUrl } from '../sync/fetch-error.js';
import type { HttpClient, HttpStreamResponse } from '../sync/http-client.js';
import { assertSafeResourceName } from '../sync/repo-urls.js';
import { FileSink } from './file-sink.js';

/** Progress of one download: bytes of the file present so far, and its length when known. */
export interface DownloadProgress {
  received: number;
  total?: number | undefined;
}

/** Everything one download needs; `dest` must lie inside `cacheDir`. */
export interface DownloadItemOptions {
  client: Pick<HttpClient, 'stream' | 'toFetchError'>;
  url: string;
  /** The final cache path of the installer item. */
  dest: string;
  /** The folder downloads may write into; `dest` outside it is refused (PATH_UNSAFE). */
  cacheDir: string;
  /** pkginfo `installer_item_hash`: hex SHA-256 (case does not matter). */
  expectedHash?: string | undefined;
  /** Size in bytes, if known; only used for progress before the server says. */
  expectedSize?: number | undefined;
  verification: PackageVerificationMode;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  logger: Logger;
}

/** What a download produced. */
export interface DownloadResult {
  /** The cache path (equal to `dest`). */
  path: string;
  /** SHA-256 (lowercase hex) of the file at `path`. */
  sha256: string;
  /** Bytes that came over the network in this call (0 for a cache hit). */
  bytesDownloaded: number;
  /** True when a partial download from an earlier run was continued rather than restarted. */
  resumed: boolean;
  /** True when the cached copy was used without downloading (hash hit or 304). */
  fromCache: boolean;
  seconds: number;
}

/** `<dest>.download.json`: what the partial file is a prefix of. */
export interface PartialSidecar {
  url: string;
  etag: string | undefined;
  lastModified: string | undefined;
  /** The full length of the file the partial belongs to (Content-Length of the 200). */
  expectedLength: number | undefined;
}

/** `<dest>.sha256`: the finished file's hash, valid while its size and mtime are unchanged. */
export interface HashSidecar {
  sha256: string;
  size: number;
  mtimeMs: number;
  url: string | undefined;
  etag: string | undefined;
  lastModified: string | undefined;
}

/** The partial download beside `dest`. */
export function partialPath(dest: string): string {
  return dest + '.download';
}

/** The partial download's sidecar beside `dest`. */
export function partialSidecarPath(dest: string): string {
  return dest + '.download.json';
}

/** The hash sidecar beside `dest`. */
export function hashSidecarPath(dest: string): string {
  return dest + '.sha256';
}

/** Suffixes of the files that belong to a cache entry besides the entry itself. */
export const CACHE_SIDE_SUFFIXES = ['.download.json', '.download', '.sha256'] as const;

/**
 * The cache path of an installer item: `cacheDir` + the base name of its `installer_item_location`
 * (Munki keeps a flat cache). Throws PATH_UNSAFE for a location that tries to leave the repo.
 */
export function cachePathFor(cacheDir: string, installerItemLocation: string): string {
  assertSafeResourceName(installerItemLocation, 'installer_item_location');
  const name = basename(installerItemLocation.replaceAll('\\', '/'));
  return join(cacheDir, name);
}

/** Throws PATH_UNSAFE unless `dest` resolves to a path strictly inside `cacheDir`. */
export function assertInsideCache(dest: string, cacheDir: string): void {
  const rel = relative(resolve(cacheDir), resolve(dest));
  if (rel === '' || rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) {
    throw new AppError(
      'PATH_UNSAFE',
      `download destination ${JSON.stringify(dest)} is outside the cache folder ${cacheDir}`,
      { hint: 'names from the repo must stay inside their folder' },
    );
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const READ_CHUNK = 1024 * 1024;
// Below this a hash worker's start-up (~30 ms) costs more than hashing inline.
const WORKER_HASH_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Makes `dest` hold the installer item at `url`, verified per `verification`, and says how. Throws
 * HASH_MISMATCH (nothing left on disk), FetchError (HTTP_STATUS/NETWORK; a partial download is kept
 * for the next run), IO, PATH_UNSAFE, or the signal's reason when aborted (partial kept).
 */
export async function downloadItem(options: DownloadItemOptions): Promise<DownloadResult> {
  const { dest, logger, verification } = options;
  const started = performance.now();
  const shownUrl = redactUrl(options.url);
  assertInsideCache(dest, options.cacheDir);
  const expectedHash = normalizeHash(options.expectedHash, shownUrl, verification);
  if (verification === 'hash_strict' && expectedHash === undefined) {
    // Failing before the download, not after it as Munki does: the outcome is the same, minus the traffic.
    throw new AppError(
      'HASH_MISMATCH',
      `${shownUrl}: PackageVerificationMode is hash_strict and the pkginfo has no installer_item_hash`,
      {
        hint: 'add installer_item_hash to the pkginfo (makepkginfo computes it), or set PackageVerificationMode to hash',
      },
    );
  }
  await ioStep(`cannot create ${dirname(dest)}`, () => mkdir(dirname(dest), { recursive: true }));
  const elapsed = (): number => (performance.now() - started) / 1000;

  // 1. The cache: a copy whose hash matches costs nothing.
  const cached = await inspectCachedCopy(dest, expectedHash !== undefined);
  let conditional: HashSidecar | undefined;
  if (cached) {
    if (expectedHash !== undefined && cached.sha256 === expectedHash) {
      logger.debug('download.item.cached', `${basename(dest)} is cached and matches its hash`, {
        path: dest,
      });
      options.onProgress?.({ received: cached.size, total: cached.size });
      return {
        path: dest,
        sha256: cached.sha256,
        bytesDownloaded: 0,
        resumed: false,
        fromCache: true,
        seconds: elapsed(),
      };
    }
    if (expectedHash !== undefined && verification !== 'none') {
      logger.info(
        'download.item.stale',
        `${dest}: cached copy does not match installer_item_hash; downloading it again`,
        { path: dest },
      );
      await removeEntry(dest);
    } else if (cached.meta?.url === shownUrl && (cached.meta.etag ?? cached.meta.lastModified)) {
      // No hash to judge the copy by: ask the server whether it changed, as Munki does.
      conditional = cached.meta;
    }
  }

  // 2. A partial download from an earlier run.
  const partial = partialPath(dest);
  let resume = await inspectPartial(dest, shownUrl);
  if (resume && resume.size >= (resume.meta.expectedLength ?? Infinity)) {
    // Complete but never verified (the run died at the very end): verify it without the network.
    const finished = await finishCompletePartial(options, resume, expectedHash, elapsed);
    if (finished) return finished;
    resume = undefined;
  }
  if (!resume) await removePartial(dest);

  let resumed = false;
  let bytesDownloaded = 0;
  for (;;) {
    const headers: Record<string, string> = {};
    if (resume) {
      headers.range = `bytes=${resume.size}-`;
      headers['if-range'] = resume.validator;
    } else if (conditional) {
      if (conditional.etag !== undefined) headers['if-none-match'] = conditional.etag;
      if (conditional.lastModified !== undefined) {
        headers['if-modified-since'] = conditional.lastModified;
      }
    }

    let response: HttpStreamResponse;
    try {
      response = await options.client.stream(options.url, { headers, signal: options.signal });
    } catch (e) {
      if (resume && e instanceof FetchError && e.status === 416) {
        logger.info(
          'download.item.restart',
          `${shownUrl}: server cannot resume at byte ${resume.size} (HTTP 416); restarting from zero`,
          { url: shownUrl },
        );
        await removePartial(dest);
        resume = undefined;
        continue;
      }
      throw e;
    }

    if (response.status === 304) {
      discard(response.body);
      if (!conditional || !cached)
        throw unexpected(shownUrl, 304, 'to a request without validators');
      logger.debug('download.item.unchanged', `${basename(dest)} is unchanged on the server`, {
        path: dest,
      });
      const sha256 = cached.sha256 ?? (await hashFile(dest));
      options.onProgress?.({ received: cached.size, total: cached.size });
      return {
        path: dest,
        sha256,
        bytesDownloaded: 0,
        resumed: false,
        fromCache: true,
        seconds: elapsed(),
      };
    }

    let start = 0;
    let meta: PartialSidecar;
    if (response.status === 206) {
      const why = resume ? rangeMismatch(response, resume) : 'to a request without Range';
      if (resume && why === undefined) {
        start = resume.size;
        meta = resume.meta;
        resumed = true;
        logger.info(
          'download.item.resume',
          `${shownUrl}: resuming at byte ${start} of ${meta.expectedLength ?? '?'}`,
          { url: shownUrl, offset: start },
        );
      } else {
        discard(response.body);
        if (!resume) throw unexpected(shownUrl, 206, why ?? '');
        // Never append bytes of another version: start over with a plain GET.
        logger.info('download.item.restart', `${shownUrl}: ${why}; restarting from zero`, {
          url: shownUrl,
        });
        await removePartial(dest);
        resume = undefined;
        continue;
      }
    } else {
      if (resume) {
        logger.info(
          'download.item.restart',
          `${shownUrl}: server sent the whole file (it changed or ignores Range); restarting from zero`,
          { url: shownUrl },
        );
      }
      meta = {
        url: shownUrl,
        etag: response.headers.etag,
        lastModified: response.headers['last-modified'],
        expectedLength: parseLength(response.headers['content-length']),
      };
      // The old partial goes before the new sidecar arrives, so no crash can pair one version's
      // bytes with another's validators; the sidecar is written as the headers arrive, before any byte.
      await removePartial(dest);
      await ioStep(`cannot write ${partialSidecarPath(dest)}`, () =>
        writeFileAtomic(partialSidecarPath(dest), JSON.stringify(meta) + '\n'),
      );
    }

    const total = meta.expectedLength ?? options.expectedSize;
    const { sha256, received } = await streamToPartial(options, response, partial, start, total);
    bytesDownloaded += received;
    const length = start + received;
    if (meta.expectedLength !== undefined && length !== meta.expectedLength) {
      // undici already fails a body shorter than Content-Length; this covers any other way to end early.
      throw new FetchError({
        code: 'NETWORK',
        reason: 'truncated',
        url: shownUrl,
        message: `${shownUrl}: got ${length} of ${meta.expectedLength} bytes`,
        isRetryable: true,
      });
    }

    await verify(options, shownUrl, sha256, expectedHash);
    await promote(dest, { sha256, meta });
    logger.info('download.item.done', `${shownUrl}: downloaded ${bytesDownloaded} bytes`, {
      url: shownUrl,
      bytes: bytesDownloaded,
      resumed,
    });
    return {
      path: dest,
      sha256,
      bytesDownloaded,
      resumed,
      fromCache: false,
      seconds: elapsed(),
    };
  }
}

/** A partial download that may be continued. */
interface Resumable {
  size: number;
  meta: PartialSidecar;
  /** Strong ETag or Last-Modified, for If-Range. */
  validator: string;
}

/** The cached file, with its hash when known or needed. */
interface CachedCopy {
  size: number;
  sha256: string | undefined;
  meta: HashSidecar | undefined;
}

async function inspectCachedCopy(dest: string, needHash: boolean): Promise<CachedCopy | undefined> {
  const info = await stat(dest).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const sidecar = await readJson(hashSidecarPath(dest), parseHashSidecar);
  const meta =
    sidecar && sidecar.size === info.size && sidecar.mtimeMs === info.mtimeMs ? sidecar : undefined;
  if (meta || !needHash) return { size: info.size, sha256: meta?.sha256, meta };
  // Stale or missing sidecar: hash once and remember, so the next run need not read it again.
  const sha256 = await hashFile(dest);
  const fresh: HashSidecar = {
    sha256,
    size: info.size,
    mtimeMs: info.mtimeMs,
    url: sidecar?.url,
    etag: undefined,
    lastModified: undefined,
  };
  // The cache stays usable without the sidecar; failing to write it only costs a re-hash next time.
  await writeFileAtomic(hashSidecarPath(dest), JSON.stringify(fresh) + '\n').catch(() => {});
  return { size: info.size, sha256, meta: undefined };
}

async function inspectPartial(dest: string, shownUrl: string): Promise<Resumable | undefined> {
  const info = await stat(partialPath(dest)).catch(() => undefined);
  if (!info?.isFile() || info.size === 0) return undefined;
  const meta = await readJson(partialSidecarPath(dest), parsePartialSidecar);
  // Munki resumes only with a known full length and a validator; anything less may mix versions.
  if (!meta || meta.url !== shownUrl || meta.expectedLength === undefined) return undefined;
  const etag = meta.etag !== undefined && !meta.etag.startsWith('W/') ? meta.etag : undefined;
  // If-Range may not carry a weak ETag (RFC 9110 §13.1.5); Last-Modified is the fallback.
  const validator = etag ?? meta.lastModified;
  if (validator === undefined || info.size > meta.expectedLength) return undefined;
  return { size: info.size, meta, validator };
}

/** A partial that is already whole: promoted if its hash matches, else undefined (restart). */
async function finishCompletePartial(
  options: DownloadItemOptions,
  resume: Resumable,
  expectedHash: string | undefined,
  elapsed: () => number,
): Promise<DownloadResult | undefined> {
  // Without an expected hash there is no telling whether the server still has this version.
  if (expectedHash === undefined) return undefined;
  const sha256 = await hashFile(partialPath(options.dest));
  if (sha256 !== expectedHash) return undefined;
  await promote(options.dest, { sha256, meta: resume.meta });
  options.onProgress?.({ received: resume.size, total: resume.size });
  return {
    path: options.dest,
    sha256,
    bytesDownloaded: 0,
    resumed: true,
    fromCache: false,
    seconds: elapsed(),
  };
}

/** Why a 206 cannot be appended to the partial, or undefined when it can. */
function rangeMismatch(response: HttpStreamResponse, resume: Resumable): string | undefined {
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers['content-range']?.trim() ?? '');
  if (!range) return 'HTTP 206 without a usable Content-Range';
  const [first, last, whole] = [Number(range[1]), Number(range[2]), Number(range[3])];
  if (first !== resume.size) return `HTTP 206 starts at byte ${first}, not ${resume.size}`;
  if (whole !== resume.meta.expectedLength || last !== whole - 1) {
    return `HTTP 206 covers ${first}-${last}/${whole}, not the rest of ${resume.meta.expectedLength} bytes`;
  }
  const length = parseLength(response.headers['content-length']);
  if (length !== undefined && length !== last - first + 1) {
    return 'HTTP 206 Content-Length disagrees with its Content-Range';
  }
  // A server that ignores If-Range still reveals a new version through its validators.
  const { etag, 'last-modified': lastModified } = response.headers;
  if (etag !== undefined && resume.meta.etag !== undefined && etag !== resume.meta.etag) {
    return 'the ETag changed';
  }
  if (
    lastModified !== undefined &&
    resume.meta.lastModified !== undefined &&
    lastModified !== resume.meta.lastModified
  ) {
    return 'Last-Modified changed';
  }
  return undefined;
}

/** Streams the body into the partial file from `start`, hashing every byte of the file. */
async function streamToPartial(
  options: DownloadItemOptions,
  response: HttpStreamResponse,
  partial: string,
  start: number,
  total: number | undefined,
): Promise<{ sha256: string; received: number }> {
  const { body } = response;
  let handle: FileHandle;
  try {
    handle = await open(partial, start > 0 ? 'r+' : 'w');
  } catch (e) {
    discard(body);
    throw ioError(`cannot open ${partial}`, e);
  }
  let received = 0;
  let sha256: string;
  // A worker thread for the hash pays off only when there is a lot to hash.
  const sink = new FileSink(handle, partial, start, {
    hashOnWorker: (total ?? 0) >= WORKER_HASH_MIN_BYTES,
  });
  try {
    if (start > 0) await sink.seed(start);
    await ioStep(`cannot truncate ${partial}`, () => handle.truncate(start));
    await pump(body, sink, (chunk) => {
      received += chunk.byteLength;
      options.onProgress?.({ received: start + received, total });
    });
    sha256 = await sink.finish();
  } catch (e) {
    discard(body);
    await sink.abandon();
    await handle.close().catch(() => {});
    // The partial stays: what was written is a correct prefix and the next run resumes from it.
    if (options.signal?.aborted) throw options.signal.reason ?? e;
    // File-system failures arrive as AppError('IO'); anything else came from the body stream.
    if (e instanceof AppError) throw e;
    throw options.client.toFetchError(options.url, e, received);
  } finally {
    sink.close();
  }
  await ioStep(`cannot close ${partial}`, () => handle.close());
  return { sha256, received };
}

/**
 * Feeds `body` into `sink` through 'data' events, pausing while the disk catches up. Events, not
 * `for await`: the async iterator costs a promise per chunk, which at ~65,000 TLS records per GiB
 * made the download CPU-bound (2.5 s against 1.8 s per GiB on loopback).
 */
function pump(body: Readable, sink: FileSink, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      reject(e);
    };
    sink.onError(fail);
    body.on('error', fail);
    body.on('end', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    // Destroyed without an error (nothing else would settle the promise then).
    body.on('close', () => fail(new Error('response body closed before its end')));
    body.on('data', (chunk: Buffer) => {
      if (settled) return;
      onChunk(chunk);
      if (!sink.write(chunk)) {
        body.pause();
        sink.onDrain(() => body.resume());
      }
    });
  });
}

async function verify(
  options: DownloadItemOptions,
  shownUrl: string,
  sha256: string,
  expectedHash: string | undefined,
): Promise<void> {
  const { logger, verification } = options;
  if (verification === 'none') {
    logger.warn(
      'download.verify.skipped',
      `${shownUrl}: not verified (PackageVerificationMode is none)`,
      { url: shownUrl },
    );
    return;
  }
  if (expectedHash === undefined) {
    logger.warn(
      'download.verify.unverified',
      `${shownUrl}: not verified, the pkginfo has no installer_item_hash`,
      { url: shownUrl },
    );
    return;
  }
  if (sha256 === expectedHash) return;
  // Nothing of a bad download may survive: not the partial (a resume would re-use it), not the file.
  await removePartial(options.dest);
  await removeEntry(options.dest);
  throw new AppError(
    'HASH_MISMATCH',
    `${shownUrl}: downloaded file's SHA-256 ${sha256} does not match installer_item_hash ${expectedHash}`,
    {
      hint: 'the file on the server differs from its pkginfo: re-import the package or correct installer_item_hash, then run makecatalogs',
    },
  );
}

/** Renames the finished partial over `dest` and records its hash; the folder is fsynced last. */
async function promote(
  dest: string,
  finished: { sha256: string; meta: PartialSidecar },
): Promise<void> {
  const partial = partialPath(dest);
  await ioStep(`cannot replace ${dest}`, async () => {
    // The old hash sidecar goes first, so a crash never pairs it with the new file.
    await unlinkIfPresent(hashSidecarPath(dest));
    await rename(partial, dest);
    const info = await stat(dest);
    const sidecar: HashSidecar = {
      sha256: finished.sha256,
      size: info.size,
      mtimeMs: info.mtimeMs,
      url: finished.meta.url,
      etag: finished.meta.etag,
      lastModified: finished.meta.lastModified,
    };
    await writeFileAtomic(hashSidecarPath(dest), JSON.stringify(sidecar) + '\n');
    await unlinkIfPresent(partialSidecarPath(dest));
    await syncDir(dirname(dest));
  });
}

/** SHA-256 of a whole file, read in large chunks. */
async function hashFile(path: string): Promise<string> {
  return ioStep(`cannot read ${path}`, async () => {
    const handle = await open(path, 'r');
    try {
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(READ_CHUNK * 4);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
      return hash.digest('hex');
    } finally {
      await handle.close();
    }
  });
}

async function removePartial(dest: string): Promise<void> {
  await unlinkIfPresent(partialPath(dest));
  await unlinkIfPresent(partialSidecarPath(dest));
}

async function removeEntry(dest: string): Promise<void> {
  await unlinkIfPresent(dest);
  await unlinkIfPresent(hashSidecarPath(dest));
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot remove ${path}`, e);
  }
}

function normalizeHash(
  hash: string | undefined,
  shownUrl: string,
  verification: PackageVerificationMode,
): string | undefined {
  if (hash === undefined || hash.trim() === '') return undefined;
  const normalized = hash.trim().toLowerCase();
  if (SHA256_HEX.test(normalized)) return normalized;
  // In none mode the hash is never compared, so a malformed one must not stop the download.
  if (verification === 'none') return undefined;
  throw new AppError(
    'SCHEMA_INVALID',
    `${shownUrl}: installer_item_hash ${JSON.stringify(hash)} is not a SHA-256 (64 hex digits)`,
    { hint: 'regenerate the pkginfo with makepkginfo' },
  );
}

function unexpected(shownUrl: string, status: number, why: string): FetchError {
  return new FetchError({
    code: 'HTTP_STATUS',
    reason: 'status',
    url: shownUrl,
    message: `${shownUrl}: unexpected HTTP ${status} ${why}`.trimEnd(),
    status,
    isRetryable: false,
  });
}

/** Stops reading a body we will not use; undici reports a destroyed body as an error, so listen for it. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function parseLength(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

async function readJson<T>(
  path: string,
  parse: (v: unknown) => T | undefined,
): Promise<T | undefined> {
  try {
    return parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    // Missing or corrupt: treated as absent, which only ever costs a re-hash or a restart.
    return undefined;
  }
}

function parsePartialSidecar(value: unknown): PartialSidecar | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.url !== 'string') return undefined;
  return {
    url: v.url,
    etag: optionalString(v.etag),
    lastModified: optionalString(v.lastModified),
    expectedLength:
      typeof v.expectedLength === 'number' && Number.isSafeInteger(v.expectedLength)
        ? v.expectedLength
        : undefined,
  };
}

function parseHashSidecar(value: unknown): HashSidecar | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.sha256 !== 'string' || !SHA256_HEX.test(v.sha256)) return undefined;
  if (typeof v.size !== 'number' || typeof v.mtimeMs !== 'number') return undefined;
  return {
    sha256: v.sha256,
    size: v.size,
    mtimeMs: v.mtimeMs,
    url: optionalString(v.url),
    etag: optionalString(v.etag),
    lastModified: optionalString(v.lastModified),
  };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function ioStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw ioError(what, e);
  }
}

function ioError(what: string, e: unknown): AppError {
  return new AppError('IO', `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
