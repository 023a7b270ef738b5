/**
 * makepkginfo's options, spelled as Munki spells them (code/cli/munki/shared/admin/pkginfoOptions.swift):
 * each long option in its kebab-case form and its underscore alias (`--unattended-install` and
 * `--unattended_install`), checked with Munki's rules (versions start with a digit, a symbolic mode,
 * `key=value` environment pairs), and turned into one typed value. `repo import` takes the same set.
 */
import type { ParseArgsConfig } from 'node:util';
import { AppError } from '../../lib/errors.js';

type ArgOptions = NonNullable<ParseArgsConfig['options']>;
type ArgValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A script option and the pkginfo key its file's text goes to. */
export const SCRIPT_KEYS = [
  'installcheck_script',
  'uninstallcheck_script',
  'preinstall_script',
  'postinstall_script',
  'preuninstall_script',
  'postuninstall_script',
  'uninstall_script',
  'version_script',
] as const;

/** One of the pkginfo script keys. */
export type ScriptKey = (typeof SCRIPT_KEYS)[number];

/** Everything makepkginfo can be told, checked; absent means "not given". */
export interface PkginfoOptions {
  name?: string;
  displayName?: string;
  /** Text, or the path of a file holding it. */
  description?: string;
  version?: string;
  restartAction?: string;
  uninstallMethod?: string;
  /** Script key → path of the script file. */
  scripts: Partial<Record<ScriptKey, string>>;
  /** A package on a disk image, relative to its root. */
  pkgName?: string;
  installerChoicesXml: boolean;
  installerEnvironment?: Record<string, string>;
  /** Drag-and-drop disk images: the item to copy and how. */
  dmg: {
    item?: string;
    destinationPath?: string;
    destinationItem?: string;
    user?: string;
    group?: string;
    mode?: string;
  };
  unattendedInstall: boolean;
  unattendedUninstall: boolean;
  forceInstallAfterDate?: Date;
  /** Paths on this machine to build `installs` entries from. */
  files: string[];
  nopkg: boolean;
  autoremove: boolean;
  onDemand: boolean;
  minimumMunkiVersion?: string;
  minimumOsVersion?: string;
  maximumOsVersion?: string;
  architectures: string[];
  updateFor: string[];
  requires: string[];
  blockingApplications: string[];
  catalogs: string[];
  category?: string;
  developer?: string;
  iconName?: string;
  /** Text, or the path of a file holding it. */
  notes?: string;
}

