/**
 * Item icons for the self-service page, as Munki's client keeps them: the repo's `icons/` folder
 * lists each icon's SHA-256 in `_icon_hashes.plist`; an item's icon is its pkginfo `icon_name`
 * (`.png` added when it has no extension) or `<name>.png`, checked against the pkginfo's
 * `icon_hash` or the hash list. Icons are copied into `<state>/icons/` with conditional requests; a
 * download whose hash does not match is refused (the last good copy stays), and a file is checked
 * again before it is served. Only raster formats are served: an SVG could carry script.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Config } from '../config.js';
import type { AbbotPaths } from '../platform/platform.js';
import { fetchToCache } from '../sync/cached-fetch.js';
import { httpClientFromConfig } from '../sync/client-for-config.js';
import { assertSafeResourceName, repoUrl } from '../sync/repo-urls.js';

const HASHES = '_icon_hashes.plist';

/** Content types of the icon formats served, by extension. */
export const ICON_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/** The icon file name of an optional item: `icon_name` (`.png` added if bare) or `<name>.png`. */
export function iconFileName(offer: PlistDict): string {
  const icon = offer['icon_name'];
  if (typeof icon === 'string' && icon !== '') return extname(icon) === '' ? `${icon}.png` : icon;
  return `${String(offer['name'])}.png`;
}

/** True when `file` is a name the icon folder may hold and the page may show. */
export function isServableIcon(file: string): boolean {
  try {
    assertSafeResourceName(file, 'icon name');
  } catch {
    return false;
  }
  return ICON_TYPES[extname(file).toLowerCase()] !== undefined;
}

/** The SHA-256 hashes of the icons last fetched from the repo (empty when unknown). */
export async function readIconHashes(
  paths: Pick<AbbotPaths, 'iconsDir'>,
): Promise<Record<string, string>> {
  try {
    const value = parsePlist(await readFile(join(paths.iconsDir, HASHES)));
    if (!isPlistDict(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/** The hash an icon must have: the pkginfo's `icon_hash`, else the repo's hash list. */
export function expectedIconHash(
  offer: PlistDict,
  hashes: Readonly<Record<string, string>>,
): string | undefined {
  const own = offer['icon_hash'];
  return typeof own === 'string' && own !== '' ? own.toLowerCase() : hashes[iconFileName(offer)];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** What an icon sync did. */
export interface IconSync {
  /** Icon files present and valid after the sync. */
  available: string[];
  /** Icons that could not be had, each with the reason. */
  problems: string[];
}

/**
 * Brings the icons of `offers` up to date from the repo. Never throws for one icon: an item without
 * an icon is normal (the page shows its initial instead).
 */
export async function syncIcons(
  ctx: { config: Config; paths: Pick<AbbotPaths, 'iconsDir'>; logger: Logger },
  offers: readonly PlistDict[],
): Promise<IconSync> {
  const { config, paths, logger } = ctx;
  const client = httpClientFromConfig(config, logger, 2);
  const result: IconSync = { available: [], problems: [] };
  try {
    const hashesUrl = repoUrl(config, 'icons', HASHES);
    await fetchToCache(client, hashesUrl, join(paths.iconsDir, HASHES), {
      validate: (bytes) => {
        if (!isPlistDict(parsePlist(bytes, { source: hashesUrl }))) {
          throw new AppError('SCHEMA_INVALID', `${hashesUrl}: not a dictionary`);
        }
      },
    });
    const hashes = await readIconHashes(paths);
    const seen = new Set<string>();
    for (const offer of offers) {
      const file = iconFileName(offer);
      if (seen.has(file)) continue;
      seen.add(file);
      if (!isServableIcon(file)) {
        result.problems.push(`${file}: not an icon the page can show`);
        continue;
      }
      const expected = expectedIconHash(offer, hashes);
      const url = repoUrl(config, 'icons', file);
      const fetched = await fetchToCache(client, url, join(paths.iconsDir, file), {
        validate: (bytes) => {
          if (expected !== undefined && sha256(bytes) !== expected) {
            throw new AppError('HASH_MISMATCH', `${url}: does not match its hash ${expected}`);
          }
        },
      });
      if (fetched.status === 'failed') {
        result.problems.push(describeError(fetched.error));
        if (fetched.error.code === 'HASH_MISMATCH') {
          logger.warn('selfservice.icon.mismatch', describeError(fetched.error));
        }
      }
      if (fetched.status !== 'failed' || fetched.kept) result.available.push(file);
    }
  } finally {
    await client.close();
  }
  return result;
}

/**
 * The bytes of a cached icon when it exists, is a servable format, and matches `expectedHash`
 * (when one is known); undefined otherwise.
 */
export async function readIcon(
  paths: Pick<AbbotPaths, 'iconsDir'>,
  file: string,
  expectedHash: string | undefined,
): Promise<Buffer | undefined> {
  if (!isServableIcon(file)) return undefined;
  const bytes = await readFile(join(paths.iconsDir, file)).catch(() => undefined);
  if (bytes === undefined) return undefined;
  if (expectedHash !== undefined && sha256(bytes) !== expectedHash) return undefined;
  return bytes;
}
