/**
 * The edits `repo manifest` makes, with the rules admins know from Munki's manifestutil
 * (code/cli/munki/manifestutil/MUmanifestEditing.swift): an item is in at most one of
 * managed_installs, managed_uninstalls and optional_installs; featured and default items must be
 * optional installs; a catalog must exist and goes first; a manifest cannot include itself.
 * Beyond manifestutil: edits can target a conditional item (its condition is checked with the
 * client's parser), and an include that would close a cycle is refused.
 */
import { isPlistDict, type PlistValue } from '../../formats/index.js';
import { AppError, describeError } from '../../lib/errors.js';
import { MANIFEST_SECTIONS, parseCondition, type ManifestSection } from '../../manifests/index.js';
import type { EditablePlist, PlistPath } from './editable-plist.js';
import type { RepoCatalogs } from './repo-catalogs.js';

/** What an edit did, for the CLI to print. */
export interface EditOutcome {
  isChanged: boolean;
  /** What was done, or why nothing needed doing. */
  notes: string[];
  /** Things the admin should look at; the edit was still made. */
  warnings: string[];
}

/** Where an edit goes: the manifest itself, or the conditional item with this exact condition. */
export interface EditScope {
  manifest: string;
  condition?: string | undefined;
}

const EXCLUSIVE: readonly ManifestSection[] = [
  'managed_installs',
  'managed_uninstalls',
  'optional_installs',
];

/** Checks a section name from the command line; USAGE naming the valid ones otherwise. */
export function parseSection(text: string): ManifestSection {
  const section = MANIFEST_SECTIONS.find((s) => s === text);
  if (!section) {
    throw new AppError('USAGE', `unknown section "${text}"`, {
      hint: `use one of ${MANIFEST_SECTIONS.join(', ')}`,
    });
  }
  return section;
}

/** Adds `item` to `section`; warns when none of the catalogs in force has it. */
export async function addItem(
  doc: EditablePlist,
  scope: EditScope,
  section: ManifestSection,
  item: string,
  catalogs: RepoCatalogs,
): Promise<EditOutcome> {
  const outcome = emptyOutcome();
  const where = describeScope(scope, section);
  const at = scopePath(doc, scope, true);
  // A conditional item that does not exist yet lists nothing.
  const listed = (key: string): string[] =>
    at === undefined ? [] : strings(doc.get([...at, key]));
  if (listed(section).includes(item)) {
    outcome.notes.push(`'${item}' is already in ${where}`);
    return outcome;
  }
  if (EXCLUSIVE.includes(section)) {
    for (const other of EXCLUSIVE) {
      if (other !== section && listed(other).includes(item)) {
        throw new AppError('USAGE', `'${item}' is already in ${describeScope(scope, other)}`, {
          hint: `remove it from ${other} first (an item is installed, removed or optional, not two of these)`,
        });
      }
    }
  }
  if (section === 'featured_items' || section === 'default_installs') {
    const optional = listed('optional_installs');
    if (scope.condition !== undefined) optional.push(...strings(doc.get(['optional_installs'])));
    if (!optional.includes(item)) {
      throw new AppError(
        'USAGE',
        `'${item}' must also be in optional_installs of manifest ${scope.manifest}`,
        {
          hint: `add it first: repo manifest add ${scope.manifest} ${item} --section optional_installs`,
        },
      );
    }
  }
  if (at === undefined) appendConditional(doc, { condition: scope.condition!, [section]: [item] });
  else addToList(doc, at, section, item, false);
  outcome.isChanged = true;
  outcome.notes.push(`Added '${item}' to ${where}.`);
  const warning = await availabilityWarning(doc, scope, item, catalogs);
  if (warning) outcome.warnings.push(warning);
  return outcome;
}

