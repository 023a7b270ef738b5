/**
 * The self-service server's HTTP surface, small on purpose:
 *   GET  /             the page (opening `/?token=…` sets the token cookie and redirects to `/`)
 *   GET  /api/status   every item's status and buttons (the page polls it)
 *   GET  /icons/NAME   a cached, hash-checked item icon
 *   POST /api/install  {"name": "…"}: the user wants an optional item (or its update)
 *   POST /api/remove   {"name": "…"}: the user no longer wants it (or cancels a pending install)
 * Every request passes the request guard first; a change also needs a JSON body naming an item
 * the manifest offers (optional_installs) whose buttons allow that action. Other paths are 404,
 * other methods 405. Names are only ever compared with the offered names and written to the
 * SelfServeManifest: none reaches a shell or a file path.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Catalogue } from './catalogue.js';
import { ICON_TYPES } from './icons.js';
import { pagePolicy, renderPage, statusJson } from './page-html.js';
import { guardRequest, TOKEN_COOKIE } from './request-guard.js';
import type { ItemAction } from './status.js';

/** What the routes need from the server. */
export interface SelfServiceApp {
  /** The port the server listens on (Host and Origin must name it). */
  port(): number;
  /** The console user's token; undefined when nobody is logged in. */
  token(): Promise<string | undefined>;
  catalogue(): Promise<Catalogue>;
  /** A cached icon's bytes, if it exists and matches its hash. */
  icon(file: string): Promise<Buffer | undefined>;
  /** Records the user's choice and starts the run; returns what to tell the user. */
  request(name: string, action: ItemAction): Promise<string>;
  logger: Logger;
}

/** A request the routes refuse, with the HTTP status to answer. */
export class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestRefused';
  }
}

const MAX_BODY = 4096;
const ROUTES: Record<string, { method: 'GET' | 'POST'; change: boolean }> = {
  '/': { method: 'GET', change: false },
  '/api/status': { method: 'GET', change: false },
  '/api/install': { method: 'POST', change: true },
  '/api/remove': { method: 'POST', change: true },
};

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Resource-Policy': 'same-origin',
    ...headers,
  });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new RequestRefused(415, 'the body must be JSON');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RequestRefused(413, 'the body is too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestRefused(400, 'the body is not valid JSON');
  }
}

/** The item name in a change request's body; anything else is refused. */
export function requestedName(body: unknown): string {
  const name =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>)['name']
      : undefined;
  if (typeof name !== 'string' || name === '' || name.length > 1000) {
    throw new RequestRefused(400, 'the body must be {"name": "<an offered item>"}');
  }
  return name;
}

/** Refuses `action` on `name` unless the page offers that button for an offered item now. */
export function assertOffered(catalogue: Catalogue, name: string, action: ItemAction): void {
  const offer = catalogue.offers.find((o) => o.name === name);
  if (!offer) throw new RequestRefused(403, `${name} is not offered in self service`);
  if (!offer.actions.includes(action)) {
    const verb = action === 'install' ? 'installed' : 'removed';
    throw new RequestRefused(
      409,
      `${offer.displayName} cannot be ${verb} now (${offer.statusText})`,
    );
  }
}

/** The server's request handler. */
export function createRequestHandler(
  app: SelfServiceApp,
): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isIcon = url.pathname.startsWith('/icons/');
    const route = isIcon ? { method: 'GET' as const, change: false } : ROUTES[url.pathname];
    if (!route) return sendJson(res, 404, { error: 'not found' });
    const method = req.method ?? 'GET';
    if (method !== route.method && !(route.method === 'GET' && method === 'HEAD')) {
      return send(res, 405, JSON.stringify({ error: `use ${route.method}` }), 'application/json', {
        Allow: route.method,
      });
    }
    const verdict = guardRequest(
      { method, url: req.url ?? '/', headers: req.headers },
      { port: app.port(), token: await app.token(), change: route.change },
    );
    if (!verdict.ok) {
      app.logger.warn('selfservice.refused', `${method} ${url.pathname}: ${verdict.reason}`);
      return sendJson(res, verdict.status, { error: verdict.reason });
    }
    if (verdict.tokenFrom === 'query') {
      if (url.pathname !== '/') return sendJson(res, 403, { error: 'the token goes in a header' });
      // The token leaves the address bar (and history) for an HttpOnly cookie only this site gets.
      return send(res, 303, '', 'text/plain', {
        Location: '/',
        'Set-Cookie': `${TOKEN_COOKIE}=${url.searchParams.get('token') ?? ''}; Path=/; HttpOnly; SameSite=Strict`,
      });
    }

    if (isIcon) {
      let file: string;
      try {
        file = decodeURIComponent(url.pathname.slice('/icons/'.length));
      } catch {
        return sendJson(res, 404, { error: 'no such icon' });
      }
      const bytes = await app.icon(file);
      if (!bytes) return sendJson(res, 404, { error: 'no such icon' });
      const type = ICON_TYPES[file.slice(file.lastIndexOf('.')).toLowerCase()] ?? 'image/png';
      return send(res, 200, bytes, type, { 'Content-Security-Policy': "default-src 'none'" });
    }
    if (url.pathname === '/') {
      const nonce = randomBytes(16).toString('base64');
      const token = (await app.token()) ?? '';
      return send(
        res,
        200,
        renderPage(await app.catalogue(), token, nonce),
        'text/html; charset=utf-8',
        {
          'Content-Security-Policy': pagePolicy(nonce),
        },
      );
    }
    if (url.pathname === '/api/status')
      return sendJson(res, 200, statusJson(await app.catalogue()));

    const action: ItemAction = url.pathname === '/api/install' ? 'install' : 'remove';
    const name = requestedName(await readJsonBody(req));
    assertOffered(await app.catalogue(), name, action);
    sendJson(res, 202, { message: await app.request(name, action) });
  };

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof RequestRefused ? e.status : 500;
      if (status === 500) app.logger.error('selfservice.error', describeError(e));
      if (!res.headersSent) sendJson(res, status, { error: describeError(e) });
      else res.destroy();
    });
  };
}
