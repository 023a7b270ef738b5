/**
 * HTTP Basic authentication for `repo serve --auth user:pass`, the scheme Munki clients send via
 * AdditionalHttpHeaders. Credentials are compared as SHA-256 digests with timingSafeEqual, so the
 * time taken says nothing about how much of a guess was right, or how long the password is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../lib/errors.js';

/** Checks an Authorization header; returns the user name when it carries the right credentials. */
export type BasicAuthCheck = (authorization: string | undefined) => string | undefined;

/** The realm sent in WWW-Authenticate. */
export const AUTH_REALM = 'Abbot repo';

/** Reads `user:pass` (the password may contain colons); USAGE when the user name is missing. */
export function parseCredentials(text: string): { user: string; password: string } {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new AppError('USAGE', '--auth takes USER:PASSWORD, both non-empty');
  }
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** A checker for one user and password. */
export function basicAuthCheck(user: string, password: string): BasicAuthCheck {
  const expected = digest(`${user}:${password}`);
  return (authorization) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const given = Buffer.from(m[1]!, 'base64').toString('utf8');
    return timingSafeEqual(digest(given), expected) ? user : undefined;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