/** Removes `item` from `section`, or from every section listing it when none is given. */
export function removeItem(
  doc: EditablePlist,
  scope: EditScope,
  section: ManifestSection | undefined,
  item: string,
): EditOutcome {
  const outcome = emptyOutcome();
  const at = scopePath(doc, scope, false);
  for (const s of section ? [section] : MANIFEST_SECTIONS) {
    if (at !== undefined && removeFromList(doc, at, s, item)) {
      outcome.notes.push(`Removed '${item}' from ${describeScope(scope, s)}.`);
    }
  }
  if (outcome.notes.length === 0) {
    throw new AppError(
      'NOT_FOUND',
      `'${item}' is not in ${section ? describeScope(scope, section) : describeScope(scope, 'any section')}`,
    );
  }
  outcome.isChanged = true;
  return outcome;
}

/** Puts `catalog` first in the catalogs list (it must exist in catalogs/). */
export function addCatalog(
  doc: EditablePlist,
  scope: EditScope,
  catalog: string,
  catalogs: RepoCatalogs,
): EditOutcome {
  if (!catalogs.names.includes(catalog)) {
    throw new AppError(
      'USAGE',
      `unknown catalog "${catalog}": catalogs/${catalog} does not exist`,
      {
        hint:
          catalogs.names.length > 0
            ? `catalogs in this repo: ${catalogs.names.join(', ')}`
            : 'run `repo makecatalogs` first',
      },
    );
  }
  return addListEntry(doc, scope, 'catalogs', catalog, true);
}

/** Appends `include` to included_manifests; it must exist, not be this one, and not loop back. */
export async function addInclude(
  doc: EditablePlist,
  scope: EditScope,
  include: string,
  includesOf: (name: string) => Promise<string[] | undefined>,
): Promise<EditOutcome> {
  if (include === scope.manifest) {
    throw new AppError('USAGE', `manifest ${scope.manifest} cannot include itself`);
  }
  const path = await includePath(include, scope.manifest, includesOf);
  if (path === 'missing') {
    throw new AppError('NOT_FOUND', `manifests/${include}: no such manifest to include`);
  }
  if (path) {
    throw new AppError(
      'USAGE',
      `including ${include} in ${scope.manifest} would make a cycle: ${[scope.manifest, ...path].join(' → ')}`,
    );
  }
  return addListEntry(doc, scope, 'included_manifests', include, false);
}

/** Removes `value` from `key` (catalogs or included_manifests); NOT_FOUND when absent. */
export function removeListEntry(
  doc: EditablePlist,
  scope: EditScope,
  key: 'catalogs' | 'included_manifests',
  value: string,
): EditOutcome {
  const at = scopePath(doc, scope, false);
  if (at === undefined || !removeFromList(doc, at, key, value)) {
    throw new AppError('NOT_FOUND', `'${value}' is not in ${describeScope(scope, key)}`);
  }
  return {
    isChanged: true,
    notes: [`Removed '${value}' from ${describeScope(scope, key)}.`],
    warnings: [],
  };
}

function addListEntry(
  doc: EditablePlist,
  scope: EditScope,
  key: 'catalogs' | 'included_manifests',
  value: string,
  atTop: boolean,
): EditOutcome {
  const outcome = emptyOutcome();
  const at = scopePath(doc, scope, true);
  if (at === undefined) {
    appendConditional(doc, { condition: scope.condition!, [key]: [value] });
  } else if (strings(doc.get([...at, key])).includes(value)) {
    outcome.notes.push(`'${value}' is already in ${describeScope(scope, key)}`);
    return outcome;
  } else {
    addToList(doc, at, key, value, atTop);
  }
  outcome.isChanged = true;
  outcome.notes.push(`Added '${value}' to ${describeScope(scope, key)}.`);
  return outcome;
}

/**
 * The path of the dict an edit targets: [] for the manifest, ['conditional_items', i] for the
 * conditional item with the scope's condition. Undefined when that conditional item does not exist
 * yet (`create` only checks the condition then, so the caller can append one).
 */
