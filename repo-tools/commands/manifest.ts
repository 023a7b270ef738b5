/**
 * `repo manifest`: creates, lists, shows, searches and edits manifests in a file repo. Edits keep
 * the file's own formatting (only the lines that change are touched), are written atomically
 * under a lock, and are checked against the repo's catalogs and the client's condition parser.
 */
import { isPlistDict, buildPlist, type PlistDict } from '../../formats/index.js';
import { AppError, describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ManifestSection } from '../../manifests/index.js';
import { findInManifest, formatMatch, type ManifestMatch } from '../manifest-edit/manifest-find.js';
import {
  hasManifest,
  listManifestNames,
  openManifestStore,
  readManifest,
  withManifestLock,
  writeManifest,
  type ManifestStore,
} from '../manifest-edit/manifest-store.js';
import {
  addCatalog,
  addInclude,
  addItem,
  parseSection,
  removeItem,
  removeListEntry,
  type EditOutcome,
  type EditScope,
} from '../manifest-edit/manifest-verbs.js';
import { outlineManifest, resolvedManifestView } from '../manifest-edit/manifest-view.js';
import { openRepoCatalogs } from '../manifest-edit/repo-catalogs.js';
import type { EditablePlist } from '../manifest-edit/editable-plist.js';

/** The verbs of `repo manifest`. */
export const MANIFEST_VERBS = [
  'new',
  'list',
  'show',
  'add',
  'remove',
  'add-catalog',
  'remove-catalog',
  'add-include',
  'remove-include',
  'find',
] as const;

/** What `repo manifest` was asked to do. */
export interface ManifestCommandOptions {
  repo: string;
  verb: string;
  /** Positional arguments after the verb. */
  args: string[];
  section?: string | undefined;
  condition?: string | undefined;
  /** Catalogs for `new`, in order. */
  catalogs?: string[] | undefined;
  isResolved?: boolean;
  /** Prints one line of the command's output (stdout). */
  out: (line: string) => void;
  logger: Logger;
}

/** Runs one `repo manifest` verb; bad input throws AppError, and nothing is written then. */
export async function runManifestCommand(options: ManifestCommandOptions): Promise<number> {
  const { verb, args, out, logger } = options;
  const store = openManifestStore(options.repo);
  const section = options.section === undefined ? undefined : parseSection(options.section);
  const expect = (names: string[]): string[] => {
    if (args.length !== names.length) {
      throw new AppError(
        'USAGE',
        `repo manifest ${verb} takes ${names.join(' ')}, got ${args.length} argument${args.length === 1 ? '' : 's'}`,
      );
    }
    return args;
  };
  const scopeOf = (manifest: string): EditScope => ({ manifest, condition: options.condition });
  switch (verb) {
    case 'new': {
      const [name] = expect(['NAME']);
      await newManifest(store, name!, options.catalogs ?? []);
      logger.info('manifest.new', `Created manifest ${name}.`);
      return 0;
    }
    case 'list': {
      expect([]);
      for (const name of listManifestNames(store)) out(name);
      return 0;
    }
    case 'show': {
      const [name] = expect(['NAME']);
      if (options.isResolved) {
        const load = async (n: string): Promise<PlistDict> =>
          (await readManifest(store, n)).value as PlistDict;
        for (const line of await resolvedManifestView(name!, load)) out(line);
      } else {
        for (const line of outlineManifest((await readManifest(store, name!)).value as PlistDict))
          out(line);
      }
      return 0;
    }
    case 'find': {
      const [text] = expect(['ITEM']);
      const matches = await findEverywhere(store, text!, section, logger);
      for (const m of matches) out(formatMatch(m));
      out(`${matches.length} match${matches.length === 1 ? '' : 'es'} found.`);
      return 0;
    }
    case 'add': {
      const [name, item] = expect(['NAME', 'ITEM']);
      const catalogs = openRepoCatalogs(store.repo);
      return edit(store, name!, options, (doc) =>
        addItem(doc, scopeOf(name!), section ?? 'managed_installs', item!, catalogs),
      );
    }
    case 'remove': {
      const [name, item] = expect(['NAME', 'ITEM']);
      return edit(store, name!, options, (doc) => removeItem(doc, scopeOf(name!), section, item!));
    }
    case 'add-catalog': {
      const [name, catalog] = expect(['NAME', 'CATALOG']);
      const catalogs = openRepoCatalogs(store.repo);
      return edit(store, name!, options, (doc) =>
        addCatalog(doc, scopeOf(name!), catalog!, catalogs),
      );
    }
    case 'remove-catalog': {
      const [name, catalog] = expect(['NAME', 'CATALOG']);
      return edit(store, name!, options, (doc) =>
        removeListEntry(doc, scopeOf(name!), 'catalogs', catalog!),
      );
    }
    case 'add-include': {
      const [name, include] = expect(['NAME', 'MANIFEST']);
      return edit(store, name!, options, (doc) =>
        addInclude(doc, scopeOf(name!), include!, (n) => includesOf(store, n)),
      );
    }
    case 'remove-include': {
      const [name, include] = expect(['NAME', 'MANIFEST']);
      return edit(store, name!, options, (doc) =>
        removeListEntry(doc, scopeOf(name!), 'included_manifests', include!),
      );
    }
    default:
      throw new AppError('USAGE', `unknown manifest verb "${verb}"`, {
        hint: `use one of ${MANIFEST_VERBS.join(', ')}`,
      });
  }
}

