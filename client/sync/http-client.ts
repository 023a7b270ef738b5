/**
 * The client's one way to talk to the repo server: an undici Agent of its own (never the global
 * dispatcher, so the TLS identity and trust set here cannot leak into other code), Munki's request
 * headers, FollowHTTPRedirects handled by hand, and retries with backoff for failures that may pass.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { createRequire } from 'node:module';
import type { Agent as AgentType, buildConnector as BuildConnector, Dispatcher } from 'undici';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { FetchError, redactUrl, type FetchFailureReason } from './fetch-error.js';

/*
 * undici's index loads ~100 modules (fetch, WebSocket, cache storage, …) that the client never
 * uses: about 90 ms of every hourly check-in, a fifth of its budget. Only the agent, the TLS
 * connector and the request API are needed, so they are loaded from undici's own files (version
 * pinned by package-lock.json; the HTTP tests exercise every path through them).
 */
const requireUndici = createRequire(import.meta.url);
const Agent = requireUndici('undici/lib/dispatcher/agent.js') as typeof AgentType;
const buildConnector = requireUndici('undici/lib/core/connect.js') as typeof BuildConnector;
const requestApi = requireUndici('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** undici's `request(url, { dispatcher, … })`, without its index: the same call on `dispatcher`. */
function request(
  href: string,
  options: {
    dispatcher: Dispatcher;
    method: Dispatcher.HttpMethod;
    headers: Record<string, string>;
    signal: AbortSignal | null;
  },
): Promise<Dispatcher.ResponseData> {
  const url = new URL(href);
  return requestApi.call(options.dispatcher, {
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: options.method,
    headers: options.headers,
    signal: options.signal,
  });
}

/** Munki's FollowHTTPRedirects: never, only to https URLs, or to any URL. */
export type FollowRedirects = 'none' | 'https' | 'all';

/** How to build a client; preference names in the comments are Munki's. */
export interface HttpClientOptions {
  /** SoftwareRepoCACertificate: a PEM file of CAs trusted in addition to the built-in roots. */
  caCertificatePath?: string | undefined;
  /** SoftwareRepoCAPath: a folder of PEM files, each trusted like caCertificatePath. */
  caPath?: string | undefined;
  /** ClientCertificatePath: PEM client certificate for mutual TLS (may also hold the key). */
  clientCertificatePath?: string | undefined;
  /** ClientKeyPath: PEM private key of the client certificate (default: the certificate file). */
  clientKeyPath?: string | undefined;
  /** AdditionalHttpHeaders: `"Name: value"` strings sent with every request; others are dropped with a warning. */
  additionalHeaders?: readonly string[] | undefined;
  followRedirects: FollowRedirects;
  /** Connect timeout, and the longest wait for headers or between body chunks (Munki: 60 s). */
  timeoutMs: number;
  /** Extra attempts after the first for retryable failures (0 = no retry). */
  retries: number;
  userAgent: string;
  logger: Logger;
  /** First retry delay, doubled for each further retry (default 500 ms → 0.5 s, 1 s, 2 s …). */
  retryDelayMs?: number | undefined;
  /** How to wait between retries; tests pass a recorder. Must reject when `signal` aborts. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Largest body `get` buffers (default 512 MiB); `stream` has no cap. */
  maxBodyBytes?: number | undefined;
  /**
   * Connections kept to one server at most (default: as many as requests in flight). A check-in
   * uses 1, so requests that overlap queue on one keep-alive connection instead of paying a second
   * TLS handshake; downloads use DownloadConcurrency.
   */
  connectionsPerOrigin?: number | undefined;
  /** Dispatcher to use instead of building an Agent (an undici MockAgent in tests); TLS options are then ignored. */
  dispatcher?: Dispatcher | undefined;
}

/** Per-request options. */
export interface HttpRequestOptions {
  /** Extra request headers (e.g. If-None-Match, Range); they win over AdditionalHttpHeaders. */
  headers?: Readonly<Record<string, string>> | undefined;
  signal?: AbortSignal | undefined;
  /** GET (default) or HEAD. */
  method?: 'GET' | 'HEAD' | undefined;
}

/** A complete response held in memory. */
export interface HttpResponse {
  /** The URL that answered, after redirects (userinfo removed). */
  url: string;
  status: number;
  statusText: string;
  /** Header names in lower case; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
}

/** A response whose body is still streaming; the caller must consume or destroy `body`. */
export interface HttpStreamResponse {
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Readable;
}

/** What the rest of the client uses to fetch from the repo. */
export interface HttpClient {
  /**
   * Fetches `url` into memory. Resolves for 2xx and 304; throws FetchError for anything else
   * (error statuses, refused redirects, network and TLS failures) once retries are used up.
   */
  get(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  /** Like `get` but hands back the body as a stream once headers arrive (retries stop there). */
  stream(url: string, options?: HttpRequestOptions): Promise<HttpStreamResponse>;
  /**
   * The FetchError for an error thrown while reading a `stream` body, worded like `get`'s
   * (`bytesReceived` turns a dropped connection into "connection closed after N bytes").
   */
  toFetchError(url: string, error: unknown, bytesReceived?: number): FetchError;
  /** Closes idle connections; the client must not be used afterwards. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 512 * 1024 * 1024;
const MAX_REDIRECTS = 10;
const MAX_RETRY_DELAY_MS = 30_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Munki retries these 4xx too: they say "not now", not "no".
const RETRYABLE_4XX = new Set([408, 425, 429]);
// 501 and 505 say the server will never do this; other 5xx (and CDN 52x) are worth another try.
const PERMANENT_5XX = new Set([501, 505]);
// Credentials meant for the repo server must not follow a redirect to another origin (as fetch() and curl do).
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Failures that the same request will meet again: configuration or server setup, not bad luck.
const PERMANENT_REASONS = new Set<FetchFailureReason>([
  'certificate',
  'client-certificate',
  'tls',
  'redirect',
  'too-large',
  'network',
]);

const CA_HINT =
  "point SoftwareRepoCACertificate (a PEM file) or SoftwareRepoCAPath (a folder of PEMs) at the CA that issued the repo server's certificate";
const CLIENT_CERT_HINT =
  'set ClientCertificatePath and ClientKeyPath to a certificate the repo server accepts';

const UNTRUSTED_CERT = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
]);
const CERT_DATES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);
// TLS alerts a server sends when it wants a client certificate or dislikes the one it got.
const CLIENT_CERT_ALERTS = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

type ErrorWithCode = Error & { code?: unknown; errors?: unknown };

/** Builds a client; throws CONFIG_INVALID when a certificate or key file cannot be read or used. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { logger } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const baseDelay = options.retryDelayMs ?? 500;
  const sleep =
    options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const baseHeaders: Record<string, string> = {
    'user-agent': options.userAgent,
    ...parseAdditionalHeaders(options.additionalHeaders ?? [], logger),
  };
  const hasClientCert = options.clientCertificatePath !== undefined;
  // undici reports a TLS alert that arrives after the handshake (TLS 1.3 client-certificate refusal)
  // only as "other side closed"; the connector remembers the real error per local address:port.
  const tlsAlerts = new Map<string, ErrorWithCode>();
  const dispatcher = options.dispatcher ?? buildAgent(options, tlsAlerts);
  const warnedHttpHosts = new Set<string>();

  const fail = (
    url: string,
    reason: FetchFailureReason,
    message: string,
    extra: Partial<Pick<FetchError, 'status' | 'hint'>> & { cause?: unknown } = {},
  ): FetchError => {
    const isRetryable =
      reason === 'status' ? isRetryableStatus(extra.status ?? 0) : !PERMANENT_REASONS.has(reason);
    return new FetchError({
      code: reason === 'status' || reason === 'redirect' ? 'HTTP_STATUS' : 'NETWORK',
      reason,
      url: redactUrl(url),
      message: `${redactUrl(url)}: ${message}`,
      status: extra.status,
      isRetryable,
      hint: extra.hint,
      cause: extra.cause,
    });
  };

  /** Turns whatever undici or node:tls threw into a FetchError an admin can read. */
  const describe = (url: string, e: ErrorWithCode, received?: number): FetchError => {
    const inner = firstError(e);
    let code = typeof inner.code === 'string' ? inner.code : '';
    let cause: ErrorWithCode = inner;
    if (code === 'UND_ERR_SOCKET') {
      const alert = tlsAlerts.get(socketKey(inner));
      if (alert && typeof alert.code === 'string') {
        code = alert.code;
        cause = alert;
      }
    }
    const detail = cause.message.split('\n')[0] ?? '';
    if (UNTRUSTED_CERT.has(code)) {
      return fail(
        url,
        'certificate',
        `certificate not trusted (${detail}); set SoftwareRepoCACertificate`,
        { hint: CA_HINT, cause },
      );
    }
    if (CERT_DATES.has(code)) {
      return fail(url, 'certificate', `server certificate is not valid now (${detail})`, {
        hint: "renew the repo server's certificate, or check this Mac's clock",
        cause,
      });
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return fail(url, 'certificate', `certificate does not match the host name (${detail})`, {
        hint: "use the host name the server's certificate was issued for",
        cause,
      });
    }
    if (
      CLIENT_CERT_ALERTS.has(code) ||
      (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' && !hasClientCert)
    ) {
      const what = hasClientCert
        ? 'server refused the client certificate'
        : 'server requires a client certificate';
      return fail(url, 'client-certificate', `${what} (${detail})`, {
        hint: CLIENT_CERT_HINT,
        cause,
      });
    }
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
      return fail(url, 'tls', `TLS handshake failed (${detail})`, { cause });
    }
    switch (code) {
      case 'ECONNREFUSED':
        return fail(url, 'refused', 'connection refused', { cause });
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
      case 'EAI_FAIL':
        return fail(url, 'dns', 'host name not found', { cause });
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'ENETDOWN':
      case 'EHOSTDOWN':
      case 'EADDRNOTAVAIL':
        return fail(url, 'unreachable', 'network unreachable', { cause });
      case 'ETIMEDOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return fail(url, 'timeout', 'connection timed out', { cause });
      case 'UND_ERR_HEADERS_TIMEOUT':
        return fail(url, 'timeout', `no response within ${seconds(options.timeoutMs)}`, { cause });
      case 'UND_ERR_BODY_TIMEOUT':
        return fail(url, 'timeout', `download stalled for ${seconds(options.timeoutMs)}`, {
          cause,
        });
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
      case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      case 'ECONNRESET':
      case 'ECONNABORTED':
      case 'EPIPE':
        if (received !== undefined) {
          return fail(url, 'truncated', `connection closed after ${received} bytes of the body`, {
            cause,
          });
        }
        // A server that dislikes a client certificate may just hang up after the handshake
        // (Node's https does) instead of sending a TLS alert; say so, since it looks like a reset.
        return fail(url, 'reset', 'connection closed by the server before it answered', {
          cause,
          hint: hasClientCert
            ? "if the server checks client certificates, make sure it trusts ClientCertificatePath's issuer"
            : undefined,
        });
      case 'UND_ERR_INVALID_ARG':
      case 'ERR_INVALID_URL':
        return fail(url, 'network', `cannot request this URL (${detail})`, { cause });
      default:
        return fail(url, 'network', detail || 'request failed', { cause });
    }
  };

  const warnIfPlainHttp = (url: URL): void => {
    if (url.protocol !== 'http:' || warnedHttpHosts.has(url.host)) return;
    warnedHttpHosts.add(url.host);
    logger.warn(
      'sync.http.insecure',
      `${url.host} is reached over plain http: anyone on the network can read and alter what the client installs; use https`,
      { host: url.host },
    );
  };

  /** One logical request: follows allowed redirects and returns the final response (status < 300 or 304). */
  const open = async (
    requested: string,
    options_: HttpRequestOptions,
  ): Promise<{ url: string; response: Dispatcher.ResponseData }> => {
    let current = parseHttpUrl(requested, fail);
    let headers = { ...baseHeaders, ...lowerCaseKeys(options_.headers ?? {}) };
    headers = withUserinfoAuth(current, headers);
    for (let hop = 0; ; hop++) {
      warnIfPlainHttp(current);
      // Messages name the URL as given (fail() redacts userinfo); the request goes without it.
      const shownHref = current.href;
      const href = stripUserinfo(current);
      let response: Dispatcher.ResponseData;
      try {
        response = await request(href, {
          dispatcher,
          method: options_.method ?? 'GET',
          headers,
          signal: options_.signal ?? null,
        });
      } catch (e) {
        throw rethrowAbort(e, options_.signal) ?? describe(shownHref, asError(e));
      }
      const { statusCode: status } = response;
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(status) || typeof location !== 'string') {
        if (status >= 300 && status !== 304) {
          await discard(response.body);
          const from = hop > 0 ? ` (redirected from ${redactUrl(requested)})` : '';
          throw fail(shownHref, 'status', `HTTP ${status} ${statusText(response)}${from}`, {
            status,
          });
        }
        return { url: href, response };
      }
      await discard(response.body);
      const target = URL.canParse(location, href) ? new URL(location, href) : undefined;
      const shown = target ? redactUrl(target.href) : JSON.stringify(location);
      const refused = (why: string, hint: string): FetchError =>
        fail(shownHref, 'redirect', `HTTP ${status} redirect to ${shown} ${why}`, { status, hint });
      if (!target || (target.protocol !== 'https:' && target.protocol !== 'http:')) {
        throw refused('is not an http(s) URL', 'fix the redirect on the server');
      }
      if (options.followRedirects === 'none') {
        throw refused(
          'not followed: FollowHTTPRedirects is none',
          'set FollowHTTPRedirects to https (or all), or use the final URL in the preferences',
        );
      }
      if (options.followRedirects === 'https' && target.protocol !== 'https:') {
        throw refused(
          'not followed: FollowHTTPRedirects is https and the target is not https',
          'redirect to an https URL, or set FollowHTTPRedirects to all',
        );
      }
      if (hop + 1 >= MAX_REDIRECTS) {
        throw refused(
          `not followed: more than ${MAX_REDIRECTS} redirects`,
          'the server redirects in a loop',
        );
      }
      logger.debug('sync.http.redirect', `${redactUrl(href)} redirects to ${shown}`);
      if (target.origin !== current.origin) {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.includes(k)),
        );
      }
      current = target;
      headers = withUserinfoAuth(current, headers);
    }
  };

  /** Runs `attempt` up to 1 + retries times, sleeping with exponential backoff between retryable failures. */
  const withRetries = async <T>(
    url: string,
    signal: AbortSignal | undefined,
    attempt: () => Promise<T>,
  ): Promise<T> => {
    const total = 1 + Math.max(0, Math.floor(options.retries));
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        const aborted = rethrowAbort(e, signal);
        if (aborted) throw aborted;
        const error = e instanceof FetchError ? e : describe(url, asError(e));
        error.attempts = n;
        if (!error.isRetryable || n >= total) throw error;
        const wait = Math.min(baseDelay * 2 ** (n - 1), MAX_RETRY_DELAY_MS);
        logger.info(
          'sync.http.retry',
          `${error.message}; retrying in ${seconds(wait)} (attempt ${n + 1} of ${total})`,
          { url: error.url, attempt: n + 1, delayMs: wait },
        );
        await sleep(wait, signal);
      }
    }
  };

  return {
    get: (url, requestOptions = {}) =>
      withRetries(url, requestOptions.signal, async () => {
        const { url: finalUrl, response } = await open(url, requestOptions);
        const headers = flattenHeaders(response.headers);
        const body =
          requestOptions.method === 'HEAD'
            ? (await discard(response.body), Buffer.alloc(0))
            : await readBody(finalUrl, response, headers, maxBody, requestOptions.signal);
        return {
          url: finalUrl,
          status: response.statusCode,
          statusText: statusText(response),
          headers,
          body,
        };
      }),
    stream: (url, requestOptions = {}) =>
      withRetries(url, requestOptions.signal, async () => {
        const { url: finalUrl, response } = await open(url, requestOptions);
        return {
          url: finalUrl,
          status: response.statusCode,
          statusText: statusText(response),
          headers: flattenHeaders(response.headers),
          body: response.body,
        };
      }),
    toFetchError: (url, error, bytesReceived) =>
      error instanceof FetchError ? error : describe(url, asError(error), bytesReceived),
    close: () => dispatcher.close(),
  };

  /** Buffers a body, enforcing the size cap and that it is as long as Content-Length says. */
  async function readBody(
    url: string,
    response: Dispatcher.ResponseData,
    headers: Record<string, string>,
    cap: number,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    const declared = contentLength(headers);
    const tooLarge = (): FetchError => {
      response.body.destroy();
      return fail(url, 'too-large', `response is larger than ${formatBytes(cap)}`);
    };
    if (declared !== undefined && declared > cap) throw tooLarge();
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of response.body) {
        const bytes = chunk as Buffer;
        received += bytes.byteLength;
        if (received > cap) throw tooLarge();
        chunks.push(bytes);
      }
    } catch (e) {
      if (e instanceof FetchError) throw e;
      throw rethrowAbort(e, signal) ?? describe(url, asError(e), received);
    }
    // undici already rejects a body that ends early; this also covers a dispatcher that does not.
    if (declared !== undefined && received !== declared && response.statusCode !== 304) {
      throw fail(url, 'truncated', `got ${received} of ${declared} bytes`);
    }
    return Buffer.concat(chunks, received);
  }
}