function scopePath(doc: EditablePlist, scope: EditScope, create: boolean): PlistPath | undefined {
  if (scope.condition === undefined) return [];
  if (create) {
    try {
      parseCondition(scope.condition);
    } catch (e) {
      throw new AppError(
        'CONDITION_INVALID',
        `condition \`${scope.condition}\`: ${describeError(e)}`,
        {
          cause: e,
        },
      );
    }
  }
  const list = doc.get(['conditional_items']);
  if (list !== undefined && !Array.isArray(list)) {
    throw new AppError(
      'SCHEMA_INVALID',
      `manifests/${scope.manifest}: conditional_items is not an array`,
    );
  }
  const index = (list ?? []).findIndex((c) => isPlistDict(c) && c['condition'] === scope.condition);
  if (index >= 0) return ['conditional_items', index];
  if (!create) {
    throw new AppError(
      'NOT_FOUND',
      `manifest ${scope.manifest} has no conditional item with condition \`${scope.condition}\``,
    );
  }
  return undefined;
}

function appendConditional(doc: EditablePlist, entry: Record<string, PlistValue>): void {
  if (doc.get(['conditional_items']) === undefined) doc.addKey([], 'conditional_items', [entry]);
  else doc.insertItem(['conditional_items'], entry);
}

function addToList(
  doc: EditablePlist,
  at: PlistPath,
  key: string,
  value: string,
  atTop: boolean,
): void {
  const list = doc.get([...at, key]);
  if (list === undefined) doc.addKey(at, key, [value]);
  else if (Array.isArray(list)) doc.insertItem([...at, key], value, atTop ? 0 : undefined);
  else throw new AppError('SCHEMA_INVALID', `${[...at, key].join('.')} is not an array`);
}

/** Removes every `value` from the list at `key`; true when there was one. */
function removeFromList(doc: EditablePlist, at: PlistPath, key: string, value: string): boolean {
  const list = doc.get([...at, key]);
  if (!Array.isArray(list)) return false;
  let isRemoved = false;
  for (let i = list.length - 1; i >= 0; i--) {
    if (list[i] === value) {
      doc.removeItem([...at, key], i);
      isRemoved = true;
    }
  }
  return isRemoved;
}

async function availabilityWarning(
  doc: EditablePlist,
  scope: EditScope,
  item: string,
  catalogs: RepoCatalogs,
): Promise<string | undefined> {
  if (catalogs.names.length === 0) {
    return `catalogs/ is empty, so '${item}' could not be checked (run \`repo makecatalogs\`)`;
  }
  const at = scopePath(doc, scope, false) ?? [];
  const own = strings(doc.get([...at, 'catalogs']));
  const inForce = own.length > 0 ? own : strings(doc.get(['catalogs']));
  const scopeCatalogs = inForce.length > 0 ? inForce : ['all'];
  if (await catalogs.hasItem(item, scopeCatalogs)) return undefined;
  const which =
    inForce.length > 0
      ? `catalogs ${inForce.join(', ')}`
      : 'any catalog (the manifest has none of its own)';
  return `'${item}' is not available in ${which} of manifest ${scope.manifest}`;
}

/** The include chain from `from` that reaches `target`, if any ('missing' when `from` does not exist). */
async function includePath(
  from: string,
  target: string,
  includesOf: (name: string) => Promise<string[] | undefined>,
): Promise<string[] | undefined | 'missing'> {
  const first = await includesOf(from);
  if (first === undefined) return 'missing';
  const seen = new Set<string>([from]);
  const queue: { name: string; path: string[]; includes: string[] }[] = [
    { name: from, path: [from], includes: first },
  ];
  while (queue.length > 0) {
    const { path, includes } = queue.shift()!;
    for (const next of includes) {
      if (next === target) return [...path, next];
      if (seen.has(next)) continue;
      seen.add(next);
      const nested = await includesOf(next);
      if (nested) queue.push({ name: next, path: [...path, next], includes: nested });
    }
  }
  return undefined;
}

function describeScope(scope: EditScope, key: string): string {
  const base = `${key} of manifest ${scope.manifest}`;
  return scope.condition === undefined ? base : `${base} (condition \`${scope.condition}\`)`;
}

function strings(value: PlistValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function emptyOutcome(): EditOutcome {
  return { isChanged: false, notes: [], warnings: [] };
}
