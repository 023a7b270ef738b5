/**
 * makepkginfo's whole recipe, in Munki's order (makepkginfo in
 * code/cli/munki/shared/admin/pkginfolib.swift): facts from the installer item (flat package or disk
 * image), its hash, size and location, `removepackages` when it leaves receipts; then the admin's
 * options on top; `installs` from `-f`; minimum_os_version raised to what the installs' apps need;
 * scripts read from their files; `_metadata`, and the `testing` catalog unless one was named.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, relative, resolve, sep } from 'node:path';
import { compareVersions, validatePkgInfo, type PkgInfo } from '../../catalogs/index.js';
import type { PlistDict } from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Progress } from '../../lib/progress.js';
import { abbotVersion } from '../../lib/version.js';
import type { PayloadApp } from './app-bundles.js';
import { pkginfoFromDiskImage } from './disk-image.js';
import { fileInstallsItem } from './file-installs-item.js';
import { pkginfoFromFlatPackage } from './from-flat-package.js';
import { installerChoices } from './installer-choices.js';
import { SCRIPT_KEYS, type PkginfoOptions } from './options.js';
import { assertRegularFile, digestItemFile } from './package-file.js';

/** What makepkginfo needs besides its options. */
export interface MakePkginfoContext {
  /** A repo whose pkgs/ the item may already sit in (its location is then relative to pkgs/). */
  repo?: string;
  /** `_metadata.creation_date`. */
  now: Date;
  /** `_metadata.created_by`. */
  user: string;
  platform: NodeJS.Platform;
  /** Folder standing for `/` when finding Apple's tools (`/` on a Mac; a fake in tests). */
  toolRoot: string;
  logger: Logger;
  /** Shows hashing progress of big items on a terminal. */
  progress?: Progress;
}

/** A made pkginfo, with what was found inside the installer item. */
export interface MadePkginfo {
  pkginfo: PkgInfo;
  /** `package` for a flat package, `disk-image`, `nopkg`, or `fragment` (only `-f`/scripts). */
  kind: 'package' | 'disk-image' | 'nopkg' | 'fragment';
  /** Application bundles found in the package's payloads. */
  apps: PayloadApp[];
}

/** Builds the pkginfo for `item` (a path, or undefined for `--nopkg` and `-f`-only runs). */
export async function makePkginfo(
  item: string | undefined,
  options: PkginfoOptions,
  ctx: MakePkginfoContext,
): Promise<MadePkginfo> {
  let pkginfo: PlistDict;
  let apps: PayloadApp[] = [];
  let kind: MadePkginfo['kind'];
  if (item !== undefined) {
    const ext = extname(item).toLowerCase();
    if (ext === '.dmg' || ext === '.iso') {
      await assertRegularFile(item);
      ({ pkginfo, apps } = await pkginfoFromDiskImage(item, options, ctx));
      kind = 'disk-image';
    } else if (ext === '.pkg' || ext === '.mpkg') {
      ({ pkginfo, apps } = await pkginfoFromFlatPackage(item));
      if (options.installerChoicesXml) {
        pkginfo['installer_choices_xml'] = await installerChoices(item, ctx.platform, ctx.toolRoot);
      }
      kind = 'package';
    } else {
      throw new AppError('USAGE', `${item}: not a supported installer item`, {
        hint: 'pass a flat package (.pkg, .mpkg) or a disk image (.dmg, .iso)',
      });
    }
    const digest = await digestItemFile(item, ctx.progress);
    pkginfo['installer_item_hash'] = digest.sha256;
    pkginfo['installer_item_size'] = digest.sizeKiB;
    pkginfo['installer_item_location'] = repoPkgPath(item, ctx.repo);
    const receipts = pkginfo['receipts'];
    if (pkginfo['uninstall_method'] === undefined && Array.isArray(receipts) && receipts.length) {
      pkginfo['uninstallable'] = true;
      pkginfo['uninstall_method'] = 'removepackages';
    }
  } else if (options.nopkg) {
    if (options.name === undefined || options.version === undefined) {
      throw new AppError('USAGE', '--nopkg needs --name and --pkgvers');
    }
    pkginfo = { installer_type: 'nopkg' };
    kind = 'nopkg';
  } else if (options.files.length > 0 || Object.keys(options.scripts).length > 0) {
    pkginfo = {};
    kind = 'fragment';
  } else {
    throw new AppError('USAGE', "can't figure out what to do: no installer item given", {
      hint: 'pass a .pkg or .dmg, --nopkg with --name and --pkgvers, or -f PATH',
    });
  }
  await applyOptions(pkginfo, options, kind !== 'fragment', ctx);
  if (kind !== 'fragment') {
    const problems = validatePkgInfo(pkginfo).filter((p) => p.severity === 'error');
    if (problems.length > 0) {
      const p = problems[0]!;
      throw new AppError('SCHEMA_INVALID', `the pkginfo made is invalid: ${p.path}: ${p.message}`);
    }
  }
  return { pkginfo: pkginfo as PkgInfo, kind, apps };
}

