/** The public face of `catalogs/` (package export `abbot/catalogs`): re-exports only. */

export { compareVersions, trimVersionString } from './version.js';
export type { Ordering } from './version.js';
export { itemNameFromManifestEntry, splitNameAndVersion } from './name-version.js';
export type { NameAndVersion } from './name-version.js';
export type {
  Alert,
  InstallerChoice,
  InstallsItem,
  ItemToCopy,
  PkgInfo,
  PlistInteger,
  Receipt,
  UnusedSoftwareRemovalInfo,
} from './pkginfo.js';
export { pkginfoSchema, validatePkgInfo } from './pkginfo-schema.js';
export { createPlistValidator, plistTypeOf } from './schema-support.js';
export type { FoundTypeName, PlistTypeName, SchemaIssue } from './schema-support.js';
export {
  CATALOG_CHECK_KEYS,
  assignCatalogs,
  buildCatalogs,
  compareRepoPaths,
  indexPkgs,
  isSafeCatalogName,
  isStrippedKey,
  prepareCatalogItem,
} from './build-catalogs.js';
export type {
  AssignOptions,
  BuiltCatalogs,
  CatalogAssignment,
  CatalogCandidate,
  CatalogFinding,
  CatalogFindingKind,
  ItemCheck,
  PkgInfoInput,
  PkgsIndex,
  PreparedItem,
  PrepareResult,
} from './build-catalogs.js';
export { catalogHas, indexCatalog } from './catalog-db.js';
export type { CatalogDb } from './catalog-db.js';
export { buildCatalogIndex, openCatalogIndex } from './catalog-index.js';
export type { CatalogIndex } from './catalog-index.js';
export { findItem, whyIneligible } from './item-selection.js';
export type { ItemSelection, SelectionEnv } from './item-selection.js';
