/**
 * The manifest domain types. Key names are Munki's, verbatim (munki-behaviour.md §d). Unknown keys
 * are kept: admin tools add their own (`display_name`, `notes`, `user` …) and Munki ignores them.
 */

import type { PlistValue } from '../formats/plist-value.js';

/** The item lists and structure keys a manifest and a conditional item share. */
export interface ManifestSections {
  /** Catalog names, earlier ones taking precedence; inherited by included manifests when absent. */
  catalogs?: string[];
  /** Names of manifests processed before this one's own items, depth first. */
  included_manifests?: string[];
  /** Item references (`name`, `name-1.0`, `name--1.0`, optionally with a path prefix). */
  managed_installs?: string[];
  managed_uninstalls?: string[];
  /** Updated only where some version is already installed. */
  managed_updates?: string[];
  /** Offered in self service. */
  optional_installs?: string[];
  /** Optional installs to feature; others are ignored with a warning. */
  featured_items?: string[];
  /** Optional installs installed once by default; the user may remove them later. */
  default_installs?: string[];
  conditional_items?: ConditionalItem[];
}

/** A manifest: item lists for a client or a group of clients, plus unknown admin keys. */
export interface Manifest extends ManifestSections {
  [key: string]: PlistValue;
}

/**
 * A `conditional_items` entry: an embedded manifest applied when `condition` (an NSPredicate
 * string) is true. Munki skips, with a warning, an entry that has no condition.
 */
export interface ConditionalItem extends Manifest {
  condition?: string;
}
