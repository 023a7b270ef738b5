import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  fetchToCache,
  readCachedCopy,
  sidecarPath,
  type CachedFetchResult,
  type CacheSidecar,
} from '../../../client/sync/cached-fetch.js';
import { createHttpClient, type HttpClient } from '../../../client/sync/http-client.js';
import { isFetchError } from '../../../client/sync/fetch-error.js';
import { buildPlist, parsePlist } from '../../../formats/index.js';
import { silentLogger } from '../../../lib/log.js';
import { etagFor, routes, startTestServer, type TestServer } from '../../helpers/https-server.js';

// A realistic small catalog: a few pkginfo dictionaries.
const CATALOG = buildPlist(
  Array.from({ length: 20 }, (_, i) => ({
    name: `App${i}`,
    version: `1.${i}.0`,
    catalogs: ['testing'],
    installer_item_location: `apps/App${i}-1.${i}.0.pkg`,
    installer_item_hash: 'ab'.repeat(32),
  })),
);
const CATALOG_V2 = buildPlist([{ name: 'App0', version: '2.0', catalogs: ['testing'] }]);
const validatePlist = (bytes: Buffer): void => void parsePlist(bytes, { source: 'catalog' });

let repo: string;
let server: TestServer;
let cache: string;
let client: HttpClient;
let catalogUrl: string;
let dest: string;

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'abbot-cached-repo-'));
  await writeFile(join(repo, 'testing'), CATALOG);
  server = await startTestServer({ root: repo });
  catalogUrl = `${server.url}/testing`;
});

beforeEach(async () => {
  await writeFile(join(repo, 'testing'), CATALOG);
  cache = await mkdtemp(join(tmpdir(), 'abbot-cache-'));
  dest = join(cache, 'catalogs', 'testing');
  client = createHttpClient({
    caCertificatePath: server.pki.caCert,
    followRedirects: 'none',
    timeoutMs: 5_000,
    retries: 0,
    userAgent: 'abbot/0.1.0',
    logger: silentLogger,
  });
});

afterEach(async () => {
  server.clearRoutes();
  server.resetRequests();
  await client.close();
  await rm(cache, { recursive: true, force: true });
});

afterAll(async () => {
  await server.stop();
  await rm(repo, { recursive: true, force: true });
});

async function sidecar(): Promise<CacheSidecar> {
  return JSON.parse(await readFile(sidecarPath(dest), 'utf8')) as CacheSidecar;
}

function expectFailed(result: CachedFetchResult): Extract<CachedFetchResult, { status: 'failed' }> {
  if (result.status !== 'failed') throw new Error(`expected failed, got ${result.status}`);
  return result;
}

