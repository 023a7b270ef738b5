/** The request guard's rules, one case each. */
import { describe, expect, it } from 'vitest';
import { guardRequest, type GuardedRequest } from '../../../client/selfservice/request-guard.js';

const PORT = 8491;
const TOKEN = 'a'.repeat(64);
const req = (headers: GuardedRequest['headers'], url = '/', method = 'GET'): GuardedRequest => ({
  method,
  url,
  headers: { host: `127.0.0.1:${PORT}`, ...headers },
});
const read = (r: GuardedRequest) => guardRequest(r, { port: PORT, token: TOKEN, change: false });
const change = (r: GuardedRequest) => guardRequest(r, { port: PORT, token: TOKEN, change: true });
const cookie = `abbot_selfservice=${TOKEN}`;

describe('guardRequest', () => {
  it.each([
    ['the cookie', req({ cookie }), 'cookie'],
    ['the cookie among others', req({ cookie: `a=b; ${cookie}; c=d` }), 'cookie'],
    ['the header', req({ 'x-abbot-token': TOKEN }), 'header'],
    ['the address', req({}, `/?token=${TOKEN}`), 'query'],
    ['localhost as Host', req({ cookie, host: `localhost:${PORT}` }), 'cookie'],
    ['its own Origin', req({ cookie, origin: `http://127.0.0.1:${PORT}` }), 'cookie'],
  ])('lets a read in with the token in %s', (_what, r, from) => {
    expect(read(r)).toEqual({ ok: true, tokenFrom: from });
  });

  it.each([
    ['no token', req({}), 403],
    ['a wrong token', req({ cookie: `abbot_selfservice=${'b'.repeat(64)}` }), 403],
    ['a rebound name as Host', req({ cookie, host: `evil.example:${PORT}` }), 421],
    ['another port in Host', req({ cookie, host: '127.0.0.1:80' }), 421],
    ['no Host', { method: 'GET', url: '/', headers: { cookie } }, 421],
    ['a foreign Origin', req({ cookie, origin: 'https://evil.example' }), 403],
    ['an opaque Origin', req({ cookie, origin: 'null' }), 403],
    ['https Origin on our port', req({ cookie, origin: `https://127.0.0.1:${PORT}` }), 403],
    ['a cross-site fetch', req({ cookie, 'sec-fetch-site': 'cross-site' }), 403],
  ])('refuses a read with %s', (_what, r, status) => {
    expect(read(r)).toMatchObject({ ok: false, status });
  });

  it('refuses everything when nobody is logged in', () => {
    const verdict = guardRequest(req({ cookie }), { port: PORT, token: undefined, change: false });
    expect(verdict).toMatchObject({ ok: false, status: 403 });
  });

  it('needs the header for a change: the cookie or the address is not enough', () => {
    expect(change(req({ cookie }, '/api/install', 'POST'))).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(change(req({}, `/api/install?token=${TOKEN}`, 'POST'))).toMatchObject({ ok: false });
    expect(change(req({ 'x-abbot-token': TOKEN }, '/api/install', 'POST'))).toEqual({
      ok: true,
      tokenFrom: 'header',
    });
  });
});
