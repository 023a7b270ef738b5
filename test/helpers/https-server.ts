/**
 * A real loopback HTTPS (or HTTP) server for sync tests: serves a repo folder with strong ETags,
 * Last-Modified, conditional GETs, single Range requests and HEAD; lets a test take over any path
 * to inject failures; and counts bytes per connection at the socket, so tests can assert what a
 * request really costs on the wire.
 *
 * Its certificates come from a throwaway PKI made with the openssl CLI once per test process.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of the test PKI's PEM files. */
export interface TestPki {
  dir: string;
  /** CA that issued the server certificate. */
  caCert: string;
  /** Server certificate for `localhost` and 127.0.0.1, and its key. */
  serverCert: string;
  serverKey: string;
  /** A certificate from the same CA for another host (other.example), and its key. */
  otherHostCert: string;
  otherHostKey: string;
  /** A separate CA for client certificates, as sites usually have. */
  clientCaCert: string;
  /** Client certificate (CN abbot-client) issued by the client CA, and its key. */
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not know. */
  strangerCert: string;
  strangerKey: string;
}

let pkiPromise: Promise<TestPki> | undefined;

/** The test PKI, generated on first use in this process (EC P-256 keys: fast) and deleted at exit. */
export function testPki(): Promise<TestPki> {
  pkiPromise ??= makePki();
  return pkiPromise;
}

async function makePki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'abbot-test-pki-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const p = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string, cn: string) =>
    // prettier-ignore
    run('openssl', [
      'req', '-x509', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`),
      '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const issue = async (name: string, cn: string, ca: string, ext: string): Promise<void> => {
    // prettier-ignore
    await run('openssl', ['req', '-new', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await writeFile(p(`${name}.ext`), ext);
    // A random positive serial: certificates from the same CA must not share one.
    const serial = '0x1' + randomBytes(8).toString('hex');
    // prettier-ignore
    await run('openssl', [
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${ca}.pem`), '-CAkey', p(`${ca}.key`),
      '-set_serial', serial, '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`),
    ]);
  };
  await Promise.all([
    makeCa('ca', 'Abbot Test CA'),
    makeCa('client-ca', 'Abbot Test Client CA'),
    makeCa('stranger-ca', 'Unknown CA'),
  ]);
  await Promise.all([
    issue(
      'server',
      'localhost',
      'ca',
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
    ),
    issue(
      'other-host',
      'other.example',
      'ca',
      'subjectAltName=DNS:other.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    ),
    issue(
      'client',
      'abbot-client',
      'client-ca',
      'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
    ),
    issue(
      'stranger',
      'stranger',
      'stranger-ca',
      'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
    ),
  ]);
  return {
    dir,
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    otherHostCert: p('other-host.pem'),
    otherHostKey: p('other-host.key'),
    clientCaCert: p('client-ca.pem'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
  };
}

/** What a route handler gets besides the request and response. */
export interface RouteContext {
  /** Answers as the static file server would (the repo folder, conditional GET, Range, HEAD). */
  serveStatic(): Promise<void>;
  /** How many times this route has been hit, counting this request (1 for the first). */
  hit: number;
}

/** A test's own answer for a path. */
export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RouteContext,
) => void | Promise<void>;

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** The raw request target, exactly as sent (still percent-encoded). */
  url: string;
  headers: IncomingHttpHeaders;
  /** Header names and values in the order and case sent. */
  rawHeaders: string[];
  /** Which connection (index into `connections()`) carried it. */
  connection: number;
}

/** Byte counts of one TCP connection, read from the raw socket (TLS records included). */
export interface ConnectionStats {
  id: number;
  bytesRead: number;
  bytesWritten: number;
  requests: number;
  /** Set when the TLS handshake completed. */
  isSecure: boolean;
}

/** Options for `startTestServer`. */
export interface TestServerOptions {
  /** Folder served as the repo (paths map onto it; `..` is refused). Without it only routes answer. */
  root?: string;
  /** Plain HTTP instead of HTTPS. */
  http?: boolean;
  /** Require a client certificate issued by the test client CA. */
  requireClientCertificate?: boolean;
  /** Present the certificate for other.example instead of the one for localhost. */
  wrongHostCertificate?: boolean;
}

/** A running test server. */
export interface TestServer {
  /** Base URL without trailing slash, e.g. `https://localhost:54321`. */
  url: string;
  port: number;
  pki: TestPki;
  requests: RecordedRequest[];
  /** Answers `path` (the pathname as sent, without query) with `handler` instead of the repo. */
  setRoute(path: string, handler: RouteHandler): void;
  clearRoutes(): void;
  /** Per-connection byte counters, live. */
  connections(): ConnectionStats[];
  /** Sum of all connections' raw bytes: `in` read by the server, `out` written by it. */
  wireBytes(): { in: number; out: number };
  /** Forgets recorded requests (connection counters keep running). */
  resetRequests(): void;
  stop(): Promise<void>;
}