/**
 * Parses AdditionalHttpHeaders as Munki does: split at the first colon, value trimmed; entries
 * without a name and a value, or with characters HTTP forbids, are dropped with a warning that
 * gives only their position (they often carry credentials).
 */
export function parseAdditionalHeaders(
  entries: readonly string[],
  logger: Logger,
): Record<string, string> {
  const headers: Record<string, string> = {};
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim() : '';
    const value = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!HEADER_NAME.test(name) || value === '' || /[\r\n\0]/.test(value)) {
      logger.warn(
        'sync.http.header.ignored',
        `AdditionalHttpHeaders entry ${index + 1} is not "Name: value"; ignored`,
        { index },
      );
      return;
    }
    headers[name.toLowerCase()] = value;
  });
  return headers;
}

/** True for statuses worth retrying: 5xx except 501/505, and 408/425/429. */
export function isRetryableStatus(status: number): boolean {
  return (
    RETRYABLE_4XX.has(status) || (status >= 500 && status <= 599 && !PERMANENT_5XX.has(status))
  );
}

/**
 * One TLS context for the whole client: Node's built-in roots plus SoftwareRepoCACertificate /
 * SoftwareRepoCAPath, and the client certificate. Node can add CAs to its built-in store copy-on-
 * write (under a millisecond); the documented alternative, `ca: [...rootCertificates, …]`, parses
 * ~150 PEM roots for every context (26 ms on a quiet machine, far more under load), which a
 * once-an-hour process pays in full on every check-in.
 */
