/**
 * The manifest JSON Schema (draft 2020-12, with the `plistType` vocabulary of
 * catalogs/schema-support.ts). Checks the types of the keys Munki reads; unknown keys are allowed.
 */

import { createPlistValidator } from '../catalogs/index.js';
import type { SchemaIssue } from '../catalogs/index.js';

const strings = { plistType: 'array', items: { plistType: 'string' } } as const;

/** The keys a manifest and a conditional item share. */
const sections = {
  catalogs: strings,
  included_manifests: strings,
  managed_installs: strings,
  managed_uninstalls: strings,
  managed_updates: strings,
  optional_installs: strings,
  featured_items: strings,
  default_installs: strings,
  conditional_items: { plistType: 'array', items: { $ref: '#/$defs/conditionalItem' } },
} as const;

/** The manifest schema, publishable as is; `plistType` is our vocabulary for plist value types. */
export const manifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:abbot:schema:manifest',
  title: 'Munki manifest',
  $comment:
    'plistType names a plist value type (string, integer, real, boolean, date, data, array, dict); plistWarnIfMissing maps a key whose absence Munki survives to a note, making it a warning.',
  plistType: 'dict',
  properties: sections,
  $defs: {
    conditionalItem: {
      description: 'An embedded manifest applied when its NSPredicate `condition` is true',
      plistType: 'dict',
      properties: { ...sections, condition: { plistType: 'string' } },
      plistWarnIfMissing: { condition: 'Munki skips a conditional item without a condition' },
    },
  },
} as const;

const validate = createPlistValidator(manifestSchema);

/**
 * Checks a parsed manifest against {@link manifestSchema}; `[]` means valid. Issues name the value
 * (`conditional_items[0].managed_installs[2]`) and say what is wrong.
 */
export function validateManifest(value: unknown): SchemaIssue[] {
  return validate(value);
}
