/**
 * One access-log line per request in the Common Log Format that Apache and nginx write by
 * default, so the usual log tools read it: `host ident user [time] "request" status bytes`.
 */

/** What one request did. */
export interface AccessRecord {
  remoteAddress: string;
  /** The authenticated user, if any. */
  user: string | undefined;
  time: Date;
  method: string;
  target: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The CLF line for `r` (time in UTC), without a newline. */
export function formatAccessLog(r: AccessRecord): string {
  const t = r.time;
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${t.getUTCFullYear()}:${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} +0000`;
  // Quotes and control characters in the target would break the line's fields.
  const target = r.target.replace(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
    /["\\\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  const user = r.user === undefined || r.user === '' ? '-' : r.user.replace(/\s/g, '_');
  return `${r.remoteAddress} - ${user} [${time}] "${r.method} ${target} HTTP/${r.httpVersion}" ${r.status} ${r.bytes > 0 ? r.bytes : '-'}`;
}
