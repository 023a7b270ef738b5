import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpClient,
  isRetryableStatus,
  type HttpClient,
  type HttpClientOptions,
} from '../../../client/sync/http-client.js';
import { FetchError } from '../../../client/sync/fetch-error.js';
import { memoryLogger, silentLogger } from '../../../lib/log.js';
import { routes, startTestServer, type TestServer } from '../../helpers/https-server.js';

const CATALOG = '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><array/></plist>\n';

let repo: string;
let server: TestServer;
const clients: HttpClient[] = [];

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'abbot-http-'));
  await mkdir(join(repo, 'catalogs'), { recursive: true });
  await writeFile(join(repo, 'catalogs', 'testing'), CATALOG);
  await writeFile(join(repo, 'catalogs', 'big'), Buffer.alloc(100_000, 7));
  server = await startTestServer({ root: repo });
});

afterEach(async () => {
  server.clearRoutes();
  server.resetRequests();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await server.stop();
  await rm(repo, { recursive: true, force: true });
});

/** A client that trusts the test CA, with no retries and no real sleeping unless asked. */
function makeClient(overrides: Partial<HttpClientOptions> = {}): HttpClient & { sleeps: number[] } {
  const sleeps: number[] = [];
  const client = createHttpClient({
    caCertificatePath: server.pki.caCert,
    followRedirects: 'none',
    timeoutMs: 5_000,
    retries: 0,
    userAgent: 'abbot-test/1.0',
    logger: silentLogger,
    sleep: async (ms) => void sleeps.push(ms),
    ...overrides,
  });
  clients.push(client);
  return Object.assign(client, { sleeps });
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof FetchError) return e;
    throw e;
  }
  throw new Error('expected the request to fail');
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

