/**
 * The catalogs a repo has built (catalogs/ as makecatalogs writes it), read on demand, to tell an
 * admin whether an item a manifest names can be found in the catalogs that manifest uses.
 */
import { readFile } from 'node:fs/promises';
import {
  catalogHas,
  indexCatalog,
  itemNameFromManifestEntry,
  type CatalogDb,
} from '../../catalogs/index.js';
import { parsePlist } from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import { listRepoFiles } from '../file-repo.js';

/** The repo's built catalogs, each parsed the first time it is asked for. */
export interface RepoCatalogs {
  /** Catalog names present in catalogs/, sorted. */
  names: readonly string[];
  /** True when `ref` (`Firefox`, `Firefox-120.0`, `apps/Firefox--120.0`) is in one of `catalogs`. */
  hasItem(ref: string, catalogs: readonly string[]): Promise<boolean>;
}

/** Opens `repo`'s catalogs/; a catalog that is not a plist array is PLIST_INVALID when read. */
export function openRepoCatalogs(repo: string): RepoCatalogs {
  const files = new Map(listRepoFiles(repo, 'catalogs').map((e) => [e.path, e.fullPath]));
  const loaded = new Map<string, Promise<CatalogDb | undefined>>();
  const load = (name: string): Promise<CatalogDb | undefined> => {
    let db = loaded.get(name);
    if (!db) {
      const path = files.get(name);
      db = path === undefined ? Promise.resolve(undefined) : readCatalog(path, name);
      loaded.set(name, db);
    }
    return db;
  };
  return {
    names: [...files.keys()].sort(),
    async hasItem(ref, catalogs) {
      const bare = ref.slice(ref.lastIndexOf('/') + 1);
      const { name, version } = itemNameFromManifestEntry(ref);
      for (const catalog of catalogs) {
        const db = await load(catalog);
        // The whole entry first: an item may really be called `Tool-2`.
        if (db && (catalogHas(db, bare) || (version !== '' && catalogHas(db, name, version)))) {
          return true;
        }
      }
      return false;
    },
  };
}

async function readCatalog(path: string, name: string): Promise<CatalogDb> {
  const value = parsePlist(await readFile(path), { source: `catalogs/${name}` });
  if (!Array.isArray(value)) {
    throw new AppError('PLIST_INVALID', `catalogs/${name}: a catalog must be an array of items`, {
      hint: 'rebuild it with `repo makecatalogs`',
    });
  }
  return indexCatalog(value);
}