interface Spec {
  names: string[];
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

const SPECS: readonly Spec[] = [
  { names: ['name'], type: 'string' },
  { names: ['displayname'], type: 'string' },
  { names: ['description'], type: 'string' },
  { names: ['pkgvers'], type: 'string' },
  { names: ['RestartAction'], type: 'string' },
  { names: ['uninstall-method', 'uninstall_method'], type: 'string' },
  ...SCRIPT_KEYS.map((k): Spec => ({ names: [k.replace('_', '-'), k], type: 'string' })),
  { names: ['pkgname'], type: 'string', short: 'p' },
  { names: ['installer-choices-xml', 'installer_choices_xml'], type: 'boolean' },
  {
    names: ['installer-environment', 'installer_environment'],
    type: 'string',
    short: 'E',
    multiple: true,
  },
  { names: ['item', 'app', 'itemname', 'appname'], type: 'string', short: 'i' },
  { names: ['destinationpath'], type: 'string', short: 'd' },
  { names: ['destinationitemname', 'destinationitem'], type: 'string' },
  { names: ['owner', 'user'], type: 'string', short: 'o' },
  { names: ['group'], type: 'string', short: 'g' },
  { names: ['mode'], type: 'string', short: 'm' },
  { names: ['unattended-install', 'unattended_install'], type: 'boolean' },
  { names: ['unattended-uninstall', 'unattended_uninstall'], type: 'boolean' },
  { names: ['force-install-after-date', 'force_install_after_date'], type: 'string' },
  { names: ['file'], type: 'string', short: 'f', multiple: true },
  { names: ['nopkg'], type: 'boolean' },
  { names: ['autoremove'], type: 'boolean' },
  { names: ['OnDemand'], type: 'boolean' },
  { names: ['minimum-munki-version', 'minimum_munki_version'], type: 'string' },
  { names: ['minimum-os-version', 'minimum_os_version'], type: 'string' },
  { names: ['maximum-os-version', 'maximum_os_version'], type: 'string' },
  {
    names: ['arch', 'supported-architecture', 'supported_architecture'],
    type: 'string',
    multiple: true,
  },
  { names: ['update-for', 'update_for'], type: 'string', short: 'u', multiple: true },
  { names: ['requires'], type: 'string', short: 'r', multiple: true },
  {
    names: ['blocking-application', 'blocking_application', 'blocking_applications'],
    type: 'string',
    short: 'b',
    multiple: true,
  },
  { names: ['catalog'], type: 'string', short: 'c', multiple: true },
  { names: ['category'], type: 'string' },
  { names: ['developer'], type: 'string' },
  { names: ['icon', 'iconname', 'icon-name', 'icon_name'], type: 'string' },
  { names: ['notes'], type: 'string' },
];

/** The options for node:util parseArgs: every spelling of every option. */
export const PKGINFO_ARGS: ArgOptions = Object.fromEntries(
  SPECS.flatMap((s) =>
    s.names.map((name, i) => [
      name,
      {
        type: s.type,
        ...(i === 0 && s.short !== undefined ? { short: s.short } : {}),
        ...(s.multiple === true ? { multiple: true } : {}),
      },
    ]),
  ),
);

const RESTART_ACTIONS = ['RequireRestart', 'RecommendRestart', 'RequireLogout'];
const ARCHES = ['x86_64', 'arm64'];

/** Reads parsed arguments into PkginfoOptions; USAGE naming the option when a value is wrong. */
export function readPkginfoOptions(values: ArgValues): PkginfoOptions {
  const spec = (first: string): Spec => SPECS.find((s) => s.names[0] === first)!;
  const strings = (first: string): string[] =>
    spec(first).names.flatMap((n) => {
      const v = values[n];
      return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
        (x): x is string => typeof x === 'string',
      );
    });
  const text = (first: string): string | undefined => strings(first).at(-1);
  const flag = (first: string): boolean => spec(first).names.some((n) => values[n] === true);

