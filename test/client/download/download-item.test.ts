import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cachePathFor,
  downloadItem,
  hashSidecarPath,
  partialPath,
  partialSidecarPath,
  type DownloadItemOptions,
  type DownloadResult,
  type HashSidecar,
  type PartialSidecar,
} from '../../../client/download/download-item.js';
import { FetchError } from '../../../client/sync/fetch-error.js';
import {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
} from '../../../client/sync/http-client.js';
import { AppError } from '../../../lib/errors.js';
import { memoryLogger, silentLogger } from '../../../lib/log.js';
import {
  etagFor,
  routes,
  startTestServer,
  type RouteHandler,
  type TestServer,
} from '../../helpers/https-server.js';

const MIB = 1024 * 1024;
const SIZE = 4 * MIB;

let repo: string;
let server: TestServer;
let cache: string;
let pkg: Buffer;
let dest: string;
let url: string;
const clients: HttpClient[] = [];

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'abbot-dl-repo-'));
  server = await startTestServer({ root: repo });
});

beforeEach(async () => {
  pkg = randomBytes(SIZE);
  await writeFile(join(repo, 'Tool-1.0.pkg'), pkg);
  cache = await mkdtemp(join(tmpdir(), 'abbot-dl-cache-'));
  dest = cachePathFor(cache, 'apps/Tool-1.0.pkg');
  url = `${server.url}/Tool-1.0.pkg`;
});

afterEach(async () => {
  server.clearRoutes();
  server.resetRequests();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await rm(cache, { recursive: true, force: true });
});

afterAll(async () => {
  await server.stop();
  await rm(repo, { recursive: true, force: true });
});