/** Reads, edits and (when something changed) writes manifest `name`, all under the lock. */
async function edit(
  store: ManifestStore,
  name: string,
  options: ManifestCommandOptions,
  change: (doc: EditablePlist) => EditOutcome | Promise<EditOutcome>,
): Promise<number> {
  return withManifestLock(store, async () => {
    const doc = await readManifest(store, name);
    const outcome = await change(doc);
    for (const warning of outcome.warnings)
      options.logger.warn('manifest.warning', `WARNING: ${warning}`);
    if (outcome.isChanged) {
      const { text, isFormattingKept } = doc.serialize();
      await writeManifest(store, name, text);
      if (!isFormattingKept) {
        options.logger.warn(
          'manifest.rewritten',
          `WARNING: manifests/${name} was rewritten in Apple's plist layout: its own formatting could not be kept`,
        );
      }
    }
    for (const note of outcome.notes) options.logger.info('manifest.edit', note);
    return 0;
  });
}

async function newManifest(store: ManifestStore, name: string, catalogs: string[]): Promise<void> {
  const known = openRepoCatalogs(store.repo).names;
  for (const c of catalogs) {
    if (!known.includes(c)) {
      throw new AppError('USAGE', `unknown catalog "${c}": catalogs/${c} does not exist`, {
        hint:
          known.length > 0
            ? `catalogs in this repo: ${known.join(', ')}`
            : 'run `repo makecatalogs` first',
      });
    }
  }
  await withManifestLock(store, async () => {
    if (await hasManifest(store, name)) {
      throw new AppError('USAGE', `manifests/${name} already exists`);
    }
    // The keys manifestutil's new-manifest writes.
    const manifest = {
      catalogs,
      included_manifests: [],
      managed_installs: [],
      managed_uninstalls: [],
    };
    await writeManifest(store, name, buildPlist(manifest));
  });
}

/** The manifests `name` includes (also inside conditional items), or undefined when it is missing. */
async function includesOf(store: ManifestStore, name: string): Promise<string[] | undefined> {
  if (!(await hasManifest(store, name))) return undefined;
  const manifest = (await readManifest(store, name)).value as PlistDict;
  return findInManifest(name, manifest, '', ['included_manifests'])
    .map((m) => m.entry)
    .filter((e) => e !== '');
}

async function findEverywhere(
  store: ManifestStore,
  text: string,
  section: ManifestSection | undefined,
  logger: Logger,
): Promise<ManifestMatch[]> {
  const matches: ManifestMatch[] = [];
  for (const name of listManifestNames(store)) {
    let manifest;
    try {
      manifest = (await readManifest(store, name)).value;
    } catch (e) {
      // One broken manifest must not hide the matches in all the others.
      logger.warn('manifest.find.unreadable', `WARNING: ${describeError(e)}`);
      continue;
    }
    if (isPlistDict(manifest)) {
      matches.push(...findInManifest(name, manifest, text, section ? [section] : undefined));
    }
  }
  return matches;
}
