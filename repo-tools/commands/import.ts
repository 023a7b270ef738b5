/**
 * `repo import ITEM`: munkiimport's flow for a file repo. The item is described (makepkginfo), compared
 * with what the repo already has (an identical installer item is refused unless --force; a similar
 * one lends its display name, description, category… as a template), optionally edited at prompts,
 * copied into pkgs/ and its pkginfo written into pkgsinfo/ (never over an existing file), an icon
 * optionally extracted from the app in the package, and the catalogs rebuilt. Anything that fails
 * before the pkginfo is saved removes every file this run created.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import type { PkgInfo } from '../../catalogs/index.js';
import { buildPlist, parsePlist, type PlistValue } from '../../formats/index.js';
import { AppError, describeError } from '../../lib/errors.js';
import { acquireRunLock } from '../../lib/lock.js';
import type { Logger } from '../../lib/log.js';
import { assertRepo } from '../file-repo.js';
import { extractIcon } from '../pkginfo/extract-icon.js';
import { warnIfNoInstallCheck } from '../pkginfo/install-check-warning.js';
import { makePkginfo, type MakePkginfoContext } from '../pkginfo/make-pkginfo.js';
import { findMatchingItem, type MatchingItem } from '../pkginfo/matching-item.js';
import type { ImportFlags, PkginfoOptions } from '../pkginfo/options.js';
import type { Prompter } from '../pkginfo/prompts.js';
import {
  checkedSubdirectory,
  placeInstallerItem,
  placePkginfo,
  removePlaced,
  type PlacedFile,
} from '../pkginfo/repo-placement.js';
import { makeCatalogs } from './makecatalogs.js';

/** What `repo import` takes. */
export interface ImportOptions {
  /** The positional arguments: one installer item, or none with --nopkg. */
  item: string[];
  repo: string;
  options: PkginfoOptions;
  flags: ImportFlags;
  context: MakePkginfoContext;
  prompter: Prompter;
  logger: Logger;
  /** Show makecatalogs' report too. */
  verbose?: boolean;
}

/** What an import did. */
export interface ImportResult {
  /** 0 imported (or declined at a prompt); 1 imported but makecatalogs reported errors. */
  exitCode: 0 | 1;
  /** Paths relative to the repo; absent when the admin declined. */
  pkginfoPath?: string;
  installerItemPath?: string;
  iconPath?: string;
  pkginfo?: PkgInfo;
}

// What munkiimport copies from a similar item (munkiimport.swift), besides display_name/description.
const TEMPLATE_KEYS = [
  'name',
  'blocking_applications',
  'unattended_install',
  'unattended_uninstall',
  'requires',
  'update_for',
  'category',
  'developer',
  'icon_name',
  'unused_software_removal_info',
  'localized_strings',
  'featured',
] as const;

