/**
 * Keeping the local copies of manifests and catalogs current. Every request is a conditional GET
 * (an unchanged repo costs a few hundred bytes per file), and a parsed catalog is kept as an index
 * next to its copy, keyed by the copy's SHA-256, so an unchanged 40 MB catalog is never re-parsed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildCatalogIndex, openCatalogIndex, type CatalogIndex } from '../../catalogs/index.js';
import { isPlistDict, parsePlist, type PlistDict, type PlistValue } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { fetchToCache, readCacheState, readCachedCopy } from '../sync/cached-fetch.js';
import type { HttpClient } from '../sync/http-client.js';
import { assertSafeResourceName, repoUrl, type RepoUrlConfig } from '../sync/repo-urls.js';

/** What the sync functions need. */
export interface RepoSync {
  client: HttpClient;
  config: RepoUrlConfig;
  manifestsDir: string;
  catalogsDir: string;
  logger: Logger;
}

/** A manifest that could not be had; the check stops and the previous plan stays in place. */
export class ManifestError extends AppError {
  constructor(
    readonly manifest: string,
    message: string,
    cause?: unknown,
  ) {
    super(cause instanceof AppError ? cause.code : 'NOT_FOUND', message, { cause });
    this.name = 'ManifestError';
  }
}

/** Fetches manifest `name` (conditionally) and returns it parsed; any failure throws ManifestError. */
export async function syncManifest(sync: RepoSync, name: string): Promise<PlistDict> {
  assertSafeResourceName(name, 'manifest name');
  const url = repoUrl(sync.config, 'manifests', name);
  const dest = join(sync.manifestsDir, name);
  await mkdir(dirname(dest), { recursive: true });
  let parsed: PlistValue | undefined;
  const result = await fetchToCache(sync.client, url, dest, {
    validate: (bytes) => {
      parsed = parsePlist(bytes, { source: url });
      if (!isPlistDict(parsed))
        throw new AppError('SCHEMA_INVALID', `${url}: a manifest must be a dictionary`);
    },
  });
  if (result.status === 'failed') {
    throw new ManifestError(
      name,
      `manifest ${name}: ${describeError(result.error)}; the previous plan is kept`,
      result.error,
    );
  }
  if (result.status === 'not-modified') {
    const copy = await readFile(dest);
    parsed = parsePlist(copy, { source: dest });
    if (!isPlistDict(parsed))
      throw new ManifestError(name, `${dest}: a manifest must be a dictionary`);
  }
  return parsed as PlistDict;
}

const INDEX_MAGIC = Buffer.from('ABBOTCI1');

/** Where a catalog's parsed index is kept. */
function indexPath(catalogsDir: string, name: string): string {
  return join(catalogsDir, `${name}.index`);
}

async function writeIndex(
  path: string,
  sourceSha: string,
  items: PlistValue[],
): Promise<CatalogIndex> {
  const index = buildCatalogIndex(items);
  const sha = Buffer.from(sourceSha, 'hex');
  await writeFileAtomic(path, [INDEX_MAGIC, sha, index]);
  return openCatalogIndex(index);
}

async function readIndex(path: string, sourceSha: string): Promise<CatalogIndex | undefined> {
  try {
    const bytes = await readFile(path);
    if (!bytes.subarray(0, 8).equals(INDEX_MAGIC)) return undefined;
    if (bytes.subarray(8, 40).toString('hex') !== sourceSha) return undefined;
    return openCatalogIndex(bytes.subarray(40));
  } catch {
    return undefined; // missing or unreadable: rebuilt from the copy
  }
}

/** The outcome of syncing one catalog. */
export interface CatalogSync {
  index: CatalogIndex | undefined;
  /** A problem to report; the catalog may still be usable from the last good copy. */
  warning?: string;
}

/**
 * Fetches catalog `name` (conditionally) and returns its index. A server error or a malformed
 * download keeps the last good copy, which is used with a warning; with no copy the catalog is
 * unavailable.
 */
export async function syncCatalog(sync: RepoSync, name: string): Promise<CatalogSync> {
  assertSafeResourceName(name, 'catalog name');
  const url = repoUrl(sync.config, 'catalogs', name);
  const dest = join(sync.catalogsDir, name);
  await mkdir(dirname(dest), { recursive: true });
  let parsed: PlistValue | undefined;
  const result = await fetchToCache(sync.client, url, dest, {
    validate: (bytes) => {
      parsed = parsePlist(bytes, { source: url });
      if (!Array.isArray(parsed))
        throw new AppError('SCHEMA_INVALID', `${url}: a catalog must be an array`);
    },
  });
  let warning: string | undefined;
  if (result.status === 'failed') {
    warning = result.kept
      ? `catalog ${name}: ${describeError(result.error)}; using the last good copy`
      : `catalog ${name}: ${describeError(result.error)}`;
    if (!result.kept) return { index: undefined, warning };
  }
  if (result.status === 'updated') {
    const sha = createHash('sha256').update(result.bytes).digest('hex');
    return {
      index: await writeIndex(indexPath(sync.catalogsDir, name), sha, parsed as PlistValue[]),
    };
  }
  // Unchanged on the server: the sidecar's trusted SHA-256 finds the index without reading the copy.
  const state = await readCacheState(dest);
  if (!state.exists)
    return { index: undefined, warning: warning ?? `catalog ${name}: no local copy` };
  if (state.meta) {
    const existing = await readIndex(indexPath(sync.catalogsDir, name), state.meta.sha256);
    if (existing) return warning ? { index: existing, warning } : { index: existing };
  }
  const copy = await readCachedCopy(dest);
  if (!copy) return { index: undefined, warning: warning ?? `catalog ${name}: no local copy` };
  const sha = createHash('sha256').update(copy.bytes).digest('hex');
  try {
    const items = parsePlist(copy.bytes, { source: dest });
    if (!Array.isArray(items))
      throw new AppError('SCHEMA_INVALID', `${dest}: a catalog must be an array`);
    const index = await writeIndex(indexPath(sync.catalogsDir, name), sha, items);
    return warning ? { index, warning } : { index };
  } catch (e) {
    return { index: undefined, warning: `catalog ${name}: ${describeError(e)}` };
  }
}