function trustedContext(
  ca: readonly string[],
  certKey: { cert?: Buffer; key?: Buffer },
): SecureContext {
  const ctx = createSecureContext(certKey);
  if (ca.length === 0) return ctx;
  // The native context's addCACert is how Node itself loads extra CAs; fall back if it ever moves.
  const native = (ctx as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    for (const pem of ca) native.addCACert(pem);
    return ctx;
  }
  return createSecureContext({ ...certKey, ca: [...rootCertificates, ...ca] });
}

function buildAgent(options: HttpClientOptions, tlsAlerts: Map<string, ErrorWithCode>): AgentType {
  const ca = readCaCertificates(options);
  const certKey: { cert?: Buffer; key?: Buffer } = {};
  if (options.clientCertificatePath !== undefined) {
    certKey.cert = readConfigFile('ClientCertificatePath', options.clientCertificatePath);
    certKey.key = readConfigFile(
      options.clientKeyPath !== undefined ? 'ClientKeyPath' : 'ClientCertificatePath',
      options.clientKeyPath ?? options.clientCertificatePath,
    );
  } else if (options.clientKeyPath !== undefined) {
    throw new AppError('CONFIG_INVALID', 'ClientKeyPath is set but ClientCertificatePath is not');
  }
  let secureContext: SecureContext;
  try {
    // Fail now, with the preference named, rather than on every connection later.
    secureContext = trustedContext(ca, certKey);
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `TLS settings unusable: ${asError(e).message}`, {
      hint: 'check SoftwareRepoCACertificate, ClientCertificatePath and ClientKeyPath hold PEM data that belong together',
      cause: e,
    });
  }
  const connector = buildConnector({
    secureContext,
    timeout: options.timeoutMs,
  } as BuildConnector.BuildOptions);
  const connect: BuildConnector.connector = (connectOptions, callback) => {
    connector(connectOptions, (...args) => {
      const socket = args[1];
      if (socket) {
        const key = socketKey(socket);
        socket.on('error', (e: ErrorWithCode) => {
          if (typeof e.code !== 'string' || !e.code.startsWith('ERR_SSL_')) return;
          tlsAlerts.set(key, e);
          // Only the latest few matter: the lookup happens right after the socket fails.
          if (tlsAlerts.size > 64) tlsAlerts.delete(tlsAlerts.keys().next().value ?? '');
        });
      }
      callback(...args);
    });
  };
  return new Agent({
    connect,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    ...(options.connectionsPerOrigin !== undefined
      ? { connections: options.connectionsPerOrigin }
      : {}),
  });
}

