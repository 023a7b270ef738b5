/**
 * `repo serve` as HTTP clients see it: a real HTTPS server on a free port, asked with node:https
 * (raw request paths, so `..` reaches the server as sent) for full, conditional and partial GETs,
 * HEAD, traversal and symlinks out of the repo, folders, dot-files and Basic authentication.
 */
import { mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../../lib/log.js';
import { runRepoCli } from '../../repo-tools/cli.js';
import { startServe, type ServeSession } from '../../repo-tools/commands/serve.js';
import { repoCli } from '../helpers/cli.js';
import { testPki, type TestPki } from '../helpers/https-server.js';
import { makeRepo, removeRepo } from '../helpers/make-repo.js';
import { requestOnce } from './serve-test-client.js';

let repo: string;
let outside: string;
let pki: TestPki;
let session: ServeSession;
const log: string[] = [];
const pkg = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  requestOnce(session.server.port, caPem, path, headers, method);
let caPem: Buffer;

beforeAll(async () => {
  pki = await testPki();
  caPem = await readFile(pki.caCert);
  repo = await makeRepo({
    catalogs: { all: [] },
    manifests: { site_default: { catalogs: ['production'] } },
    pkgs: { 'apps/Tool-1.0.pkg': pkg, 'apps/.DS_Store': 'x' },
    icons: { 'Tool.png': 'png' },
  });
  outside = await mkdtemp(join(tmpdir(), 'abbot-outside-'));
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await symlink(join(outside, 'secret.txt'), join(repo, 'pkgs', 'leak.txt'));
  await symlink(join(repo, 'pkgs/apps/Tool-1.0.pkg'), join(repo, 'pkgs', 'inside.pkg'));
  await utimes(
    join(repo, 'pkgs/apps/Tool-1.0.pkg'),
    new Date('2026-01-02T03:04:05Z'),
    new Date('2026-01-02T03:04:05Z'),
  );
  session = await startServe({
    repo,
    port: '0',
    host: '127.0.0.1',
    cert: pki.serverCert,
    key: pki.serverKey,
    env: {},
    out: (line) => log.push(line),
    logger: memoryLogger(),
  });
});
afterAll(async () => {
  await session?.server.close();
  await removeRepo(repo);
  await rm(outside, { recursive: true, force: true });
});

describe('repo serve', () => {
  it('serves a file with its validators and type', async () => {
    const r = await get('/pkgs/apps/Tool-1.0.pkg');
    expect(r.status).toBe(200);
    expect(r.body.equals(pkg)).toBe(true);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-length']).toBe('1000');
    expect(r.headers['accept-ranges']).toBe('bytes');
    // nginx's form: hex mtime and size.
    expect(r.headers['etag']).toBe(
      `"${(Date.parse('2026-01-02T03:04:05Z') / 1000).toString(16)}-3e8"`,
    );
    expect(r.headers['last-modified']).toBe('Fri, 02 Jan 2026 03:04:05 GMT');
  });

  it.each([
    ['/catalogs/all', 'application/octet-stream'],
    ['/manifests/site_default', 'application/octet-stream'],
    ['/icons/Tool.png', 'image/png'],
  ])('answers %s as %s', async (path, type) => {
    const r = await get(path);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(type);
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const { headers } = await get('/pkgs/apps/Tool-1.0.pkg');
    const r = await get('/pkgs/apps/Tool-1.0.pkg', { 'if-none-match': headers['etag']! });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expect(r.headers['etag']).toBe(headers['etag']);
  });

  it('answers 304 to If-Modified-Since not older than the file, 200 otherwise', async () => {
    const path = '/pkgs/apps/Tool-1.0.pkg';
    expect((await get(path, { 'if-modified-since': 'Fri, 02 Jan 2026 03:04:05 GMT' })).status).toBe(
      304,
    );
    expect((await get(path, { 'if-modified-since': 'Fri, 02 Jan 2026 03:04:04 GMT' })).status).toBe(
      200,
    );
  });

  it('answers a Range request with 206 and Content-Range', async () => {
    const r = await get('/pkgs/apps/Tool-1.0.pkg', { range: 'bytes=100-199' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 100-199/1000');
    expect(r.body.equals(pkg.subarray(100, 200))).toBe(true);
  });

  it('answers an open-ended and a suffix range', async () => {
    expect(
      (await get('/pkgs/apps/Tool-1.0.pkg', { range: 'bytes=990-' })).body.equals(
        pkg.subarray(990),
      ),
    ).toBe(true);
    const suffix = await get('/pkgs/apps/Tool-1.0.pkg', { range: 'bytes=-10' });
    expect(suffix.headers['content-range']).toBe('bytes 990-999/1000');
  });

  it('answers 416 to a range past the end', async () => {
    const r = await get('/pkgs/apps/Tool-1.0.pkg', { range: 'bytes=1000-' });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */1000');
  });

  it('resumes only when If-Range still names this version', async () => {
    const { headers } = await get('/pkgs/apps/Tool-1.0.pkg');
    const same = await get('/pkgs/apps/Tool-1.0.pkg', {
      range: 'bytes=500-',
      'if-range': headers['etag']!,
    });
    expect(same.status).toBe(206);
    const stale = await get('/pkgs/apps/Tool-1.0.pkg', {
      range: 'bytes=500-',
      'if-range': '"0-0"',
    });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(1000);
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await get('/pkgs/apps/Tool-1.0.pkg', {}, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('1000');
    expect(r.body.length).toBe(0);
  });

  it('refuses methods other than GET and HEAD', async () => {
    const r = await get('/catalogs/all', {}, 'DELETE');
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('GET, HEAD');
  });

  it.each([
    ['/../etc/passwd', 403],
    ['/pkgs/../../etc/passwd', 403],
    ['/pkgs/%2e%2e/%2e%2e/etc/passwd', 403],
    ['/pkgs%2f..%2f..%2fetc%2fpasswd', 403],
    ['/pkgs/..%5c..%5cetc', 403],
    ['/pkgs/%zz', 400],
  ])('refuses the traversal %s with %i', async (path, status) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    expect(r.body.toString()).not.toMatch(/root:/);
  });

  it('refuses a symlink that leads out of the repo, and follows one that stays inside', async () => {
    const out = await get('/pkgs/leak.txt');
    expect(out.status).toBe(404);
    expect(out.body.toString()).not.toContain('secret');
    expect((await get('/pkgs/inside.pkg')).status).toBe(200);
  });

  it.each([
    '/',
    '/pkgs/',
    '/pkgs',
    '/pkgs/apps/.DS_Store',
    '/manifests/.abbot-manifest.lock',
    '/nothing',
  ])('answers %s with 404 (no listings, no dot-files)', async (path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe('not found\n');
  });

  it('writes one Common Log Format line per request', async () => {
    log.splice(0);
    await get('/pkgs/apps/Tool-1.0.pkg', { range: 'bytes=0-9' });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/pkgs\/apps\/Tool-1\.0\.pkg HTTP\/1\.1" 206 10$/,
    );
  });
});

describe('repo serve --auth', () => {
  let authed: ServeSession;
  beforeAll(async () => {
    authed = await startServe({
      repo,
      port: '0',
      host: '127.0.0.1',
      cert: pki.serverCert,
      key: pki.serverKey,
      auth: 'munki:s3cret:with:colons',
      env: {},
      out: () => {},
      logger: memoryLogger(),
    });
  });
  afterAll(() => authed.server.close());

  const ask = (authorization?: string) =>
    requestOnce(authed.server.port, caPem, '/catalogs/all', authorization ? { authorization } : {});
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('asks for credentials with 401 and WWW-Authenticate', async () => {
    const r = await ask();
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="Abbot repo", charset="UTF-8"');
  });

  it('refuses a wrong password and accepts the right one', async () => {
    expect((await ask(basic('munki:wrong'))).status).toBe(401);
    expect((await ask(basic('munki:s3cret:with:colons'))).status).toBe(200);
  });
});

describe('repo serve bad input', () => {
  it.each([
    [['--port', 'http'], /--port http: not a port number/],
    [['--port', '70000'], /--port 70000: not a port number/],
    [['--tls', '--cert', 'c.pem', '--key', 'k.pem'], /either --tls or --cert and --key/],
    [['--cert', 'c.pem'], /--cert and --key go together/],
    [['--auth', 'nopassword'], /--auth takes USER:PASSWORD/],
    [
      ['--cert', '/nonexistent/c.pem', '--key', '/nonexistent/k.pem'],
      /--cert \/nonexistent\/c.pem: ENOENT/,
    ],
  ])('refuses %j with exit 2', async (args, message) => {
    const r = await repoCli(['serve', repo, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a key that is not a PEM file', async () => {
    const r = await repoCli([
      'serve',
      repo,
      '--cert',
      pki.serverCert,
      '--key',
      join(repo, 'catalogs/all'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--key .*catalogs\/all: not a PEM file/);
  });

  it('says which folder is missing when REPO is not a repo', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'abbot-notrepo-'));
    const r = await repoCli(['serve', empty, '--port', '0']);
    await rm(empty, { recursive: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a Munki repo \(catalogs\/ is missing\)/);
  });
});

describe('repo serve from the command line', () => {
  it('serves until SIGTERM, printing where it listens and a log line per request', async () => {
    let stdout = '';
    const io = { write: (s: string) => (stdout += s) };
    const args = ['serve', repo, '--port', '0', '--host', '127.0.0.1'];
    const running = runRepoCli([...args, '--cert', pki.serverCert, '--key', pki.serverKey], {
      stdout: io,
      stderr: io,
      env: {},
      cwd: repo,
    });
    await vi.waitFor(() => expect(stdout).toMatch(/^Serving .* at https:\/\/localhost:\d+\//));
    const port = Number(/localhost:(\d+)/.exec(stdout)![1]);
    expect((await requestOnce(port, caPem, '/catalogs/all')).status).toBe(200);
    // The test process has no signal handlers of its own, so this reaches only the server's.
    expect(process.listenerCount('SIGTERM')).toBe(1);
    process.emit('SIGTERM', 'SIGTERM');
    expect(await running).toBe(0);
    expect(stdout).toMatch(/"GET \/catalogs\/all HTTP\/1\.1" 200 \d+\nStopped\.\n$/);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });
});
