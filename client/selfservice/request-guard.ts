/**
 * Who may talk to the self-service server. It runs as root on 127.0.0.1, so a web page in the
 * user's browser, another local user, or a hostile site using DNS rebinding must not be able to
 * make it install or remove anything:
 * - the Host header must be this server (127.0.0.1:PORT or localhost:PORT), else 421 — a rebound
 *   name (evil.example resolving to 127.0.0.1) arrives with its own Host;
 * - an Origin header, when present, must be this server, and a browser's `Sec-Fetch-Site:
 *   cross-site` is refused: requests from other pages get 403;
 * - every request needs the console user's token: the page and its reads take it from the
 *   HttpOnly, SameSite=Strict cookie set when the user opens the tokened address; a change needs
 *   it in the `X-Abbot-Token` header as well, which no cross-site form or image can send;
 * - changes are POSTs with a JSON body (checked by the routes).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isSameToken } from './token.js';

/** The cookie holding the token. */
export const TOKEN_COOKIE = 'abbot_selfservice';
/** The header a state-changing request repeats the token in. */
export const TOKEN_HEADER = 'x-abbot-token';

/** What a request looks like to the guard. */
export interface GuardedRequest {
  method: string;
  /** Path and query, as in the request line. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** The guard's verdict: allowed (and how the token came), or refused with a status and reason. */
export type GuardVerdict =
  | { ok: true; tokenFrom: 'cookie' | 'header' | 'query' }
  | { ok: false; status: 403 | 421; reason: string };

/** The Host values this server answers to. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** The token in the request's cookie, if any. */
export function cookieToken(headers: IncomingHttpHeaders): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === TOKEN_COOKIE) return rest.join('=');
  }
  return undefined;
}

/**
 * Checks a request against the rules above. `change` marks a request that changes state; `token`
 * is the console user's token, undefined when nobody is logged in (then nothing is allowed).
 */
export function guardRequest(
  req: GuardedRequest,
  settings: { port: number; token: string | undefined; change: boolean },
): GuardVerdict {
  const hosts = allowedHosts(settings.port);
  const host = (req.headers.host ?? '').toLowerCase();
  if (!hosts.includes(host)) {
    return { ok: false, status: 421, reason: `this server answers only to ${hosts.join(' and ')}` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
    return { ok: false, status: 403, reason: 'requests from other sites are refused' };
  }
  if (req.headers['sec-fetch-site'] === 'cross-site') {
    return { ok: false, status: 403, reason: 'requests from other sites are refused' };
  }
  if (settings.token === undefined) {
    return { ok: false, status: 403, reason: 'nobody is logged in at this Mac' };
  }
  const header = req.headers[TOKEN_HEADER];
  const headerToken = typeof header === 'string' ? header : undefined;
  if (settings.change) {
    // A change needs the header: a cookie alone would ride along on a forged cross-site request.
    return isSameToken(headerToken, settings.token)
      ? { ok: true, tokenFrom: 'header' }
      : { ok: false, status: 403, reason: 'a change needs the self-service token' };
  }
  if (isSameToken(cookieToken(req.headers), settings.token))
    return { ok: true, tokenFrom: 'cookie' };
  if (isSameToken(headerToken, settings.token)) return { ok: true, tokenFrom: 'header' };
  const query = new URL(req.url, 'http://127.0.0.1').searchParams.get('token') ?? undefined;
  if (isSameToken(query, settings.token)) return { ok: true, tokenFrom: 'query' };
  return {
    ok: false,
    status: 403,
    reason: 'open self service with `abbot selfservice open` (the page needs your token)',
  };
}