function readCaCertificates(options: HttpClientOptions): string[] {
  const pems: string[] = [];
  if (options.caCertificatePath !== undefined) {
    pems.push(
      readConfigFile('SoftwareRepoCACertificate', options.caCertificatePath).toString('utf8'),
    );
  }
  if (options.caPath !== undefined) {
    let names: string[];
    try {
      names = readdirSync(options.caPath).sort();
    } catch (e) {
      throw new AppError(
        'CONFIG_INVALID',
        `SoftwareRepoCAPath ${options.caPath}: ${asError(e).message}`,
        { cause: e },
      );
    }
    // Any file holding a certificate counts, so c_rehash-style names (ab12cd34.0) work as well as *.pem.
    for (const name of names) {
      const path = join(options.caPath, name);
      if (name.startsWith('.') || !statSync(path).isFile()) continue;
      const text = readConfigFile('SoftwareRepoCAPath', path).toString('utf8');
      if (text.includes('-----BEGIN CERTIFICATE-----')) pems.push(text);
    }
    if (pems.length === 0) {
      throw new AppError(
        'CONFIG_INVALID',
        `SoftwareRepoCAPath ${options.caPath}: no PEM certificates found`,
      );
    }
  }
  return pems;
}

function readConfigFile(preference: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `${preference} ${path}: ${asError(e).message}`, {
      cause: e,
    });
  }
}