  const options: PkginfoOptions = {
    scripts: {},
    installerChoicesXml: flag('installer-choices-xml'),
    dmg: {},
    unattendedInstall: flag('unattended-install'),
    unattendedUninstall: flag('unattended-uninstall'),
    files: strings('file'),
    nopkg: flag('nopkg'),
    autoremove: flag('autoremove'),
    onDemand: flag('OnDemand'),
    architectures: unique(strings('arch')),
    updateFor: strings('update-for'),
    requires: strings('requires'),
    blockingApplications: strings('blocking-application'),
    catalogs: unique(strings('catalog')),
  };
  const set = <K extends keyof PkginfoOptions>(key: K, value: PkginfoOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('name', text('name'));
  set('displayName', text('displayname'));
  set('description', text('description'));
  set('version', startsWithDigit('pkgvers', text('pkgvers')));
  set('restartAction', oneOf('RestartAction', text('RestartAction'), RESTART_ACTIONS));
  set('uninstallMethod', text('uninstall-method'));
  for (const key of SCRIPT_KEYS) {
    const path = text(key.replace('_', '-'));
    if (path !== undefined) options.scripts[key] = path;
  }
  set('pkgName', text('pkgname'));
  const env = strings('installer-environment');
  if (env.length > 0) options.installerEnvironment = environment(env);
  const dmg = options.dmg;
  const put = (key: keyof PkginfoOptions['dmg'], value: string | undefined): void => {
    if (value !== undefined) dmg[key] = value;
  };
  put('item', text('item'));
  put('destinationPath', text('destinationpath'));
  put('destinationItem', text('destinationitemname'));
  put('user', text('owner'));
  put('group', text('group'));
  put('mode', symbolicMode(text('mode')));
  const date = text('force-install-after-date');
  if (date !== undefined) options.forceInstallAfterDate = localDate(date);
  set(
    'minimumMunkiVersion',
    startsWithDigit('minimum_munki_version', text('minimum-munki-version')),
  );
  set('minimumOsVersion', startsWithDigit('minimum_os_version', text('minimum-os-version')));
  set('maximumOsVersion', startsWithDigit('maximum_os_version', text('maximum-os-version')));
  for (const arch of options.architectures) oneOf('arch', arch, ARCHES);
  for (const catalog of options.catalogs) {
    // A catalog name becomes a file under catalogs/.
    if (catalog === '' || catalog.includes('/') || catalog.startsWith('.')) {
      throw new AppError('USAGE', `--catalog "${catalog}" is not a usable catalog name`);
    }
  }
  set('category', text('category'));
  set('developer', text('developer'));
  set('iconName', text('icon'));
  set('notes', text('notes'));
  return options;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function startsWithDigit(option: string, value: string | undefined): string | undefined {
  if (value !== undefined && !/^[0-9]/.test(value)) {
    throw new AppError('USAGE', `--${option} "${value}" must start with a digit`);
  }
  return value;
}

function oneOf(option: string, value: string | undefined, allowed: readonly string[]) {
  if (value !== undefined && !allowed.includes(value)) {
    throw new AppError('USAGE', `--${option} "${value}" must be one of ${allowed.join(', ')}`);
  }
  return value;
}

function symbolicMode(mode: string | undefined): string | undefined {
  if (mode !== undefined && !/^[augo]+[=+-][rstwxXugo]+(,[augo]+[=+-][rstwxXugo]+)*$/.test(mode)) {
    throw new AppError('USAGE', `--mode "${mode}" is not a symbolic mode (e.g. go-w,a+rX)`);
  }
  return mode;
}

function environment(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      throw new AppError('USAGE', `--installer-environment "${pair}" is not KEY=VALUE`);
    }
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/**
 * Munki reads `yyyy-mm-ddThh:mm:ssZ` as LOCAL wall-clock time on each client, despite the Z, and
 * stores those digits as a UTC date; the same is done here, with the Z optional.
 */
function localDate(text: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z?$/.exec(text);
  const date = m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
  if (
    date === undefined ||
    Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 19) !== text.slice(0, 19)
  ) {
    throw new AppError(
      'USAGE',
      `--force_install_after_date "${text}" is not a date like 2026-08-11T12:55:00Z`,
    );
  }
  return date;
}

/** `repo import`'s own options, besides the pkginfo ones. */
export const IMPORT_ARGS: ArgOptions = {
  repo: { type: 'string' },
  subdirectory: { type: 'string' },
  nointeractive: { type: 'boolean', short: 'n' },
  force: { type: 'boolean' },
  'extract-icon': { type: 'boolean' },
  'no-template': { type: 'boolean' },
};

/** What `repo import` is told besides the pkginfo options. */
export interface ImportFlags {
  subdirectory?: string;
  /** Import even when the very same installer item is already in the repo. */
  force: boolean;
  extractIcon: boolean;
  /** Copy display name, description, category… from a similar existing item (default true). */
  useTemplate: boolean;
}

/** Reads `repo import`'s own flags. */
export function readImportFlags(values: ArgValues): ImportFlags {
  const flags: ImportFlags = {
    force: values['force'] === true,
    extractIcon: values['extract-icon'] === true,
    useTemplate: values['no-template'] !== true,
  };
  const subdir = values['subdirectory'];
  if (typeof subdir === 'string') flags.subdirectory = subdir;
  return flags;
}