/** Imports one item into the repo (see the module comment). */
export async function importItem(opts: ImportOptions): Promise<ImportResult> {
  const { repo, logger, prompter } = opts;
  assertRepo(repo, ['pkgsinfo', 'pkgs']);
  const item = importedItem(opts.item, opts.options.nopkg);
  const lock = await acquireRunLock(join(repo, '.abbot-import.lock'), 'repo import');
  try {
    const made = await makePkginfo(item, opts.options, { ...opts.context, repo });
    const pkginfo = made.pkginfo;
    let subdir = opts.flags.subdirectory;

    const match = findMatchingItem(readAllCatalog(repo, logger), pkginfo);
    if (match !== undefined) {
      describeMatch(match, logger);
      if (match.by === 'hash' && !opts.flags.force) {
        if (!prompter.isInteractive) {
          throw new AppError(
            'USAGE',
            `${item ?? 'item'} is identical to pkgs/${match.item.installer_item_location ?? '?'} already in the repo (${match.item.name} ${match.item.version})`,
            { hint: 'pass --force to import it again' },
          );
        }
        if (!(await prompter.confirm('Import this item anyway?'))) return declined(logger);
      }
      const useIt = prompter.isInteractive
        ? await prompter.confirm('Use existing item as a template?')
        : opts.flags.useTemplate;
      if (useIt) subdir ??= applyTemplate(pkginfo, match.item, opts.options, logger);
    }

    if (prompter.isInteractive) await editAtPrompts(pkginfo, prompter);
    warnIfNoInstallCheck(pkginfo, logger);
    const inPkgs = item === undefined ? undefined : insidePkgs(repo, item);
    subdir ??= inPkgs === undefined ? '' : posix.dirname(inPkgs).replace(/^\.$/, '');
    if (prompter.isInteractive) {
      if (!(await prompter.confirm('Import this item?'))) return declined(logger);
      subdir = await prompter.ask('Upload item to subdirectory path', subdir);
    }
    subdir = checkedSubdirectory(subdir);

    const created: PlacedFile[] = [];
    let result: ImportResult;
    try {
      let installerItemPath: string | undefined;
      if (item !== undefined) {
        if (inPkgs === undefined) {
          const placed = await placeInstallerItem(repo, subdir, item, pkginfo.version);
          created.push(placed);
          pkginfo.installer_item_location = placed.relative;
          logger.info('import.item.copied', `Copied ${item} to pkgs/${placed.relative}`);
        } else {
          pkginfo.installer_item_location = inPkgs;
        }
        installerItemPath = `pkgs/${pkginfo.installer_item_location}`;
      }
      let iconPath: string | undefined;
      if (opts.flags.extractIcon && item !== undefined) {
        const icon = await extractIcon(repo, item, made.apps, pkginfo, logger);
        if (icon !== undefined) {
          created.push(icon);
          iconPath = `icons/${icon.relative}`;
          logger.info('import.icon.saved', `Saved icon to ${iconPath}`);
        }
      }
      const arch = pkginfo.supported_architectures;
      const placed = await placePkginfo(
        repo,
        subdir,
        pkginfo.name,
        pkginfo.version,
        arch?.length === 1 ? arch[0] : undefined,
        buildPlist(pkginfo, { sortKeys: true }),
      );
      const pkginfoPath = `pkgsinfo/${placed.relative}`;
      logger.info('import.pkginfo.saved', `Saved pkginfo to ${pkginfoPath}`);
      result = { exitCode: 0, pkginfoPath, pkginfo };
      if (installerItemPath !== undefined) result.installerItemPath = installerItemPath;
      if (iconPath !== undefined) result.iconPath = iconPath;
    } catch (e) {
      // Nothing refers to the copies yet: take them away again, so a failed import leaves no trace.
      for (const c of created.reverse()) await removePlaced(c);
      throw e;
    }
    // The item is in the repo now; a makecatalogs failure is reported, never undone.
    const quietInfo: Logger = { ...logger, info: () => {} };
    const catalogs = await makeCatalogs({ repo, logger: opts.verbose ? logger : quietInfo });
    logger.info('import.catalogs.rebuilt', 'Rebuilt catalogs');
    return { ...result, exitCode: catalogs.exitCode };
  } finally {
    prompter.close();
    await lock.release();
  }
}

/** The one installer item (or none, for --nopkg). */
function importedItem(positionals: readonly string[], nopkg: boolean): string | undefined {
  if (positionals.length > 1) throw new AppError('USAGE', 'expected one ITEM to import');
  const item = positionals[0];
  if (item === undefined && !nopkg) {
    throw new AppError('USAGE', 'missing ITEM to import', {
      hint: 'pass a .pkg or .dmg, or --nopkg with --name and --pkgvers',
    });
  }
  return item;
}

