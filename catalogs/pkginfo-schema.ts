/**
 * The pkginfo JSON Schema (draft 2020-12, with the `plistType` vocabulary of schema-support.ts).
 * It checks the TYPES of the keys Munki understands and never rejects unknown keys: admins and
 * tools add their own, and Munki passes them through. The only presence rules are the ones Munki
 * itself enforces: a pkginfo needs a string `name` and `version` (the client ignores it otherwise),
 * an `installs` entry needs a `type`, a receipt a `packageid` (and a `version` unless optional),
 * an `items_to_copy` entry a `source_item`, `unused_software_removal_info` its `removal_days`.
 */

import { createPlistValidator } from './schema-support.js';
import type { SchemaIssue } from './schema-support.js';

const string = { plistType: 'string' } as const;
const integer = { plistType: 'integer' } as const;
const boolean = { plistType: 'boolean' } as const;
const dict = { plistType: 'dict' } as const;
const strings = { plistType: 'array', items: string } as const;
const ref = (name: string): { $ref: string } => ({ $ref: `#/$defs/${name}` });
const arrayOf = (name: string): { plistType: 'array'; items: { $ref: string } } => ({
  plistType: 'array',
  items: ref(name),
});
const kib = (description: string): { plistType: 'integer'; description: string } => ({
  ...integer,
  description: `${description}, in KiB`,
});

/** The pkginfo schema, publishable as is; `plistType` is our vocabulary for plist value types. */
export const pkginfoSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:abbot:schema:pkginfo',
  title: 'Munki pkginfo',
  $comment:
    'plistType names a plist value type (string, integer, real, boolean, date, data, array, dict); plistTolerated maps a wrong type that Munki tolerates to a note, making it a warning.',
  plistType: 'dict',
  required: ['name', 'version'],
  properties: {
    name: string,
    version: { ...string, description: 'Must be a string; Munki ignores the item otherwise' },
    display_name: string,
    description: string,
    catalogs: strings,
    category: string,
    developer: string,
    icon_name: string,
    icon_hash: string,
    featured: boolean,
    localized_strings: dict,
    notes: string,
    _metadata: { ...dict, description: 'Written by makepkginfo; contents are not checked' },

    installer_item_location: string,
    installer_item_hash: string,
    installer_item_size: kib('Download size'),
    installed_size: kib('Installed size'),
    uninstaller_item_location: string,
    uninstaller_item_hash: string,
    uninstaller_item_size: kib('Uninstaller download size'),
    PackageCompleteURL: string,
    PackageURL: string,
    installer_type: string,
    package_path: string,
    items_to_copy: arrayOf('itemToCopy'),
    installer_choices_xml: arrayOf('installerChoice'),
    installer_environment: { ...dict, additionalProperties: string },
    allow_untrusted: boolean,
    suppress_bundle_relocation: boolean,
    additional_startosinstall_options: strings,

    installs: arrayOf('installsItem'),
    receipts: arrayOf('receipt'),
    installcheck_script: string,
    uninstallcheck_script: string,
    version_script: string,
    preinstall_script: string,
    postinstall_script: string,
    preuninstall_script: string,
    postuninstall_script: string,
    uninstall_script: string,
    uninstallable: boolean,
    uninstall_method: string,

    unattended_install: boolean,
    unattended_uninstall: boolean,
    forced_install: boolean,
    forced_uninstall: boolean,
    blocking_applications: strings,
    RestartAction: string,
    force_install_after_date: {
      plistType: 'date',
      plistTolerated: {
        // Munki 7's makepkginfo writes a string here, so repos have them; the client's `as? Date`
        // then skips the deadline silently. Worth telling the admin, not worth failing the item.
        string: 'Munki clients ignore a deadline written as a string, so it is not enforced',
      },
    },

    requires: ref('itemReferences'),
    update_for: ref('itemReferences'),
    minimum_os_version: string,
    maximum_os_version: string,
    supported_architectures: strings,
    installable_condition: string,
    installable_condition_disabled: string,
    minimum_munki_version: string,
    autoremove: boolean,
    OnDemand: boolean,
    precache: boolean,
    apple_item: boolean,
    unused_software_removal_info: ref('unusedSoftwareRemovalInfo'),
    licensed_seat_info_available: boolean,
    note: string,
    preinstall_alert: ref('alert'),
    preuninstall_alert: ref('alert'),
    preupgrade_alert: ref('alert'),
    display_name_staged: string,
    description_staged: string,
    installed_size_staged: kib('Installed size once staged'),

    payloads: { plistType: 'array', items: dict },
    PayloadIdentifier: string,
    adobe_install_info: dict,
    adobe_package_name: string,
  },
  $defs: {
    itemReferences: {
      description: 'Item names (`name`, `name-1.0`, `name--1.0`); Munki also accepts one string',
      plistType: ['array', 'string'],
      items: string,
    },
    installsItem: {
      plistType: 'dict',
      required: ['type'],
      properties: {
        type: string,
        path: string,
        CFBundleIdentifier: string,
        CFBundleName: string,
        CFBundleShortVersionString: string,
        CFBundleVersion: string,
        version_comparison_key: string,
        minosversion: string,
        md5checksum: string,
        minimum_update_version: string,
      },
    },
    receipt: {
      plistType: 'dict',
      required: ['packageid'],
      properties: {
        packageid: string,
        version: string,
        optional: boolean,
        installed_size: kib('Installed size'),
        name: string,
        filename: string,
      },
      // Munki checks `optional` before it looks for a version, so only required receipts need one.
      if: { required: ['optional'], properties: { optional: { const: true } } },
      else: { required: ['version'] },
    },
    itemToCopy: {
      plistType: 'dict',
      required: ['source_item'],
      properties: {
        source_item: string,
        destination_path: string,
        destination_item: string,
        user: string,
        group: string,
        mode: string,
      },
    },
    installerChoice: {
      plistType: 'dict',
      // attributeSetting is an integer, boolean or string depending on the choice attribute.
      properties: { choiceIdentifier: string, choiceAttribute: string },
    },
    alert: {
      plistType: 'dict',
      properties: {
        alert_title: string,
        alert_detail: string,
        ok_label: string,
        cancel_label: string,
      },
    },
    unusedSoftwareRemovalInfo: {
      plistType: 'dict',
      required: ['removal_days'],
      properties: { removal_days: integer, bundle_ids: strings },
    },
  },
} as const;

const validate = createPlistValidator(pkginfoSchema);

/**
 * Checks a parsed pkginfo against {@link pkginfoSchema}; `[]` means valid. Issues name the value
 * (`installs[0].path`) and say what is wrong ("must be a string (found integer)").
 */
export function validatePkgInfo(value: unknown): SchemaIssue[] {
  return validate(value);
}
