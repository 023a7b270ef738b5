/**
 * Where things live on a Munki repo server, built as Munki 7 builds them (urls.swift,
 * download.swift) so that an admin's existing preferences and pkginfo point at the same files.
 * Pure: strings in, strings out.
 */
import { AppError } from '../../lib/errors.js';

/** The repo folders a client downloads from. */
export type RepoKind = 'catalogs' | 'manifests' | 'pkgs' | 'icons' | 'client_resources';

/** The preferences URL building reads, spelled as in Munki's ManagedInstalls domain. */
export interface RepoUrlConfig {
  SoftwareRepoURL: string;
  CatalogURL?: string | undefined;
  ManifestURL?: string | undefined;
  PackageURL?: string | undefined;
  IconURL?: string | undefined;
  ClientResourceURL?: string | undefined;
}

/** The pkginfo keys that decide where an installer item is downloaded from. */
export interface PkginfoDownloadKeys {
  name?: unknown;
  installer_item_location?: unknown;
  uninstaller_item_location?: unknown;
  PackageCompleteURL?: unknown;
  PackageURL?: unknown;
}

const OVERRIDE_KEY = {
  catalogs: 'CatalogURL',
  manifests: 'ManifestURL',
  pkgs: 'PackageURL',
  icons: 'IconURL',
  client_resources: 'ClientResourceURL',
} as const satisfies Record<RepoKind, keyof RepoUrlConfig>;

// Apple's CharacterSet.urlPathAllowed (what Munki 7 keeps unencoded), minus '+': current Munki
// encodes '+' too because S3 and CloudFront read a literal '+' in a path as a space, and '%2B'
// means '+' to every server.
const KEEP = new Set(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/!$&'()*,=:@",
);
const utf8 = new TextEncoder();

/**
 * Percent-encodes a resource name for a URL path, keeping `/` so nested names stay nested:
 * `Firefox 120.pkg` → `Firefox%20120.pkg`, `a#b` → `a%23b`, `é` → `%C3%A9`, `a+b` → `a%2Bb`.
 */
export function encodeResourceName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (KEEP.has(ch)) {
      out += ch;
      continue;
    }
    for (const byte of utf8.encode(ch))
      out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Throws PATH_UNSAFE unless `name` stays inside its repo folder: not empty, not absolute,
 * no `..` segment (with `/` or `\` as separator, since some servers honour both), no control characters.
 */
export function assertSafeResourceName(name: string, what = 'resource name'): void {
  const refuse = (why: string): never => {
    throw new AppError('PATH_UNSAFE', `${what} ${JSON.stringify(name)} ${why}`, {
      hint: 'names from the repo must be relative paths inside their folder',
    });
  };
  if (name === '') refuse('is empty');
  if (name.startsWith('/') || name.startsWith('\\')) refuse('is an absolute path');
  if (name.split(/[/\\]/).includes('..')) refuse('contains a ".." segment');
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) refuse('contains a control character');
}

/**
 * The folder URL for `kind`, always ending in `/` or `?`: the per-kind override preference used
 * verbatim when it ends with `/` or `?` (so CGI-style `…?name=` works) and with `/` appended otherwise;
 * without an override, `SoftwareRepoURL` + `/` + kind + `/` (no doubled `/` after a base ending in `/` or `?`).
 */
export function kindUrl(config: RepoUrlConfig, kind: RepoKind): string {
  const override = config[OVERRIDE_KEY[kind]];
  if (override) return override.endsWith('/') || override.endsWith('?') ? override : override + '/';
  const base = config.SoftwareRepoURL;
  if (!base) {
    throw new AppError('CONFIG_INVALID', `SoftwareRepoURL is not set (needed for ${kind})`, {
      hint: `set SoftwareRepoURL, or ${OVERRIDE_KEY[kind]}`,
    });
  }
  return base.endsWith('/') || base.endsWith('?') ? `${base}${kind}/` : `${base}/${kind}/`;
}

/** The URL of `name` in the repo's `kind` folder, e.g. `https://repo/manifests/site/lab%201`. */
export function repoUrl(config: RepoUrlConfig, kind: RepoKind, name: string): string {
  assertSafeResourceName(name, `${kind} name`);
  return kindUrl(config, kind) + encodeResourceName(name);
}

/**
 * The download URL of a pkginfo's installer item (uninstaller item when `uninstalling` and the
 * pkginfo has one), in Munki 7's order: `PackageCompleteURL` verbatim; else the location resolved
 * against the pkginfo's `PackageURL` (a `/` added to it first, then RFC 3986 relative resolution);
 * else the location in the repo's `pkgs/` folder.
 */
export function packageUrl(
  config: RepoUrlConfig,
  pkginfo: PkginfoDownloadKeys,
  options: { uninstalling?: boolean } = {},
): string {
  const key =
    options.uninstalling && typeof pkginfo.uninstaller_item_location === 'string'
      ? 'uninstaller_item_location'
      : 'installer_item_location';
  const label = typeof pkginfo.name === 'string' ? `pkginfo ${pkginfo.name}` : 'pkginfo';
  if (typeof pkginfo.PackageCompleteURL === 'string' && pkginfo.PackageCompleteURL !== '') {
    return pkginfo.PackageCompleteURL;
  }
  const location = pkginfo[key];
  if (typeof location !== 'string' || location === '') {
    throw new AppError('SCHEMA_INVALID', `${label}: no ${key}`);
  }
  assertSafeResourceName(location, `${label}: ${key}`);
  if (typeof pkginfo.PackageURL === 'string' && pkginfo.PackageURL !== '') {
    const base = pkginfo.PackageURL.endsWith('/') ? pkginfo.PackageURL : pkginfo.PackageURL + '/';
    // The location is a file path, not a URL: encode it first so that a '#' or '?' in a file name
    // stays part of the path instead of becoming a fragment or query (Munki 7 passes it raw).
    const resolved = URL.canParse(base)
      ? new URL(encodeResourceName(location), base).href
      : undefined;
    // Munki falls back to the repo's pkgs/ URL when no URL can be formed; so do we.
    if (resolved !== undefined) return resolved;
  }
  return kindUrl(config, 'pkgs') + encodeResourceName(location);
}