/** Starts a server on 127.0.0.1 with a random port. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const pki = await testPki();
  const routes = new Map<string, { handler: RouteHandler; hits: number }>();
  const requests: RecordedRequest[] = [];
  const raw: Socket[] = [];
  const stats: ConnectionStats[] = [];
  const connectionOf = new WeakMap<Socket, number>();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    // For TLS the request's socket wraps the raw one; its index was recorded on the raw socket.
    const parent = (socket as TLSSocket & { _parent?: Socket })._parent;
    const id = connectionOf.get(socket) ?? (parent ? connectionOf.get(parent) : undefined) ?? -1;
    const entry = stats[id];
    if (entry) entry.requests++;
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      connection: id,
    });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes.get(path);
    const serveStatic = (): Promise<void> => serveFile(options.root, req, res);
    const handle = async (): Promise<void> => {
      if (route) {
        route.hits++;
        await route.handler(req, res, { serveStatic, hit: route.hits });
      } else {
        await serveStatic();
      }
    };
    handle().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
  };

  let server: http.Server | https.Server;
  if (options.http) {
    server = http.createServer(onRequest);
  } else {
    const [key, cert, ca, clientCa] = await Promise.all([
      readFile(options.wrongHostCertificate ? pki.otherHostKey : pki.serverKey),
      readFile(options.wrongHostCertificate ? pki.otherHostCert : pki.serverCert),
      readFile(pki.caCert),
      readFile(pki.clientCaCert),
    ]);
    server = https.createServer(
      {
        key,
        // The chain includes the root, as many real servers send it: an untrusting client then
        // reports "self-signed certificate in certificate chain".
        cert: Buffer.concat([cert, ca]),
        ...(options.requireClientCertificate
          ? { ca: clientCa, requestCert: true, rejectUnauthorized: true }
          : {}),
      },
      onRequest,
    );
    server.on('secureConnection', (socket: TLSSocket) => {
      const parent = (socket as TLSSocket & { _parent?: Socket })._parent;
      const id = parent ? connectionOf.get(parent) : undefined;
      const entry = id === undefined ? undefined : stats[id];
      if (entry) entry.isSecure = true;
    });
    // Refused handshakes are part of what tests provoke; keep them out of the test output.
    server.on('tlsClientError', () => {});
  }
  server.on('connection', (socket: Socket) => {
    const id = raw.length;
    raw.push(socket);
    connectionOf.set(socket, id);
    stats.push({ id, bytesRead: 0, bytesWritten: 0, requests: 0, isSecure: false });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const live = (): ConnectionStats[] =>
    stats.map((s, i) => ({
      ...s,
      bytesRead: raw[i]?.bytesRead ?? 0,
      bytesWritten: raw[i]?.bytesWritten ?? 0,
    }));

  return {
    url: `${options.http ? 'http' : 'https'}://localhost:${port}`,
    port,
    pki,
    requests,
    setRoute: (path, handler) => void routes.set(path, { handler, hits: 0 }),
    clearRoutes: () => routes.clear(),
    connections: live,
    wireBytes: () =>
      live().reduce((sum, c) => ({ in: sum.in + c.bytesRead, out: sum.out + c.bytesWritten }), {
        in: 0,
        out: 0,
      }),
    resetRequests: () => void requests.splice(0),
    stop: async () => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      for (const socket of raw) socket.destroy();
      await closed;
    },
  };
}

/** Ready-made route handlers for the failures tests inject. */
export const routes = {
  /** Answers with `status` and a short text body. */
  status:
    (status: number, body = `status ${status}\n`): RouteHandler =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    },
  /** Redirects to `location` (absolute or relative) with `status`. */
  redirect:
    (location: string, status = 302): RouteHandler =>
    (_req, res) => {
      res.writeHead(status, { location, 'content-length': '0' }).end();
    },
  /** Waits `ms` before letting `then` (default: the static file) answer. */
  delay:
    (ms: number, then?: RouteHandler): RouteHandler =>
    async (req, res, ctx) => {
      await new Promise((done) => setTimeout(done, ms));
      if (res.destroyed) return;
      await (then ? then(req, res, ctx) : ctx.serveStatic());
    },
  /** Declares `declaredLength` bytes, sends only `body`, then drops the connection mid-body. */
  truncated:
    (body: string | Uint8Array, declaredLength: number): RouteHandler =>
    (req, res) => {
      res.writeHead(200, { 'content-length': String(declaredLength) });
      res.write(body, () => setTimeout(() => req.socket.destroy(), 20));
    },
  /** Closes the connection without answering. */
  hangUp: (): RouteHandler => (req) => {
    req.socket.destroy();
  },
  /** The n-th hit is answered by the n-th handler; the last one answers all later hits. */
  sequence:
    (...handlers: RouteHandler[]): RouteHandler =>
    (req, res, ctx) => {
      const handler = handlers[Math.min(ctx.hit, handlers.length) - 1];
      if (!handler) throw new Error('routes.sequence needs at least one handler');
      return handler(req, res, ctx);
    },
};

/** Strong ETag for a file's bytes: a quoted prefix of their SHA-256. */
export function etagFor(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
}

async function serveFile(
  root: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const target = root ? resolveUnder(root, req.url ?? '/') : undefined;
  const info = target ? await stat(target).catch(() => undefined) : undefined;
  if (!target || !info?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const body = await readFile(target);
  const etag = etagFor(body);
  const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();
  const validators = { etag, 'last-modified': lastModified };
  if (isNotModified(req, etag, info.mtimeMs)) {
    res.writeHead(304, validators).end();
    return;
  }
  const range = parseRange(req.headers.range, body.length);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    return;
  }
  const [start, end] = range ?? [0, body.length - 1];
  const slice = body.subarray(start, end + 1);
  res.writeHead(range ? 206 : 200, {
    ...validators,
    'accept-ranges': 'bytes',
    'content-length': String(slice.length),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}),
  });
  res.end(method === 'HEAD' ? undefined : slice);
}

/** The file a request path names under `root`, or undefined if it would leave it. */
function resolveUnder(root: string, url: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent((url.split('?')[0] ?? '/').replace(/^\/+/, ''));
  } catch {
    return undefined;
  }
  const base = resolve(root);
  const full = resolve(base, path);
  return full.startsWith(base + sep) ? full : undefined;
}

function isNotModified(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    // RFC 9110 §13.1.2: weak comparison; If-Modified-Since is ignored when If-None-Match is present.
    const tags = inm.split(',').map((t) => t.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(etag);
  }
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  // A single range only; anything else is answered with the whole body, as RFC 9110 allows.
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}