async function applyOptions(
  pkginfo: PlistDict,
  options: PkginfoOptions,
  isWhole: boolean,
  ctx: MakePkginfoContext,
): Promise<void> {
  const put = (key: string, value: PlistDict[string] | undefined): void => {
    if (value !== undefined) pkginfo[key] = value;
  };
  if (options.catalogs.length > 0) pkginfo['catalogs'] = options.catalogs;
  if (options.description !== undefined) {
    pkginfo['description'] = await textOrFile(options.description);
  }
  put('display_name', options.displayName);
  put('name', options.name);
  put('version', options.version);
  put('category', options.category);
  put('developer', options.developer);
  put('icon_name', options.iconName);
  if (options.files.length > 0) {
    // Paths named on the command line replace what was read from the package's payloads.
    pkginfo['installs'] = await Promise.all(options.files.map(fileInstallsItem));
  }
  raiseMinimumOsVersion(pkginfo);
  for (const key of SCRIPT_KEYS) {
    const path = options.scripts[key];
    if (path !== undefined) pkginfo[key] = await scriptFile(path, key);
  }
  if (options.scripts.uninstall_script !== undefined) {
    pkginfo['uninstall_method'] = 'uninstall_script';
    pkginfo['uninstallable'] = true;
  }
  if (isWhole) {
    pkginfo['_metadata'] = {
      created_by: ctx.user,
      creation_date: ctx.now,
      abbot_version: abbotVersion(),
    };
    if (options.autoremove) pkginfo['autoremove'] = true;
    pkginfo['catalogs'] ??= ['testing'];
  }
  put('minimum_munki_version', options.minimumMunkiVersion);
  if (options.onDemand) pkginfo['OnDemand'] = true;
  if (options.unattendedInstall) pkginfo['unattended_install'] = true;
  if (options.unattendedUninstall) pkginfo['unattended_uninstall'] = true;
  put('minimum_os_version', options.minimumOsVersion);
  put('maximum_os_version', options.maximumOsVersion);
  if (options.architectures.length > 0) {
    pkginfo['supported_architectures'] = options.architectures;
  }
  put('force_install_after_date', options.forceInstallAfterDate);
  put('RestartAction', options.restartAction);
  if (options.updateFor.length > 0) pkginfo['update_for'] = options.updateFor;
  if (options.requires.length > 0) pkginfo['requires'] = options.requires;
  if (options.blockingApplications.length > 0) {
    pkginfo['blocking_applications'] = options.blockingApplications;
  }
  if (options.uninstallMethod !== undefined) {
    pkginfo['uninstall_method'] = options.uninstallMethod;
    pkginfo['uninstallable'] = true;
  }
  put('installer_environment', options.installerEnvironment);
  if (options.notes !== undefined) pkginfo['notes'] = await textOrFile(options.notes);
}

/** minimum_os_version becomes the highest of itself and every installs entry's minosversion. */
function raiseMinimumOsVersion(pkginfo: PlistDict): void {
  if (pkginfo['installer_type'] === 'stage_os_installer') return;
  const installs = pkginfo['installs'];
  const versions = (Array.isArray(installs) ? installs : []).map((i) =>
    typeof i === 'object' && i !== null && !Array.isArray(i) && !(i instanceof Date)
      ? (i as PlistDict)['minosversion']
      : undefined,
  );
  versions.push(pkginfo['minimum_os_version']);
  const highest = versions
    .filter((v): v is string => typeof v === 'string' && v !== '')
    .sort(compareVersions)
    .at(-1);
  if (highest !== undefined) pkginfo['minimum_os_version'] = highest;
}

/** Munki's `--description`/`--notes`: the text of a file when one exists at that path, else the text. */
async function textOrFile(value: string): Promise<string> {
  const info = await stat(value).catch(() => undefined);
  return info?.isFile() ? readFile(value, 'utf8') : value;
}

async function scriptFile(path: string, key: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new AppError(
      'USAGE',
      `--${key.replace('_', '-')} ${path}: cannot read the script (${code})`,
    );
  }
}

/** `installer_item_location`: relative to the repo's pkgs/ when the item is in it, else its name. */
export function repoPkgPath(item: string, repo: string | undefined): string {
  if (repo !== undefined) {
    const rel = relative(resolve(repo, 'pkgs'), resolve(item));
    if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep))
      return rel.split(sep).join('/');
  }
  return basename(item);
}
