/**
 * docs/nginx/abbot-repo.conf as admins use it, run by Debian's nginx: the file is rendered into a
 * temporary prefix (a free port, the test CA's server certificate, the repo folder, logs and
 * temp files under the prefix, so no root and no /etc are needed), nginx runs in the foreground,
 * and a real `abbot run --auto` checks in and installs into a sandbox against it. Skipped only
 * when /usr/sbin/nginx is absent (CI installs it).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../lib/log.js';
import { runCommand, type CommandResult } from '../../lib/run-command.js';
import { makeCatalogs } from '../../repo-tools/commands/makecatalogs.js';
import { testPki, type TestPki } from '../helpers/https-server.js';
import { checkInAndInstallExample, requestOnce } from '../repo-tools/serve-test-client.js';

const NGINX = '/usr/sbin/nginx';
const CONF = fileURLToPath(new URL('../../docs/nginx/abbot-repo.conf', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/repo', import.meta.url));

let prefix: string;
let repo: string;
let port: number;
let pki: TestPki;
let nginx: Promise<CommandResult> | undefined;
const cleanup: string[] = [];

/** Replaces `from` (which must occur exactly once, so a drifting config fails loudly) with `to`. */
function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const count =
    typeof from === 'string'
      ? text.split(from).length - 1
      : (text.match(new RegExp(from, 'g')) ?? []).length;
  if (count !== 1) throw new Error(`abbot-repo.conf: expected one ${String(from)}, found ${count}`);
  return text.replace(from, to);
}

/** The admin's config with this machine's paths, as an admin edits it before installing it. */
function renderSiteConfig(conf: string): string {
  let out = replaceOnce(conf, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
  out = replaceOnce(out, 'listen [::]:443 ssl;', '');
  out = replaceOnce(out, 'server_name munki.example.com;', 'server_name localhost;');
  out = replaceOnce(
    out,
    'ssl_certificate /etc/ssl/abbot/server.pem;',
    `ssl_certificate ${join(prefix, 'chain.pem')};`,
  );
  out = replaceOnce(
    out,
    'ssl_certificate_key /etc/ssl/abbot/server.key;',
    `ssl_certificate_key ${pki.serverKey};`,
  );
  out = replaceOnce(out, 'root /srv/abbot/repo;', `root ${repo};`);
  return replaceOnce(
    out,
    'access_log /var/log/nginx/abbot-repo.access.log;',
    `access_log ${join(prefix, 'access.log')};`,
  );
}

/** The main config a distribution's nginx.conf would provide, pointed at the prefix. */
function mainConfig(): string {
  const p = (name: string): string => join(prefix, name);
  return [
    // As root, nginx's workers would otherwise drop to `nobody` and not read the temporary repo.
    process.getuid?.() === 0 ? `user ${userInfo().username};` : '',
    'worker_processes 1;',
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    'events { worker_connections 64; }',
    'http {',
    `  client_body_temp_path ${p('tmp/body')};`,
    `  proxy_temp_path ${p('tmp/proxy')};`,
    `  fastcgi_temp_path ${p('tmp/fastcgi')};`,
    `  uwsgi_temp_path ${p('tmp/uwsgi')};`,
    `  scgi_temp_path ${p('tmp/scgi')};`,
    `  include ${p('abbot-repo.conf')};`,
    '}',
    '',
  ].join('\n');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port: free } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return free;
}

async function waitForPort(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const isOpen = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), done(true)));
      socket.on('error', () => done(false));
    });
    if (isOpen) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  const log = await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '');
  throw new Error(`nginx did not start listening on ${port}: ${log}`);
}

let caPem: Buffer;
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  requestOnce(port, caPem, path, headers, method);

const conf = (...args: string[]) => [
  NGINX,
  '-p',
  prefix,
  '-c',
  join(prefix, 'nginx.conf'),
  ...args,
];

describe.skipIf(!existsSync(NGINX))('docs/nginx/abbot-repo.conf with nginx', () => {
  beforeAll(async () => {
    pki = await testPki();
    caPem = await readFile(pki.caCert);
    prefix = await mkdtemp(join(tmpdir(), 'abbot-nginx-'));
    repo = join(prefix, 'repo');
    cleanup.push(prefix);
    await cp(EXAMPLE, repo, { recursive: true });
    await writeFile(join(repo, 'pkgs', '.secret'), 'not for clients');
    await makeCatalogs({ repo, logger: memoryLogger(), cache: false });
    await mkdir(join(prefix, 'tmp'));
    port = await freePort();
    await writeFile(
      join(prefix, 'chain.pem'),
      Buffer.concat([await readFile(pki.serverCert), caPem]),
    );
    await writeFile(
      join(prefix, 'abbot-repo.conf'),
      renderSiteConfig(await readFile(CONF, 'utf8')),
    );
    await writeFile(join(prefix, 'nginx.conf'), mainConfig());
    const check = await runCommand(conf('-t'));
    expect(check.stderr).toMatch(/test is successful/);
    // Bounded, so a test run that dies cannot leave nginx running.
    nginx = runCommand(conf('-g', 'daemon off;'), { timeoutMs: 300_000 });
    await waitForPort();
  }, 60_000);

  afterAll(async () => {
    if (nginx) {
      await runCommand(conf('-s', 'quit'));
      await nginx;
    }
    for (const p of cleanup) await rm(p, { recursive: true, force: true });
  }, 30_000);

  it('serves a real check-in and install into a sandbox', async () => {
    cleanup.push(await checkInAndInstallExample(`https://localhost:${port}`, pki.caCert));
  });

  it('answers 304 to a conditional GET and 206 to a Range request', async () => {
    const path = '/pkgs/apps/HelloWorld-1.0.pkg';
    const full = await get(path);
    expect(full.status).toBe(200);
    expect(full.headers['content-type']).toBe('application/octet-stream');
    expect((await get(path, { 'if-none-match': full.headers['etag']! })).status).toBe(304);
    expect((await get(path, { 'if-modified-since': full.headers['last-modified']! })).status).toBe(
      304,
    );
    const part = await get(path, { range: 'bytes=10-19', 'if-range': full.headers['etag']! });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${full.body.length}`);
    expect(part.body.equals(full.body.subarray(10, 20))).toBe(true);
    expect((await get(path, { range: `bytes=${full.body.length}-` })).status).toBe(416);
  });

  it('lists no folders, shows no dot-files and accepts only reads', async () => {
    expect((await get('/pkgs/')).status).toBe(404);
    expect((await get('/pkgs')).status).toBe(404);
    expect((await get('/pkgs/.secret')).status).toBe(403);
    expect((await get('/../etc/passwd')).status).toBe(400);
    expect((await get('/catalogs/all', {}, 'DELETE')).status).toBe(403);
    expect((await get('/icons/HelloWorld.png')).headers['content-type']).toBe('image/png');
  });
});
