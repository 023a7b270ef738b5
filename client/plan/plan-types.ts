/**
 * The install plan's types. Entries are Munki's InstallInfo.plist dictionaries (keys verbatim:
 * `version_to_install`, `installer_item`, `unattended_install`, …) plus our `reason`: why the
 * item is in the plan, in words an admin recognises ("managed_installs in site_default").
 */
import type { CatalogIndex } from '../../catalogs/index.js';
import type { PlistDict, PlistValue } from '../../formats/index.js';
import type { Logger } from '../../lib/log.js';
import type { AppleUpdate } from '../apple-updates/index.js';
import type { Facts, ResolvedManifests } from '../../manifests/index.js';
import type { InstallEvidence } from './install-evidence.js';

/** An install, removal or problem entry: Munki's InstallInfo dictionary plus `reason`. */
export interface PlanItem {
  [key: string]: PlistValue;
  name: string;
  /** Why it is in the plan ("managed_installs in site_default", "required by Foo", "autoremove"). */
  reason: string;
  installed: boolean;
  display_name?: string;
  description?: string;
  version_to_install?: string;
  installed_version?: string;
  /** Basename of installer_item_location, or `packageless_install` for nopkg items. */
  installer_item?: string;
  unattended_install?: boolean;
  unattended_uninstall?: boolean;
  /** For problem entries: what is wrong, for the user. */
  note?: string;
  /** removepackages: the receipts only this item uses. */
  packages?: string[];
  uninstall_method?: string;
}

/** An optional_installs entry (what self service offers). */
export interface OptionalItem {
  [key: string]: PlistValue;
  name: string;
  reason: string;
  display_name: string;
  description: string;
  version_to_install: string;
  installed: boolean;
  needs_update: boolean;
  uninstallable: boolean;
  licensed_seat_info_available: boolean;
  note?: string;
  update_available?: boolean;
  will_be_installed?: boolean;
  will_be_removed?: boolean;
}

/** Everything a check decided. */
export interface InstallPlan {
  /** Items to install, prerequisites first (entries with an installer_item). */
  managedInstalls: PlanItem[];
  /** Items to remove, dependents and updates first (entries with installed=true). */
  removals: PlanItem[];
  optionalInstalls: OptionalItem[];
  /** managed_updates entries that apply (some version installed). */
  managedUpdates: string[];
  /** featured_items names, de-duplicated, first-seen order. */
  featuredItems: string[];
  /** Items that should be installed but cannot be, each with a `note` saying why. */
  problemItems: PlanItem[];
  /** Managed items already installed (same or newer). */
  installedItems: PlanItem[];
  /** Removals that turned out not to be installed (Munki's RemovedItems). */
  removedItems: PlanItem[];
  processedInstalls: string[];
  processedUninstalls: string[];
  warnings: string[];
  /** The SelfServeManifest after default_installs and clean-up; undefined when there is none. */
  selfServe: PlistDict | undefined;
  /** True when `selfServe` differs from the one passed in and should be written back. */
  selfServeChanged: boolean;
  /** Apple's software updates offered (set by the check when Apple updates are enabled). */
  appleUpdates?: AppleUpdate[];
}

/** Settings a plan depends on. */
export interface PlanOptions {
  /** The version compared with pkginfo `minimum_munki_version`. */
  abbotVersion: string;
  /** Full macOS version (`14.5`). */
  osVersion: string;
  /** Native architecture (`arm64`, `x86_64`). */
  arch: string;
  x86_64Capable?: boolean;
  /** Munki's ShowOptionalInstallsForHigherOSVersions preference. */
  showOptionalInstallsForHigherOSVersions?: boolean;
  /** The time `force_install_after_date` deadlines are compared with. */
  now: Date;
  /** Minutes east of UTC at a date (default: this process's zone); deadlines are local time. */
  utcOffsetMinutes?: (at: Date) => number;
  logger?: Logger;
}

/** A LocalOnlyManifest: a local file with item lists processed with the primary catalogs. */
export interface LocalOnlyManifest {
  name: string;
  manifest: PlistDict;
}

/** Everything {@link buildInstallPlan} reads. */
export interface PlanInput {
  manifests: ResolvedManifests;
  /** Every catalog loaded this run, by name (receipt analysis looks at all of them). */
  catalogs: ReadonlyMap<string, CatalogIndex>;
  /** Facts for installable_condition. */
  facts: Facts;
  evidence: InstallEvidence;
  localOnlyManifest?: LocalOnlyManifest;
  /** The current SelfServeManifest, if the Mac has one. */
  selfServeManifest?: PlistDict;
  options: PlanOptions;
}
