/**
 * The HTTP(S) server behind `repo serve`: static files from one folder, optional Basic
 * authentication, and one access-log line per request. Closing it stops new connections, ends
 * idle keep-alive ones and waits for requests in flight.
 */
import { realpath } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { AUTH_REALM, type BasicAuthCheck } from './basic-auth.js';
import { formatAccessLog } from './access-log.js';
import { serveStaticFile, type StaticResult } from './static-file-handler.js';

/** How to run the server. */
export interface RepoServerOptions {
  /** The folder served. */
  root: string;
  /** 0 picks a free port. */
  port: number;
  /** Address to listen on (default: every interface). */
  host?: string | undefined;
  /** PEM certificate chain and key; plain HTTP without them. */
  tls?: { cert: Uint8Array; key: Uint8Array } | undefined;
  auth?: BasicAuthCheck | undefined;
  /** Receives each access-log line (without newline). */
  log?: ((line: string) => void) | undefined;
  now?: () => Date;
}

/** A listening server. */
export interface RunningRepoServer {
  /** `https://localhost:PORT` (or http), without a trailing slash. */
  url: string;
  port: number;
  /** Stops listening; requests still running after `graceMs` (default 5 s) are cut off. */
  close(graceMs?: number): Promise<void>;
}

/** Starts serving `options.root`; resolves once the server listens. */
export async function startRepoServer(options: RepoServerOptions): Promise<RunningRepoServer> {
  const realRoot = await realpath(options.root);
  const now = options.now ?? (() => new Date());

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = now();
    const finish = (result: StaticResult, user?: string): void => {
      options.log?.(
        formatAccessLog({
          remoteAddress: req.socket.remoteAddress ?? '-',
          user,
          time: started,
          method: req.method ?? '-',
          target: req.url ?? '-',
          httpVersion: req.httpVersion,
          status: result.status,
          bytes: result.bytes,
        }),
      );
    };
    let user: string | undefined;
    if (options.auth) {
      user = options.auth(req.headers.authorization);
      if (user === undefined) {
        const body = 'authentication required\n';
        res
          .writeHead(401, {
            'www-authenticate': `Basic realm="${AUTH_REALM}", charset="UTF-8"`,
            'content-type': 'text/plain; charset=utf-8',
            'content-length': String(Buffer.byteLength(body)),
          })
          .end(req.method === 'HEAD' ? undefined : body);
        finish({ status: 401, bytes: req.method === 'HEAD' ? 0 : Buffer.byteLength(body) });
        return;
      }
    }
    serveStaticFile(realRoot, req, res).then(
      (result) => finish(result, user),
      () => {
        // An unexpected read error: the client gets a 500, the log a line, the server lives on.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('error\n');
        else res.destroy();
        finish({ status: 500, bytes: 0 }, user);
      },
    );
  };

  const server = options.tls
    ? https.createServer(
        { cert: Buffer.from(options.tls.cert), key: Buffer.from(options.tls.key) },
        onRequest,
      )
    : http.createServer(onRequest);
  // Handshakes refused by clients that do not trust the CA are the client's problem to report.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://localhost:${port}`,
    port,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
