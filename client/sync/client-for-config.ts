/** The HTTP client a check or an install session uses, built from the client's preferences. */
import type { Logger } from '../../lib/log.js';
import { abbotVersion } from '../../lib/version.js';
import type { Config } from '../config.js';
import { createHttpClient, type HttpClient } from './http-client.js';

/** The preferences the HTTP client reads. */
export type HttpPreferences = Pick<
  Config,
  | 'SoftwareRepoCACertificate'
  | 'SoftwareRepoCAPath'
  | 'ClientCertificatePath'
  | 'ClientKeyPath'
  | 'AdditionalHttpHeaders'
  | 'FollowHTTPRedirects'
  | 'HttpTimeoutSeconds'
  | 'HttpRetries'
>;

/**
 * An HTTP client configured as the preferences say (CA, client certificate, headers, redirects,
 * retries), keeping at most `connectionsPerOrigin` connections to one server.
 */
export function httpClientFromConfig(
  config: HttpPreferences,
  logger: Logger,
  connectionsPerOrigin?: number,
): HttpClient {
  return createHttpClient({
    connectionsPerOrigin,
    caCertificatePath: config.SoftwareRepoCACertificate,
    caPath: config.SoftwareRepoCAPath,
    clientCertificatePath: config.ClientCertificatePath,
    clientKeyPath: config.ClientKeyPath,
    additionalHeaders: config.AdditionalHttpHeaders,
    followRedirects: config.FollowHTTPRedirects,
    timeoutMs: config.HttpTimeoutSeconds * 1000,
    retries: config.HttpRetries,
    userAgent: `abbot/${abbotVersion()}`,
    logger,
  });
}
