/**
 * `repo serve`: serves a Munki repo over HTTPS (or plain HTTP) for a small site or a demo, until
 * SIGINT or SIGTERM. With `--tls` a CA and a server certificate are made on first use and the CA's
 * path printed for the clients' SoftwareRepoCACertificate; `--cert`/`--key` use an admin's own.
 * Bigger sites serve the same folder with nginx or a CDN (docs/serving.md).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { assertRepo } from '../file-repo.js';
import { basicAuthCheck, parseCredentials } from '../serve/basic-auth.js';
import { startRepoServer, type RunningRepoServer } from '../serve/repo-server.js';
import { ensureServeTls, serveTlsDir } from '../serve/tls-material.js';

/** What `repo serve` was asked to do. */
export interface ServeOptions {
  repo: string;
  /** Port text from the command line (default 8443 with TLS, 8080 without). */
  port?: string | undefined;
  host?: string | undefined;
  /** Generate (or reuse) a CA and server certificate. */
  isTls?: boolean;
  cert?: string | undefined;
  key?: string | undefined;
  /** `user:password` for Basic authentication. */
  auth?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Prints a line to stdout (the banner and, unless quiet, the access log). */
  out: (line: string) => void;
  isQuiet?: boolean;
  logger: Logger;
}

/** A running `repo serve`. */
export interface ServeSession {
  server: RunningRepoServer;
  /** The CA clients should trust, when the certificates were generated. */
  caCert?: string;
}

/** Checks the options, prepares TLS and starts the server; prints where it listens. */
export async function startServe(options: ServeOptions): Promise<ServeSession> {
  const root = resolve(options.repo);
  assertRepo(root, ['catalogs', 'manifests']);
  const isHttps = options.isTls === true || options.cert !== undefined;
  const port = parsePort(options.port, isHttps ? 8443 : 8080);
  if (options.isTls && (options.cert !== undefined || options.key !== undefined)) {
    throw new AppError('USAGE', 'use either --tls or --cert and --key, not both');
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new AppError('USAGE', '--cert and --key go together');
  }
  const auth = options.auth === undefined ? undefined : parseCredentials(options.auth);

  let tls: { cert: Uint8Array; key: Uint8Array } | undefined;
  let caCert: string | undefined;
  if (options.isTls) {
    const files = await ensureServeTls(serveTlsDir(options.env));
    if (files.isNew)
      options.out(`Made a CA and a server certificate in ${resolve(files.caCert, '..')}`);
    tls = { cert: await readFile(files.cert), key: await readFile(files.key) };
    caCert = files.caCert;
  } else if (options.cert !== undefined && options.key !== undefined) {
    tls = { cert: await readPem(options.cert, '--cert'), key: await readPem(options.key, '--key') };
  }
  if (!isHttps) {
    options.logger.warn(
      'serve.plain-http',
      'WARNING: serving plain HTTP: anyone on the network can read and alter what Macs install; use --tls',
    );
  }
  const server = await startRepoServer({
    root,
    port,
    host: options.host,
    tls,
    auth: auth && basicAuthCheck(auth.user, auth.password),
    log: options.isQuiet ? undefined : options.out,
  }).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new AppError('USAGE', `cannot listen on port ${port}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (String(code).startsWith('ERR_OSSL')) {
      throw new AppError('USAGE', `--cert/--key: ${(e as Error).message}`, {
        hint: 'pass a PEM certificate (chain) and the private key that belongs to it',
        cause: e,
      });
    }
    throw e;
  });
  options.out(`Serving ${root} at ${server.url}/ (Ctrl-C to stop)`);
  if (caCert) options.out(`Clients trust it with SoftwareRepoCACertificate = ${caCert}`);
  return caCert ? { server, caCert } : { server };
}

/** Runs `repo serve` until `stop` is aborted (the CLI aborts it on SIGINT or SIGTERM). */
export async function runServe(options: ServeOptions, stop: AbortSignal): Promise<number> {
  const { server } = await startServe(options);
  await new Promise<void>((done) => {
    if (stop.aborted) done();
    else stop.addEventListener('abort', () => done(), { once: true });
  });
  await server.close();
  options.out('Stopped.');
  return 0;
}

function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new AppError('USAGE', `--port ${text}: not a port number (0-65535)`);
  }
  return port;
}

async function readPem(path: string, flag: string): Promise<Uint8Array> {
  const bytes = await readFile(path).catch((e: unknown) => {
    throw new AppError('USAGE', `${flag} ${path}: ${(e as Error).message}`, { cause: e });
  });
  if (!Buffer.from(bytes).toString('latin1').includes('-----BEGIN ')) {
    throw new AppError('USAGE', `${flag} ${path}: not a PEM file`);
  }
  return bytes;
}
