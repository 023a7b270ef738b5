/**
 * The pkginfo domain types. Key names are Munki's, verbatim (munki-behaviour.md §b). Every
 * dictionary type also accepts unknown keys, because admins and tools (MunkiAdmin, AutoPkg, MWA2)
 * add their own and Munki passes them through. These types describe a pkginfo that `validatePkgInfo` accepted without errors; the
 * few shapes it only warns about are spelled out in the property types.
 */

import type { PlistDict, PlistValue } from '../formats/plist-value.js';

/** A plist `<integer>`: a `number`, or a `bigint` when it does not fit a double exactly. */
export type PlistInteger = number | bigint;

/** One `installs` entry: evidence on disk that an item (at some version) is installed. */
export interface InstallsItem {
  [key: string]: PlistValue;
  /** `application`, `bundle`, `plist` or `file`; Munki treats anything else as an error. */
  type: string;
  path?: string;
  CFBundleIdentifier?: string;
  CFBundleName?: string;
  CFBundleShortVersionString?: string;
  CFBundleVersion?: string;
  /** Which key holds the expected version (default `CFBundleShortVersionString`). */
  version_comparison_key?: string;
  /** Informational; makepkginfo folds it into the pkginfo's `minimum_os_version`. */
  minosversion?: string;
  /** For `file` items: a differing MD5 makes the file count as an older version. */
  md5checksum?: string;
  /** An installed version older than this counts as not installed. */
  minimum_update_version?: string;
}

/** One `receipts` entry: a package receipt the item installs. */
export interface Receipt {
  [key: string]: PlistValue;
  packageid: string;
  version: string;
  /** True: the receipt is ignored when deciding whether the item is installed. */
  optional?: boolean;
  /** Size in KiB. */
  installed_size?: PlistInteger;
  name?: string;
  filename?: string;
}

/** One `items_to_copy` entry (copy_from_dmg / stage_os_installer). */
export interface ItemToCopy {
  [key: string]: PlistValue;
  /** Path relative to the disk image root. */
  source_item: string;
  destination_path?: string;
  destination_item?: string;
  /** Owner, default `root`. */
  user?: string;
  /** Group, default `admin`. */
  group?: string;
  /** Symbolic chmod mode, default `o-w,go+rX`. */
  mode?: string;
}

/** One `installer_choices_xml` entry, passed to `installer -applyChoiceChangesXML`. */
export interface InstallerChoice {
  [key: string]: PlistValue;
  choiceIdentifier?: string;
  choiceAttribute?: string;
  /** `installer` accepts an integer, a boolean or a string here, so it is not narrowed. */
  attributeSetting?: PlistValue;
}

/** `preinstall_alert` / `preuninstall_alert` / `preupgrade_alert`: a confirmation dialog. */
export interface Alert {
  [key: string]: PlistValue;
  alert_title?: string;
  alert_detail?: string;
  ok_label?: string;
  cancel_label?: string;
}

/** `unused_software_removal_info`: remove an optional install nobody has used for N days. */
export interface UnusedSoftwareRemovalInfo {
  [key: string]: PlistValue;
  removal_days: PlistInteger;
  /** Default: the CFBundleIdentifiers of the item's application `installs`. */
  bundle_ids?: string[];
}

/** A pkginfo dictionary: everything Munki knows about one version of one item. */
export interface PkgInfo {
  [key: string]: PlistValue;
  name: string;
  /** Must be a string: Munki's client ignores a pkginfo whose version is not. */
  version: string;
  display_name?: string;
  /** May be HTML. */
  description?: string;
  catalogs?: string[];
  category?: string;
  developer?: string;
  icon_name?: string;
  icon_hash?: string;
  featured?: boolean;
  localized_strings?: PlistDict;
  /** Admin notes; stripped by makecatalogs. */
  notes?: string;
  /** Written by makepkginfo ({created_by, creation_date, …}); stripped by makecatalogs, unchecked. */
  _metadata?: PlistDict;

  installer_item_location?: string;
  installer_item_hash?: string;
  /** KiB. */
  installer_item_size?: PlistInteger;
  /** KiB. */
  installed_size?: PlistInteger;
  uninstaller_item_location?: string;
  uninstaller_item_hash?: string;
  /** KiB. */
  uninstaller_item_size?: PlistInteger;
  PackageCompleteURL?: string;
  PackageURL?: string;
  /** Absent for pkgs; `copy_from_dmg`, `nopkg`, `stage_os_installer`, legacy values. */
  installer_type?: string;
  package_path?: string;
  items_to_copy?: ItemToCopy[];
  installer_choices_xml?: InstallerChoice[];
  installer_environment?: Record<string, string>;
  allow_untrusted?: boolean;
  suppress_bundle_relocation?: boolean;
  additional_startosinstall_options?: string[];

  installs?: InstallsItem[];
  receipts?: Receipt[];
  installcheck_script?: string;
  uninstallcheck_script?: string;
  version_script?: string;
  preinstall_script?: string;
  postinstall_script?: string;
  preuninstall_script?: string;
  postuninstall_script?: string;
  uninstall_script?: string;
  uninstallable?: boolean;
  uninstall_method?: string;

  unattended_install?: boolean;
  unattended_uninstall?: boolean;
  /** Legacy alias of `unattended_install`. */
  forced_install?: boolean;
  /** Legacy alias of `unattended_uninstall`. */
  forced_uninstall?: boolean;
  blocking_applications?: string[];
  RestartAction?: string;
  /**
   * A `<date>`. A `<string>` (as Munki 7's makepkginfo writes) only draws a warning from the
   * schema, but Munki's client ignores it, so consumers must check for a Date.
   */
  force_install_after_date?: Date | string;

  /** Munki accepts a single string as well as an array. */
  requires?: string | string[];
  /** Munki accepts a single string as well as an array. */
  update_for?: string | string[];
  minimum_os_version?: string;
  maximum_os_version?: string;
  supported_architectures?: string[];
  installable_condition?: string;
  installable_condition_disabled?: string;
  minimum_munki_version?: string;
  autoremove?: boolean;
  OnDemand?: boolean;
  precache?: boolean;
  apple_item?: boolean;
  unused_software_removal_info?: UnusedSoftwareRemovalInfo;
  licensed_seat_info_available?: boolean;
  note?: string;
  preinstall_alert?: Alert;
  preuninstall_alert?: Alert;
  preupgrade_alert?: Alert;
  display_name_staged?: string;
  description_staged?: string;
  /** KiB. */
  installed_size_staged?: PlistInteger;

  /** Legacy configuration-profile and Adobe keys, passed through. */
  payloads?: PlistDict[];
  PayloadIdentifier?: string;
  adobe_install_info?: PlistDict;
  adobe_package_name?: string;
}