describe('fetchToCache', () => {
  it('downloads a new file and records its validators beside it', async () => {
    const result = await fetchToCache(client, catalogUrl, dest, {
      validate: validatePlist,
      now: () => new Date('2025-01-02T03:04:05Z'),
    });
    expect(result).toMatchObject({
      status: 'updated',
      path: dest,
      etag: etagFor(Buffer.from(CATALOG)),
    });
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
    const meta = await sidecar();
    expect(meta).toMatchObject({
      etag: etagFor(Buffer.from(CATALOG)),
      url: catalogUrl,
      fetchedAt: '2025-01-02T03:04:05.000Z',
    });
    expect(meta.lastModified).toMatch(/GMT$/);
    expect(meta.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('revalidates with If-None-Match and If-Modified-Since and keeps the body on 304', async () => {
    await fetchToCache(client, catalogUrl, dest);
    const before = await sidecar();
    const result = await fetchToCache(client, catalogUrl, dest, { validate: validatePlist });
    expect(result).toEqual({ status: 'not-modified', path: dest, etag: before.etag });
    const conditional = server.requests[1]?.headers;
    expect(conditional?.['if-none-match']).toBe(before.etag);
    expect(conditional?.['if-modified-since']).toBe(before.lastModified);
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
    expect(await sidecar()).toEqual(before);
  });

  it('replaces the copy when the file changed on the server', async () => {
    await fetchToCache(client, catalogUrl, dest);
    await writeFile(join(repo, 'testing'), CATALOG_V2);
    const result = await fetchToCache(client, catalogUrl, dest, { validate: validatePlist });
    expect(result).toMatchObject({ status: 'updated', etag: etagFor(Buffer.from(CATALOG_V2)) });
    expect(await readFile(dest, 'utf8')).toBe(CATALOG_V2);
    expect((await sidecar()).etag).toBe(etagFor(Buffer.from(CATALOG_V2)));
  });

  it('keeps the old copy when validate() rejects the new body', async () => {
    await fetchToCache(client, catalogUrl, dest);
    const before = await sidecar();
    await writeFile(join(repo, 'testing'), '<plist><array><dict>broken');
    const result = expectFailed(
      await fetchToCache(client, catalogUrl, dest, { validate: validatePlist }),
    );
    expect(result.kept).toBe(true);
    expect(result.error.code).toBe('PLIST_INVALID');
    expect(result.error.message).toContain(catalogUrl);
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
    expect(await sidecar()).toEqual(before);
  });

  it('reports a 404 as failed with HTTP_STATUS 404, leaving the old copy for the caller to judge', async () => {
    await fetchToCache(client, catalogUrl, dest);
    server.setRoute('/testing', routes.status(404));
    const result = expectFailed(await fetchToCache(client, catalogUrl, dest));
    expect(result.kept).toBe(true);
    expect(result.error.code).toBe('HTTP_STATUS');
    expect(isFetchError(result.error, 404)).toBe(true);
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
  });

  it('reports kept: false when there is no previous copy', async () => {
    const result = expectFailed(await fetchToCache(client, `${server.url}/nope`, dest));
    expect(result.kept).toBe(false);
    expect(isFetchError(result.error, 404)).toBe(true);
  });

  it('keeps the old copy after a 500', async () => {
    await fetchToCache(client, catalogUrl, dest);
    server.setRoute('/testing', routes.status(500));
    const result = expectFailed(await fetchToCache(client, catalogUrl, dest));
    expect(result.kept).toBe(true);
    expect(result.error.message).toBe(`${catalogUrl}: HTTP 500 Internal Server Error`);
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
  });

  it('leaves no partial file when the server closes mid-body', async () => {
    server.setRoute('/testing', routes.truncated(CATALOG.slice(0, 200), CATALOG.length));
    const result = expectFailed(await fetchToCache(client, catalogUrl, dest));
    expect(result.kept).toBe(false);
    expect(result.error.code).toBe('NETWORK');
    expect(result.error.message).toContain('connection closed after 200 bytes');
    // Neither the file, nor its sidecar, nor a temp file.
    expect(await readdir(cache)).toEqual([]);
  });

  it('keeps the old copy, untouched, when the server closes mid-body', async () => {
    await fetchToCache(client, catalogUrl, dest);
    await writeFile(join(repo, 'testing'), CATALOG_V2);
    server.setRoute('/testing', routes.truncated('<?xml', CATALOG_V2.length));
    const result = expectFailed(await fetchToCache(client, catalogUrl, dest));
    expect(result.kept).toBe(true);
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
    expect((await readdir(join(cache, 'catalogs'))).sort()).toEqual([
      'testing',
      'testing.http.json',
    ]);
  });

  it('downloads unconditionally when the copy on disk was changed behind its back', async () => {
    await fetchToCache(client, catalogUrl, dest);
    await writeFile(dest, 'tampered');
    const result = await fetchToCache(client, catalogUrl, dest);
    expect(result.status).toBe('updated');
    expect(server.requests[1]?.headers['if-none-match']).toBeUndefined();
    expect(await readFile(dest, 'utf8')).toBe(CATALOG);
  });

  it('downloads unconditionally when the validators belong to another URL', async () => {
    await fetchToCache(client, catalogUrl, dest);
    const moved = `https://127.0.0.1:${server.port}/testing`;
    const result = await fetchToCache(client, moved, dest);
    expect(result.status).toBe('updated');
    expect(server.requests[1]?.headers['if-none-match']).toBeUndefined();
    expect((await sidecar()).url).toBe(moved);
  });

  it('keeps userinfo out of the sidecar', async () => {
    const url = catalogUrl.replace('https://', 'https://admin:s3cret@');
    await fetchToCache(client, url, dest);
    expect(await readFile(sidecarPath(dest), 'utf8')).not.toContain('s3cret');
    // …and still revalidates: the redacted URL is what is compared.
    expect((await fetchToCache(client, url, dest)).status).toBe('not-modified');
  });

  it('costs under 600 bytes on the wire to revalidate a cached catalog (304)', async () => {
    await fetchToCache(client, catalogUrl, dest);
    // Measured on the already-open keep-alive connection, as the hourly check-in reuses it for
    // every catalog and manifest; the TLS handshake is reported separately below.
    const before = server.wireBytes();
    const result = await fetchToCache(client, catalogUrl, dest);
    const after = server.wireBytes();
    expect(result.status).toBe('not-modified');
    const sent = after.in - before.in;
    const received = after.out - before.out;

    const cold = createHttpClient({
      caCertificatePath: server.pki.caCert,
      followRedirects: 'none',
      timeoutMs: 5_000,
      retries: 0,
      userAgent: 'abbot/0.1.0',
      logger: silentLogger,
    });
    const coldBefore = server.wireBytes();
    await fetchToCache(cold, catalogUrl, dest);
    const coldAfter = server.wireBytes();
    await cold.close();
    const coldTotal = coldAfter.in - coldBefore.in + (coldAfter.out - coldBefore.out);

    console.log(
      `304 revalidation of a ${CATALOG.length}-byte catalog: ${sent} bytes request + ${received} bytes response = ${sent + received} bytes on the wire (TLS records included); on a new connection with the TLS handshake: ${coldTotal} bytes`,
    );
    expect(sent + received).toBeLessThan(600);
  });
});

describe('readCachedCopy', () => {
  it('returns undefined when there is no copy', async () => {
    expect(await readCachedCopy(dest)).toBeUndefined();
  });

  it('returns the bytes and the sidecar that describes them', async () => {
    await fetchToCache(client, catalogUrl, dest);
    const copy = await readCachedCopy(dest);
    expect(copy?.bytes.toString()).toBe(CATALOG);
    expect(copy?.meta?.url).toBe(catalogUrl);
  });

  it('returns the bytes without metadata when the sidecar is corrupt', async () => {
    await fetchToCache(client, catalogUrl, dest);
    await writeFile(sidecarPath(dest), '{not json');
    const copy = await readCachedCopy(dest);
    expect(copy?.bytes.toString()).toBe(CATALOG);
    expect(copy?.meta).toBeUndefined();
  });
});
