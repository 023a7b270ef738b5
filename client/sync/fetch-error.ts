/**
 * The error every failed request of the sync layer ends in. It adds what callers branch on — the
 * HTTP status and a stable `reason` — to AppError; the URL it carries never holds userinfo.
 */
import { AppError } from '../../lib/errors.js';

/**
 * Why a request failed, stable for callers and tests to match on (the message is for people):
 * `status` an HTTP error status; `redirect` a 3xx that FollowHTTPRedirects did not allow;
 * `certificate` the server's certificate is not trusted, expired or for another host;
 * `client-certificate` the server wants (another) client certificate; `tls` any other TLS failure;
 * `refused`, `dns`, `unreachable`, `reset`, `timeout` connection trouble; `truncated` the body
 * ended early; `too-large` the body exceeded the cap; `network` anything else on the wire.
 */
export type FetchFailureReason =
  | 'status'
  | 'redirect'
  | 'certificate'
  | 'client-certificate'
  | 'tls'
  | 'refused'
  | 'dns'
  | 'unreachable'
  | 'reset'
  | 'timeout'
  | 'truncated'
  | 'too-large'
  | 'network';

/** What a FetchError is built from; `url` must already be redacted. */
export interface FetchErrorInit {
  code: 'HTTP_STATUS' | 'NETWORK';
  reason: FetchFailureReason;
  url: string;
  message: string;
  status?: number | undefined;
  isRetryable: boolean;
  hint?: string | undefined;
  cause?: unknown;
}

/** A request that failed: HTTP_STATUS (the server answered with an error) or NETWORK (it could not). */
export class FetchError extends AppError {
  declare readonly code: 'HTTP_STATUS' | 'NETWORK';
  /** The request URL with any userinfo replaced by `***`. */
  readonly url: string;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  readonly reason: FetchFailureReason;
  /** Whether trying again later could succeed (5xx, resets, timeouts — not 404 or a bad certificate). */
  readonly isRetryable: boolean;
  /** How many requests were made before giving up (1 when there was no retry). */
  attempts = 1;

  constructor(init: FetchErrorInit) {
    const options: { hint?: string; cause?: unknown } = {};
    if (init.hint !== undefined) options.hint = init.hint;
    if (init.cause !== undefined) options.cause = init.cause;
    super(init.code, init.message, options);
    this.name = 'FetchError';
    this.url = init.url;
    this.status = init.status;
    this.reason = init.reason;
    this.isRetryable = init.isRetryable;
  }
}

/** True when `e` is a FetchError, optionally with the given HTTP status. */
export function isFetchError(e: unknown, status?: number): e is FetchError {
  return e instanceof FetchError && (status === undefined || e.status === status);
}

/** `url` without its userinfo (`https://user:pw@host/` → `https://***@host/`), safe for messages and logs. */
export function redactUrl(url: string): string {
  // Done textually so that even a string the URL parser rejects comes out clean.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}