describe('TLS trust', () => {
  it('fetches over https when SoftwareRepoCACertificate names the issuing CA', async () => {
    const res = await makeClient().get(`${server.url}/catalogs/testing`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(CATALOG);
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('trusts the CAs in a SoftwareRepoCAPath folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abbot-capath-'));
    await copyFile(server.pki.caCert, join(dir, 'a1b2c3d4.0'));
    await writeFile(join(dir, 'README'), 'not a certificate');
    try {
      const client = makeClient({ caCertificatePath: undefined, caPath: dir });
      expect((await client.get(`${server.url}/catalogs/testing`)).status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails fast, without retrying, when the server certificate is not trusted', async () => {
    const client = makeClient({ caCertificatePath: undefined, retries: 3 });
    const error = await failure(client.get(`${server.url}/catalogs/testing`));
    expect(error.code).toBe('NETWORK');
    expect(error.reason).toBe('certificate');
    expect(error.message).toBe(
      `${server.url}/catalogs/testing: certificate not trusted (self-signed certificate in certificate chain); set SoftwareRepoCACertificate`,
    );
    expect(error.attempts).toBe(1);
    expect(client.sleeps).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('fails fast when the certificate is for another host', async () => {
    const other = await startTestServer({ root: repo, wrongHostCertificate: true });
    try {
      const client = makeClient({ retries: 3 });
      const error = await failure(client.get(`${other.url}/catalogs/testing`));
      expect(error.reason).toBe('certificate');
      expect(error.message).toContain('certificate does not match the host name');
      expect(client.sleeps).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('reports unreadable certificate files as CONFIG_INVALID naming the preference', () => {
    expect(() => makeClient({ caCertificatePath: '/nonexistent/ca.pem' })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('SoftwareRepoCACertificate /nonexistent/ca.pem'),
      }),
    );
  });
});

describe('client certificates (mutual TLS)', () => {
  let mtls: TestServer;
  beforeAll(async () => {
    mtls = await startTestServer({ root: repo, requireClientCertificate: true });
  });
  afterEach(() => mtls.resetRequests());
  afterAll(() => mtls.stop());

  it('connects when the server requires a client certificate and one is configured', async () => {
    const client = makeClient({
      clientCertificatePath: mtls.pki.clientCert,
      clientKeyPath: mtls.pki.clientKey,
    });
    const res = await client.get(`${mtls.url}/catalogs/testing`);
    expect(res.body.toString()).toBe(CATALOG);
  });

  it('reads the key from the certificate file when ClientKeyPath is not set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abbot-client-pem-'));
    const both = join(dir, 'client.pem');
    const { readFile } = await import('node:fs/promises');
    await writeFile(
      both,
      Buffer.concat([await readFile(mtls.pki.clientCert), await readFile(mtls.pki.clientKey)]),
    );
    try {
      const res = await makeClient({ clientCertificatePath: both }).get(
        `${mtls.url}/catalogs/testing`,
      );
      expect(res.status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails fast with a clear message when no client certificate is configured', async () => {
    const client = makeClient({ retries: 3 });
    const error = await failure(client.get(`${mtls.url}/catalogs/testing`));
    expect(error.reason).toBe('client-certificate');
    expect(error.message).toContain('server requires a client certificate');
    expect(error.hint).toContain('ClientCertificatePath');
    expect(client.sleeps).toEqual([]);
    expect(mtls.requests).toHaveLength(0);
  });

  it('points at the client certificate when the server hangs up on it', async () => {
    // Node's https closes the connection on an untrusted client certificate without a TLS alert,
    // so the client cannot tell it from a dropped connection: it retries, then says what to check.
    const client = makeClient({
      retries: 1,
      clientCertificatePath: mtls.pki.strangerCert,
      clientKeyPath: mtls.pki.strangerKey,
    });
    const error = await failure(client.get(`${mtls.url}/catalogs/testing`));
    expect(error.code).toBe('NETWORK');
    expect(error.message).toContain('connection closed by the server before it answered');
    expect(error.hint).toContain('ClientCertificatePath');
    expect(mtls.requests).toHaveLength(0);
  });

  it('rejects a key that does not belong to the certificate when the client is made', () => {
    expect(() =>
      makeClient({
        clientCertificatePath: mtls.pki.clientCert,
        clientKeyPath: mtls.pki.strangerKey,
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('request headers', () => {
  it('sends User-Agent and the well-formed AdditionalHttpHeaders, dropping the rest with a warning', async () => {
    const logger = memoryLogger();
    const client = makeClient({
      logger,
      additionalHeaders: [
        'X-Munki-Token: abc:def',
        'Authorization:   Basic Zm9vOmJhcg==  ',
        'no colon at all',
        ': value without a name',
        'X-Empty:',
        'Bad Name: value',
      ],
    });
    await client.get(`${server.url}/catalogs/testing`);
    const seen = server.requests[0]?.headers;
    expect(seen?.['user-agent']).toBe('abbot-test/1.0');
    expect(seen?.['x-munki-token']).toBe('abc:def');
    expect(seen?.authorization).toBe('Basic Zm9vOmJhcg==');
    expect(seen?.['x-empty']).toBeUndefined();
    const warnings = logger.entries.filter((e) => e.event === 'sync.http.header.ignored');
    expect(warnings.map((w) => w.fields?.index)).toEqual([2, 3, 4, 5]);
    // The dropped entries may hold secrets: the warning names their position only.
    const text = warnings.map((w) => w.message).join('\n');
    expect(text).not.toContain('without a name');
    expect(text).not.toContain('Bad Name');
  });

  it('lets AdditionalHttpHeaders override the User-Agent, as in Munki', async () => {
    await makeClient({ additionalHeaders: ['User-Agent: custom/2'] }).get(
      `${server.url}/catalogs/testing`,
    );
    expect(server.requests[0]?.headers['user-agent']).toBe('custom/2');
  });

  it('sends nothing beyond host, connection, user-agent and what the caller asked for', async () => {
    await makeClient().get(`${server.url}/catalogs/testing`, {
      headers: { 'If-None-Match': '"x"' },
    });
    const names = (server.requests[0]?.rawHeaders ?? []).filter((_, i) => i % 2 === 0);
    expect(names.map((n) => n.toLowerCase()).sort()).toEqual([
      'connection',
      'host',
      'if-none-match',
      'user-agent',
    ]);
  });
});

describe('redirects', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer({ root: repo, http: true });
  });
  afterAll(() => plain.stop());

  it('treats a redirect as an error naming the URL and Location when FollowHTTPRedirects is none', async () => {
    server.setRoute('/catalogs/moved', routes.redirect('/catalogs/testing', 301));
    const error = await failure(makeClient().get(`${server.url}/catalogs/moved`));
    expect(error.code).toBe('HTTP_STATUS');
    expect(error.status).toBe(301);
    expect(error.reason).toBe('redirect');
    expect(error.message).toContain(
      `${server.url}/catalogs/moved: HTTP 301 redirect to ${server.url}/catalogs/testing`,
    );
    expect(error.message).toContain('FollowHTTPRedirects is none');
  });

  it('follows a redirect to https when FollowHTTPRedirects is https', async () => {
    server.setRoute('/catalogs/moved', routes.redirect('/catalogs/testing'));
    const res = await makeClient({ followRedirects: 'https' }).get(`${server.url}/catalogs/moved`);
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${server.url}/catalogs/testing`);
    expect(res.body.toString()).toBe(CATALOG);
  });

  it('refuses a redirect to http when FollowHTTPRedirects is https', async () => {
    server.setRoute('/catalogs/moved', routes.redirect(`${plain.url}/catalogs/testing`));
    const error = await failure(
      makeClient({ followRedirects: 'https' }).get(`${server.url}/catalogs/moved`),
    );
    expect(error.reason).toBe('redirect');
    expect(error.message).toContain(`redirect to ${plain.url}/catalogs/testing`);
    expect(plain.requests).toHaveLength(0);
  });

  it('follows a redirect to http when FollowHTTPRedirects is all, without the credentials', async () => {
    server.setRoute('/catalogs/moved', routes.redirect(`${plain.url}/catalogs/testing`, 307));
    const client = makeClient({
      followRedirects: 'all',
      additionalHeaders: ['Authorization: Bearer repo-token', 'X-Site: lab'],
    });
    const res = await client.get(`${server.url}/catalogs/moved`);
    expect(res.body.toString()).toBe(CATALOG);
    expect(server.requests[0]?.headers.authorization).toBe('Bearer repo-token');
    // Another origin: the repo's credentials stay behind, other headers travel.
    expect(plain.requests[0]?.headers.authorization).toBeUndefined();
    expect(plain.requests[0]?.headers['x-site']).toBe('lab');
  });

  it('gives up after 10 redirects', async () => {
    server.setRoute('/loop', routes.redirect('/loop'));
    const error = await failure(makeClient({ followRedirects: 'all' }).get(`${server.url}/loop`));
    expect(error.reason).toBe('redirect');
    expect(error.message).toContain('more than 10 redirects');
    expect(server.requests).toHaveLength(10);
  });
});

describe('retries', () => {
  it('retries a 500 and returns the answer that follows', async () => {
    server.setRoute(
      '/catalogs/testing',
      routes.sequence(routes.status(500), (_req, _res, ctx) => ctx.serveStatic()),
    );
    const client = makeClient({ retries: 3, retryDelayMs: 500 });
    const res = await client.get(`${server.url}/catalogs/testing`);
    expect(res.status).toBe(200);
    expect(client.sleeps).toEqual([500]);
    expect(server.requests).toHaveLength(2);
  });

  it('backs off exponentially and then fails with HTTP_STATUS 500', async () => {
    server.setRoute('/catalogs/testing', routes.status(500));
    const logger = memoryLogger();
    const client = makeClient({ retries: 3, retryDelayMs: 500, logger });
    const error = await failure(client.get(`${server.url}/catalogs/testing`));
    expect(error.code).toBe('HTTP_STATUS');
    expect(error.status).toBe(500);
    expect(error.message).toBe(`${server.url}/catalogs/testing: HTTP 500 Internal Server Error`);
    expect(error.attempts).toBe(4);
    expect(client.sleeps).toEqual([500, 1000, 2000]);
    expect(server.requests).toHaveLength(4);
    expect(logger.entries.filter((e) => e.event === 'sync.http.retry')).toHaveLength(3);
  });

  it('does not retry a 404', async () => {
    const client = makeClient({ retries: 3 });
    const error = await failure(client.get(`${server.url}/catalogs/nope`));
    expect(error.code).toBe('HTTP_STATUS');
    expect(error.status).toBe(404);
    expect(error.message).toBe(`${server.url}/catalogs/nope: HTTP 404 Not Found`);
    expect(client.sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [522, true],
    [429, true],
    [408, true],
    [501, false],
    [505, false],
    [400, false],
    [403, false],
    [404, false],
    [410, false],
  ])('treats HTTP %i as retryable: %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it('retries a refused connection, then fails with NETWORK "connection refused"', async () => {
    const port = await closedPort();
    // Real (tiny) sleeps: the default sleep is what runs in production.
    const client = makeClient({ retries: 2, retryDelayMs: 1, sleep: undefined });
    const error = await failure(client.get(`https://127.0.0.1:${port}/catalogs/testing`));
    expect(error.code).toBe('NETWORK');
    expect(error.reason).toBe('refused');
    expect(error.message).toBe(`https://127.0.0.1:${port}/catalogs/testing: connection refused`);
    expect(error.attempts).toBe(3);
  });

  it('retries a connection the server closes without answering', async () => {
    server.setRoute(
      '/catalogs/testing',
      routes.sequence(routes.hangUp(), (_req, _res, ctx) => ctx.serveStatic()),
    );
    const client = makeClient({ retries: 1 });
    expect((await client.get(`${server.url}/catalogs/testing`)).status).toBe(200);
    expect(client.sleeps).toHaveLength(1);
  });

  it('stops waiting when the caller aborts', async () => {
    server.setRoute('/catalogs/testing', routes.status(503));
    const controller = new AbortController();
    const client = makeClient({
      retries: 5,
      retryDelayMs: 60_000,
      sleep: undefined,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(
      client.get(`${server.url}/catalogs/testing`, { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('timeouts and broken bodies', () => {
  it('times out a server that does not answer', async () => {
    server.setRoute('/catalogs/testing', routes.delay(3_000));
    const error = await failure(
      makeClient({ timeoutMs: 200 }).get(`${server.url}/catalogs/testing`),
    );
    expect(error.code).toBe('NETWORK');
    expect(error.reason).toBe('timeout');
    expect(error.message).toContain('no response within 0.2 s');
  });

  it('detects a body cut short of its Content-Length', async () => {
    server.setRoute('/catalogs/testing', routes.truncated('x'.repeat(100), 1_000));
    const error = await failure(makeClient().get(`${server.url}/catalogs/testing`));
    expect(error.code).toBe('NETWORK');
    expect(error.reason).toBe('truncated');
    expect(error.message).toContain('connection closed after 100 bytes');
  });

  it('refuses a body larger than the cap', async () => {
    const error = await failure(
      makeClient({ maxBodyBytes: 1_000 }).get(`${server.url}/catalogs/big`),
    );
    expect(error.reason).toBe('too-large');
    expect(error.isRetryable).toBe(false);
  });
});

describe('URLs and plain http', () => {
  it('redacts userinfo in error messages and sends it as Basic auth', async () => {
    const url = server.url.replace('https://', 'https://admin:s3cret@') + '/catalogs/nope';
    const error = await failure(makeClient().get(url));
    expect(error.message).not.toContain('s3cret');
    expect(error.url).toBe(server.url.replace('https://', 'https://***@') + '/catalogs/nope');
    expect(server.requests[0]?.headers.authorization).toBe(
      'Basic ' + Buffer.from('admin:s3cret').toString('base64'),
    );
  });

  it('works over http but warns once per host', async () => {
    const plain = await startTestServer({ root: repo, http: true });
    try {
      const logger = memoryLogger();
      const client = makeClient({ logger });
      await client.get(`${plain.url}/catalogs/testing`);
      const res = await client.get(`${plain.url}/catalogs/testing`);
      expect(res.body.toString()).toBe(CATALOG);
      const warnings = logger.entries.filter((e) => e.event === 'sync.http.insecure');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toContain(`localhost:${plain.port}`);
    } finally {
      await plain.stop();
    }
  });

  it('refuses URLs that are not http(s)', async () => {
    const error = await failure(makeClient().get('file:///etc/passwd'));
    expect(error.message).toContain('not an http(s) URL');
  });
});

describe('HEAD and streaming', () => {
  it('answers HEAD with headers and an empty body', async () => {
    const res = await makeClient().get(`${server.url}/catalogs/big`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('100000');
    expect(res.body.length).toBe(0);
  });

  it('streams a Range request as 206', async () => {
    const res = await makeClient().stream(`${server.url}/catalogs/big`, {
      headers: { range: 'bytes=99990-' },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 99990-99999/100000');
    expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(10, 7));
  });

  it('words an error from a streamed body like get() does', async () => {
    server.setRoute('/catalogs/big', routes.truncated(Buffer.alloc(500, 1), 100_000));
    const client = makeClient();
    const url = `${server.url}/catalogs/big`;
    const res = await client.stream(url);
    let received = 0;
    const error = await failure(
      (async () => {
        try {
          for await (const chunk of res.body) received += (chunk as Buffer).length;
        } catch (e) {
          throw client.toFetchError(url, e, received);
        }
      })(),
    );
    expect(error.reason).toBe('truncated');
    expect(error.message).toBe(`${url}: connection closed after 500 bytes of the body`);
  });

  it('throws FetchError from stream for an error status', async () => {
    const error = await failure(makeClient().stream(`${server.url}/nope`));
    expect(error.status).toBe(404);
  });
});