function parseHttpUrl(
  url: string,
  fail: (url: string, reason: FetchFailureReason, message: string) => FetchError,
): URL {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw fail(url, 'network', 'not an http(s) URL');
  }
  return parsed;
}

/** Userinfo in a URL becomes Basic auth (as curl and URLSession do) unless an Authorization header is set. */
function withUserinfoAuth(url: URL, headers: Record<string, string>): Record<string, string> {
  if ((url.username === '' && url.password === '') || headers.authorization !== undefined) {
    return headers;
  }
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { ...headers, authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
}

function stripUserinfo(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function lowerCaseKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function contentLength(headers: Record<string, string>): number | undefined {
  const value = headers['content-length'];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function statusText(response: Dispatcher.ResponseData): string {
  return response.statusText || STATUS_CODES[response.statusCode] || '';
}

async function discard(body: Readable): Promise<void> {
  // Draining small error/redirect bodies lets undici reuse the connection; big ones are cut off.
  let seen = 0;
  try {
    for await (const chunk of body) {
      seen += (chunk as Buffer).byteLength;
      if (seen > 64 * 1024) {
        body.destroy();
        return;
      }
    }
  } catch {
    // The status already says what went wrong; a broken error body adds nothing.
  }
}

/** If the caller aborted, the error to rethrow untouched (their abort reason); otherwise undefined. */
function rethrowAbort(e: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason ?? e;
  return undefined;
}

function firstError(e: ErrorWithCode): ErrorWithCode {
  // Happy-eyeballs connects (localhost → ::1 and 127.0.0.1) fail with an AggregateError.
  if (typeof e.code !== 'string' && Array.isArray(e.errors) && e.errors[0] instanceof Error) {
    return e.errors[0] as ErrorWithCode;
  }
  return e;
}

/** `address:port` of our end of a connection, from a socket or from undici's SocketError.socket. */
function socketKey(from: object): string {
  const info = from as { localAddress?: unknown; localPort?: unknown; socket?: unknown };
  const source = (info.socket ?? info) as { localAddress?: unknown; localPort?: unknown };
  return `${String(source.localAddress)}:${String(source.localPort)}`;
}

function asError(e: unknown): ErrorWithCode {
  return e instanceof Error ? e : new Error(String(e));
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MB` : `${n} bytes`;
}