/** The items of catalogs/all, or [] (with a warning when it exists but cannot be read). */
function readAllCatalog(repo: string, logger: Logger): PlistValue[] {
  const path = join(repo, 'catalogs', 'all');
  if (!existsSync(path)) return [];
  try {
    const all = parsePlist(readFileSync(path), { source: path });
    return Array.isArray(all) ? all : [];
  } catch (e) {
    logger.warn(
      'import.catalog.unreadable',
      `WARNING: could not read existing catalogs: ${describeError(e)}`,
    );
    return [];
  }
}

function describeMatch(match: MatchingItem, logger: Logger): void {
  const { item } = match;
  logger.info(
    'import.match',
    match.by === 'hash'
      ? `This item is identical to an existing item in the repo: ${item.name} ${item.version} (pkgs/${item.installer_item_location ?? '?'})`
      : `This item is similar to an existing item in the repo: ${item.name} ${item.version} (same ${match.by})`,
  );
}

/**
 * Copies munkiimport's template fields from `existing` into `pkginfo`, except what the admin set
 * with a flag (flags always win); returns the existing item's subdirectory.
 */
function applyTemplate(
  pkginfo: PkgInfo,
  existing: PkgInfo,
  options: PkginfoOptions,
  logger: Logger,
): string | undefined {
  const setByFlag = new Set<string>();
  const mark = (key: string, isSet: boolean): void => void (isSet && setByFlag.add(key));
  mark('name', options.name !== undefined);
  mark('display_name', options.displayName !== undefined);
  mark('description', options.description !== undefined);
  mark('category', options.category !== undefined);
  mark('developer', options.developer !== undefined);
  mark('icon_name', options.iconName !== undefined);
  mark('unattended_install', options.unattendedInstall);
  mark('unattended_uninstall', options.unattendedUninstall);
  mark('requires', options.requires.length > 0);
  mark('update_for', options.updateFor.length > 0);
  mark('blocking_applications', options.blockingApplications.length > 0);
  const copy = (key: string, value: PlistValue | undefined): void => {
    if (value === undefined || setByFlag.has(key)) return;
    pkginfo[key] = value;
    logger.info(
      'import.template.copied',
      `Copying ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
    );
  };
  copy('display_name', existing.display_name ?? (pkginfo.display_name ? undefined : existing.name));
  if (pkginfo.description === undefined) copy('description', existing.description);
  for (const key of TEMPLATE_KEYS) copy(key, existing[key]);
  const location = existing.installer_item_location;
  return location === undefined ? undefined : posix.dirname(location).replace(/^\.$/, '');
}

/** munkiimport's edit prompts: the main fields, then the catalogs as a comma-separated list. */
async function editAtPrompts(pkginfo: PkgInfo, prompter: Prompter): Promise<void> {
  for (const [label, key] of [
    ['Item name', 'name'],
    ['Display name', 'display_name'],
    ['Description', 'description'],
    ['Version', 'version'],
    ['Category', 'category'],
    ['Developer', 'developer'],
  ] as const) {
    const current = pkginfo[key];
    const answer = await prompter.ask(label, typeof current === 'string' ? current : '');
    if (answer !== '') pkginfo[key] = answer;
  }
  for (const [label, key] of [
    ['Unattended install', 'unattended_install'],
    ['Unattended uninstall', 'unattended_uninstall'],
  ] as const) {
    const answer = await prompter.ask(label, pkginfo[key] === true ? 'True' : 'False');
    pkginfo[key] = /^t/i.test(answer);
  }
  const catalogs = await prompter.ask('Catalogs', (pkginfo.catalogs ?? ['testing']).join(','));
  pkginfo.catalogs = catalogs
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

/** The item's path relative to the repo's pkgs/ when it is already there (nothing to copy). */
function insidePkgs(repo: string, item: string): string | undefined {
  let rel: string;
  try {
    rel = relative(realpathSync(join(repo, 'pkgs')), realpathSync(item));
  } catch {
    return undefined;
  }
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) return undefined;
  return rel.split(sep).join('/');
}

function declined(logger: Logger): ImportResult {
  logger.info('import.declined', 'Nothing imported.');
  return { exitCode: 0 };
}