function makeClient(overrides: Partial<HttpClientOptions> = {}): HttpClient {
  const client = createHttpClient({
    caCertificatePath: server.pki.caCert,
    followRedirects: 'none',
    timeoutMs: 5_000,
    retries: 0,
    userAgent: 'abbot-test/1.0',
    logger: silentLogger,
    sleep: async () => {},
    ...overrides,
  });
  clients.push(client);
  return client;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function download(overrides: Partial<DownloadItemOptions> = {}): Promise<DownloadResult> {
  return downloadItem({
    client: makeClient(),
    url,
    dest,
    cacheDir: cache,
    expectedHash: sha256(pkg),
    verification: 'hash',
    logger: silentLogger,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected the download to fail');
}

/** Aborts the download once `bytes` of the file have arrived: a run killed halfway. */
async function killAfter(bytes: number): Promise<void> {
  const controller = new AbortController();
  await expect(
    download({
      signal: controller.signal,
      onProgress: (p) => {
        if (p.received >= bytes) controller.abort(new Error('killed'));
      },
    }),
  ).rejects.toThrow('killed');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The static file, honouring If-Range as RFC 9110 §13.1.5 says (the helper ignores it). */
const honourIfRange =
  (name: string): RouteHandler =>
  async (req, res, ctx) => {
    const ifRange = req.headers['if-range'];
    if (ifRange !== undefined && ifRange !== etagFor(await readFile(join(repo, name)))) {
      delete req.headers.range;
    }
    await ctx.serveStatic();
  };

describe('downloadItem: fresh downloads', () => {
  it('downloads into the cache and reports the SHA-256 it verified', async () => {
    const result = await download();
    expect(result).toMatchObject({
      path: dest,
      sha256: sha256(pkg),
      bytesDownloaded: SIZE,
      resumed: false,
      fromCache: false,
    });
    expect((await readFile(dest)).equals(pkg)).toBe(true);
    expect(await readdir(cache)).toEqual(['Tool-1.0.pkg', 'Tool-1.0.pkg.sha256']);
  });

  it('remembers the hash beside the file, keyed by size and mtime', async () => {
    await download();
    const sidecar = JSON.parse(await readFile(hashSidecarPath(dest), 'utf8')) as HashSidecar;
    const info = await stat(dest);
    expect(sidecar).toMatchObject({ sha256: sha256(pkg), size: SIZE, mtimeMs: info.mtimeMs });
    expect(sidecar.etag).toBe(etagFor(pkg));
  });

  it('accepts an upper-case installer_item_hash', async () => {
    const result = await download({ expectedHash: sha256(pkg).toUpperCase() });
    expect(result.sha256).toBe(sha256(pkg));
  });

  it('reports progress up to the full length', async () => {
    const seen: { received: number; total?: number | undefined }[] = [];
    await download({ onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ received: SIZE, total: SIZE });
  });
});

describe('downloadItem: verification modes', () => {
  it('deletes everything and throws HASH_MISMATCH when the hash differs', async () => {
    const want = 'ab'.repeat(32);
    const error = await rejection(download({ expectedHash: want }));
    expect(error.code).toBe('HASH_MISMATCH');
    expect(error.message).toBe(
      `${url}: downloaded file's SHA-256 ${sha256(pkg)} does not match installer_item_hash ${want}`,
    );
    expect(await readdir(cache)).toEqual([]);
  });

  it('fails in hash_strict mode without an installer_item_hash, before any request', async () => {
    const error = await rejection(
      download({ expectedHash: undefined, verification: 'hash_strict' }),
    );
    expect(error.code).toBe('HASH_MISMATCH');
    expect(error.message).toContain('hash_strict');
    expect(server.requests).toHaveLength(0);
    expect(await readdir(cache)).toEqual([]);
  });

  it('passes in hash_strict mode when the hash matches', async () => {
    const result = await download({ verification: 'hash_strict' });
    expect(result.sha256).toBe(sha256(pkg));
  });

  it('passes with a warning in none mode, even with a wrong hash', async () => {
    const logger = memoryLogger();
    const result = await download({
      verification: 'none',
      expectedHash: 'cd'.repeat(32),
      logger,
    });
    expect(result.sha256).toBe(sha256(pkg));
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', event: 'download.verify.skipped' }),
    );
  });

  it('passes with a warning in hash mode when the pkginfo has no hash', async () => {
    const logger = memoryLogger();
    const result = await download({ expectedHash: undefined, logger });
    expect(result.fromCache).toBe(false);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', event: 'download.verify.unverified' }),
    );
  });

  it('refuses a malformed installer_item_hash in hash mode', async () => {
    const error = await rejection(download({ expectedHash: 'not-a-hash' }));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(server.requests).toHaveLength(0);
  });
});

describe('downloadItem: the cache', () => {
  it('makes no request when the cached file matches the hash', async () => {
    await download();
    server.resetRequests();
    const result = await download();
    expect(result).toMatchObject({ fromCache: true, bytesDownloaded: 0, sha256: sha256(pkg) });
    expect(server.requests).toHaveLength(0);
  });

  it('re-hashes a cached file whose mtime changed, and still makes no request', async () => {
    await download();
    const later = new Date(Date.now() + 60_000);
    await utimes(dest, later, later);
    server.resetRequests();
    const result = await download();
    expect(result.fromCache).toBe(true);
    expect(server.requests).toHaveLength(0);
    const sidecar = JSON.parse(await readFile(hashSidecarPath(dest), 'utf8')) as HashSidecar;
    expect(sidecar.mtimeMs).toBe((await stat(dest)).mtimeMs);
  });

  it('deletes a cached file that does not match and fetches it again', async () => {
    await download();
    const corrupt = Buffer.from(pkg);
    corrupt[1000] = (corrupt[1000] ?? 0) ^ 0xff;
    await writeFile(dest, corrupt);
    server.resetRequests();
    const result = await download();
    expect(result).toMatchObject({ fromCache: false, bytesDownloaded: SIZE });
    expect((await readFile(dest)).equals(pkg)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('does not trust a sidecar whose size and mtime describe another file', async () => {
    await download();
    const corrupt = Buffer.alloc(SIZE, 1);
    await writeFile(dest, corrupt);
    const result = await download();
    expect(result.fromCache).toBe(false);
    expect(sha256(await readFile(dest))).toBe(sha256(pkg));
  });

  it('revalidates with If-None-Match when there is no hash, and keeps the copy on 304', async () => {
    await download({ expectedHash: undefined });
    server.resetRequests();
    const result = await download({ expectedHash: undefined });
    expect(result).toMatchObject({ fromCache: true, bytesDownloaded: 0, sha256: sha256(pkg) });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers['if-none-match']).toBe(etagFor(pkg));
  });
});

describe('downloadItem: resuming', () => {
  it('resumes a killed download with Range and If-Range and ends with the right hash', async () => {
    await killAfter(SIZE / 2);
    const partialSize = (await stat(partialPath(dest))).size;
    expect(partialSize).toBeGreaterThan(0);
    expect(partialSize).toBeLessThan(SIZE);
    const meta = JSON.parse(await readFile(partialSidecarPath(dest), 'utf8')) as PartialSidecar;
    expect(meta).toEqual({
      url,
      etag: etagFor(pkg),
      lastModified: expect.any(String) as string,
      expectedLength: SIZE,
    });

    server.resetRequests();
    const result = await download();
    expect(result).toMatchObject({
      resumed: true,
      fromCache: false,
      bytesDownloaded: SIZE - partialSize,
      sha256: sha256(pkg),
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers.range).toBe(`bytes=${partialSize}-`);
    expect(server.requests[0]?.headers['if-range']).toBe(etagFor(pkg));
    expect((await readFile(dest)).equals(pkg)).toBe(true);
    expect(await exists(partialPath(dest))).toBe(false);
    expect(await exists(partialSidecarPath(dest))).toBe(false);
  });

  it('keeps the partial when the connection drops mid-body, then resumes it', async () => {
    const half = pkg.subarray(0, SIZE / 2);
    // Dropped only once the client has bytes of the body in hand: a timer alone could fire, on a
    // loaded machine, before any byte was read, and a reset may discard what the kernel still holds.
    let drop: (() => void) | undefined;
    server.setRoute(
      '/Tool-1.0.pkg',
      routes.sequence(async (req, res) => {
        // The validators the static route sends for the same file: a Last-Modified that differed
        // (a second boundary passed since the file was written) would rightly forbid the resume.
        const { mtimeMs } = await stat(join(repo, 'Tool-1.0.pkg'));
        res.writeHead(200, {
          'content-length': String(SIZE),
          etag: etagFor(pkg),
          'last-modified': new Date(Math.floor(mtimeMs / 1000) * 1000).toUTCString(),
        });
        drop = () => req.socket.destroy();
        res.write(half);
      }, honourIfRange('Tool-1.0.pkg')),
    );
    const error = await rejection(
      download({
        onProgress: ({ received }) => {
          if (received > 0) drop?.();
        },
      }),
    );
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).reason).toBe('truncated');
    expect(await exists(dest)).toBe(false);
    const kept = await readFile(partialPath(dest));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.equals(pkg.subarray(0, kept.length))).toBe(true);

    const result = await download();
    expect(result).toMatchObject({ resumed: true, sha256: sha256(pkg) });
    expect(result.bytesDownloaded).toBe(SIZE - kept.length);
  });

  it('restarts from zero when the file changed on the server (If-Range ⇒ 200)', async () => {
    await killAfter(SIZE / 2);
    const v2 = randomBytes(SIZE + 12345);
    await writeFile(join(repo, 'Tool-1.0.pkg'), v2);
    server.setRoute('/Tool-1.0.pkg', honourIfRange('Tool-1.0.pkg'));
    server.resetRequests();

    const result = await download({ expectedHash: sha256(v2) });
    expect(result).toMatchObject({
      resumed: false,
      bytesDownloaded: v2.length,
      sha256: sha256(v2),
    });
    expect((await readFile(dest)).equals(v2)).toBe(true);
    // One request: it asked to resume, got the whole new file, and used it.
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers['if-range']).toBe(etagFor(pkg));
  });

  it('restarts when a server ignoring If-Range sends a 206 of another version', async () => {
    await killAfter(SIZE / 2);
    const v2 = randomBytes(SIZE);
    await writeFile(join(repo, 'Tool-1.0.pkg'), v2);
    server.resetRequests();

    const result = await download({ expectedHash: sha256(v2) });
    expect(result).toMatchObject({ resumed: false, sha256: sha256(v2) });
    expect((await readFile(dest)).equals(v2)).toBe(true);
    expect(server.requests.map((r) => r.headers.range)).toEqual([
      expect.stringMatching(/^bytes=\d+-$/),
      undefined,
    ]);
  });

  it('restarts from zero after HTTP 416', async () => {
    await killAfter(SIZE / 2);
    // The new version is shorter than what we already have: the range cannot be satisfied.
    const v2 = randomBytes(1000);
    await writeFile(join(repo, 'Tool-1.0.pkg'), v2);
    server.resetRequests();

    const result = await download({ expectedHash: sha256(v2) });
    expect(result).toMatchObject({ resumed: false, bytesDownloaded: 1000, sha256: sha256(v2) });
    expect(server.requests.map((r) => r.headers.range)).toEqual([
      expect.stringMatching(/^bytes=\d+-$/),
      undefined,
    ]);
  });

  it('keeps the partial between retries of a 5xx', async () => {
    await killAfter(SIZE / 2);
    const partialSize = (await stat(partialPath(dest))).size;
    server.setRoute(
      '/Tool-1.0.pkg',
      routes.sequence(routes.status(503), honourIfRange('Tool-1.0.pkg')),
    );
    server.resetRequests();
    const result = await download({ client: makeClient({ retries: 2 }) });
    expect(result).toMatchObject({ resumed: true, bytesDownloaded: SIZE - partialSize });
    expect(server.requests.map((r) => r.headers.range)).toEqual([
      `bytes=${partialSize}-`,
      `bytes=${partialSize}-`,
    ]);
  });

  it('does not resume a partial whose sidecar names another URL', async () => {
    await killAfter(SIZE / 2);
    const meta = JSON.parse(await readFile(partialSidecarPath(dest), 'utf8')) as PartialSidecar;
    await writeFile(
      partialSidecarPath(dest),
      JSON.stringify({ ...meta, url: `${server.url}/Other.pkg` }),
    );
    server.resetRequests();
    const result = await download();
    expect(result).toMatchObject({ resumed: false, bytesDownloaded: SIZE });
    expect(server.requests[0]?.headers.range).toBeUndefined();
  });

  it('promotes a complete partial whose hash matches without a request', async () => {
    await writeFile(partialPath(dest), pkg);
    const meta: PartialSidecar = {
      url,
      etag: etagFor(pkg),
      lastModified: undefined,
      expectedLength: SIZE,
    };
    await writeFile(partialSidecarPath(dest), JSON.stringify(meta));
    const result = await download();
    expect(result).toMatchObject({ resumed: true, bytesDownloaded: 0, sha256: sha256(pkg) });
    expect(server.requests).toHaveLength(0);
    expect(await readdir(cache)).toEqual(['Tool-1.0.pkg', 'Tool-1.0.pkg.sha256']);
  });
});

describe('downloadItem: large files', () => {
  it('hashes a large download on a worker thread, resumed part included', async () => {
    // Over the 32 MiB threshold: the hash runs on a worker and is seeded there on resume.
    pkg = randomBytes(40 * MIB);
    await writeFile(join(repo, 'Tool-1.0.pkg'), pkg);
    await killAfter(15 * MIB);
    const partialSize = (await stat(partialPath(dest))).size;
    expect(partialSize).toBeGreaterThan(0);
    const result = await download();
    expect(result).toMatchObject({ resumed: true, sha256: sha256(pkg) });
    expect(result.bytesDownloaded).toBe(pkg.length - partialSize);
    expect((await readFile(dest)).equals(pkg)).toBe(true);
  });
});

describe('downloadItem: failures', () => {
  it('throws a truncated FetchError and keeps the partial when the body ends early', async () => {
    const body = pkg.subarray(0, 100_000);
    server.setRoute('/Tool-1.0.pkg', routes.truncated(body, SIZE));
    const error = await rejection(download());
    expect(error).toBeInstanceOf(FetchError);
    expect(error.code).toBe('NETWORK');
    expect((error as FetchError).reason).toBe('truncated');
    expect(await exists(dest)).toBe(false);
    const kept = await readFile(partialPath(dest));
    expect(kept.equals(pkg.subarray(0, kept.length))).toBe(true);
  });

  it('throws HTTP_STATUS for a 404 and leaves nothing behind', async () => {
    const error = await rejection(download({ url: `${server.url}/Missing.pkg` }));
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).status).toBe(404);
    expect(await readdir(cache)).toEqual([]);
  });

  it('refuses a destination that climbs out of the cache folder', async () => {
    const error = await rejection(download({ dest: join(cache, '..', 'evil.pkg') }));
    expect(error.code).toBe('PATH_UNSAFE');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses the cache folder itself and absolute paths elsewhere', async () => {
    expect((await rejection(download({ dest: cache }))).code).toBe('PATH_UNSAFE');
    expect((await rejection(download({ dest: join(tmpdir(), 'x.pkg') }))).code).toBe('PATH_UNSAFE');
  });

  it.each(['../evil.pkg', '/etc/passwd', 'apps/../../x.pkg'])(
    'refuses the installer_item_location %s',
    (location) => {
      expect(() => cachePathFor(cache, location)).toThrow(
        expect.objectContaining({ code: 'PATH_UNSAFE' }),
      );
    },
  );
});
