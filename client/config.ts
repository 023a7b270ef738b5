/**
 * The client's preferences: ONE table (`PREFERENCES`) giving each key its type (a JSON Schema
 * fragment in the project's plist vocabulary, checked by ajv), default and one-line description.
 * Keys are spelled as Munki's `ManagedInstalls` domain spells them where the meaning is the same,
 * so an admin's profile carries over; our own keys come last.
 *
 * Where a value comes from, lowest to highest precedence:
 *   default < local plist (`/Library/Preferences/org.abbot.client.plist` under the root)
 *           < managed profile (`/Library/Managed Preferences/org.abbot.client.plist`)
 *           < `--config FILE` < `--repo-url` / `--client-id`.
 * A configuration profile beats the machine's own plist, as CFPreferences does for Munki; anything
 * on the command line beats both, because it was asked for explicitly for this run.
 *
 * Every value is validated; a bad one stops the run with CONFIG_INVALID naming the file and key
 * (exit 2). Unknown keys are ignored with a warning. The result is frozen.
 */
import { readFile } from 'node:fs/promises';
import { createPlistValidator } from '../catalogs/index.js';
import type { SchemaIssue } from '../catalogs/index.js';
import { isPlistDict, parsePlist } from '../formats/index.js';
import type { PlistDict, PlistValue } from '../formats/index.js';
import { AppError } from '../lib/errors.js';
import { redact, silentLogger } from '../lib/log.js';
import type { Logger } from '../lib/log.js';
import type { AbbotPaths } from './platform/platform.js';

/** How downloads are checked against the pkginfo's hash (Munki's values). */
export type PackageVerificationMode = 'none' | 'hash' | 'hash_strict';

/** Which HTTP redirects are followed (Munki's values). */
export type FollowHttpRedirects = 'none' | 'https' | 'all';

/** Every preference the client reads, with its type once loaded. */
export interface Preferences {
  SoftwareRepoURL: string;
  CatalogURL: string | undefined;
  ManifestURL: string | undefined;
  PackageURL: string | undefined;
  IconURL: string | undefined;
  ClientResourceURL: string | undefined;
  ClientIdentifier: string;
  SoftwareRepoCACertificate: string | undefined;
  SoftwareRepoCAPath: string | undefined;
  ClientCertificatePath: string | undefined;
  ClientKeyPath: string | undefined;
  UseClientCertificate: boolean;
  AdditionalHttpHeaders: readonly string[];
  FollowHTTPRedirects: FollowHttpRedirects;
  PackageVerificationMode: PackageVerificationMode;
  InstallAppleSoftwareUpdates: boolean;
  AppleSoftwareUpdatesOnly: boolean;
  AppleSoftwareUpdatesIncludeMajorOSUpdates: boolean;
  AppleUpdateDeferralDays: number;
  AppleUpdateDeadlineDays: number;
  AppleUpdateCredentialScript: string | undefined;
  AppleUpdateKeychainService: string | undefined;
  AppleUpdateKeychainAccount: string | undefined;
  SoftwareUpdateTimeoutMinutes: number;
  OSUpgradeRebootDelaySeconds: number;
  OSUpgradeTimeoutMinutes: number;
  LocalOnlyManifest: string | undefined;
  SuppressAutoInstall: boolean;
  SuppressLoginwindowInstall: boolean;
  ShowOptionalInstallsForHigherOSVersions: boolean;
  DaysBetweenNotifications: number;
  HttpTimeoutSeconds: number;
  HttpRetries: number;
  DownloadConcurrency: number;
  SelfServicePort: number;
  CheckInSchedule: string | undefined;
  InstallWindow: string | undefined;
  RunTimeLimitHours: number;
  BootstrapMaxPasses: number;
}

/** A preference's name. */
export type PreferenceKey = keyof Preferences;

/** One row of the preference table. */
export interface PreferenceSpec<T> {
  /** JSON Schema fragment (plistType vocabulary, see catalogs/schema-support.ts). */
  readonly schema: Readonly<Record<string, unknown>>;
  readonly default: T;
  /** Short type for the README table, e.g. `URL`, `boolean`, `integer (1–65535)`. */
  readonly type: string;
  /** Completes "<Key> must be …" in error messages. */
  readonly expected: string;
  readonly description: string;
  /** Applied to a raw value before it is validated (e.g. case folding). */
  readonly normalize?: (value: PlistValue) => PlistValue;
  /** Never echo the value in messages (it may hold credentials). */
  readonly isSecret?: boolean;
}

// A URL the client can fetch from: Munki accepts http, https and file.
const URL_PATTERN = '^(?:https?|file)://[^\\s]+$';
const url = { plistType: 'string', pattern: URL_PATTERN } as const;
const urlExpected = 'an http://, https:// or file:// URL';
const path = { plistType: 'string', minLength: 1 } as const;
const bool = { plistType: 'boolean' } as const;
const int = (minimum: number, maximum: number) =>
  ({ plistType: 'integer', minimum, maximum }) as const;
// An RFC 9110 token, a colon, then a non-empty value without line breaks or NULs (which would
// split or cut the header): the entries the sync layer's header parser keeps.
const HEADER_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \\t]*:[ \\t]*[^\\s][^\\r\\n\\x00]*$";
// Five cron fields (numbers, names, *, ranges, steps, lists) or an @-shortcut; the scheduler
// checks the ranges.
const CRON_FIELD = '(?:\\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/[0-9]+)?';
const CRON_LIST = `${CRON_FIELD}(?:,${CRON_FIELD})*`;
const CRON_PATTERN = `^(?:@(?:hourly|daily|weekly|monthly|yearly|annually)|${CRON_LIST}(?:[ \\t]+${CRON_LIST}){4})$`;

// `HH:MM-HH:MM`, 24-hour local time; the end may be before the start (a window over midnight).
const INSTALL_WINDOW_PATTERN = '^(?:[01][0-9]|2[0-3]):[0-5][0-9]-(?:[01][0-9]|2[0-3]):[0-5][0-9]$';

// An absolute path with no `..` segment (a script the client runs from under its root).
const ABSOLUTE_PATH_PATTERN = '^/(?!.*(?:^|/)\\.\\.(?:/|$)).*[^/]$';

const optional = undefined as string | undefined;

/** The preference table: every key the client reads, in the order `config --show` prints them. */
export const PREFERENCES: { readonly [K in PreferenceKey]: PreferenceSpec<Preferences[K]> } = {
  SoftwareRepoURL: {
    schema: url,
    default: 'http://munki/repo',
    type: 'URL',
    expected: urlExpected,
    description:
      "Base URL of the Munki-format repo (Munki's default; plain http is warned about when used).",
  },
  CatalogURL: {
    schema: url,
    default: optional,
    type: 'URL',
    expected: urlExpected,
    description: 'Where catalogs are fetched from instead of `<SoftwareRepoURL>/catalogs/`.',
  },
  ManifestURL: {
    schema: url,
    default: optional,
    type: 'URL',
    expected: urlExpected,
    description: 'Where manifests are fetched from instead of `<SoftwareRepoURL>/manifests/`.',
  },
  PackageURL: {
    schema: url,
    default: optional,
    type: 'URL',
    expected: urlExpected,
    description: 'Where installer items are fetched from instead of `<SoftwareRepoURL>/pkgs/`.',
  },
  IconURL: {
    schema: url,
    default: optional,
    type: 'URL',
    expected: urlExpected,
    description: 'Where icons are fetched from instead of `<SoftwareRepoURL>/icons/`.',
  },
  ClientResourceURL: {
    schema: url,
    default: optional,
    type: 'URL',
    expected: urlExpected,
    description:
      'Where client resources are fetched from instead of `<SoftwareRepoURL>/client_resources/`.',
  },
  ClientIdentifier: {
    schema: { plistType: 'string' },
    default: '',
    type: 'string',
    expected: 'a string',
    description:
      'Name of the primary manifest; empty means hostname, short hostname, serial, then site_default.',
  },
  SoftwareRepoCACertificate: {
    schema: path,
    default: optional,
    type: 'path',
    expected: 'a non-empty path',
    description: 'PEM file of the CA(s) trusted for the repo, instead of the system roots.',
  },
  SoftwareRepoCAPath: {
    schema: path,
    default: optional,
    type: 'path',
    expected: 'a non-empty path',
    description: 'Folder of PEM CA certificates trusted for the repo.',
  },
  ClientCertificatePath: {
    schema: path,
    default: optional,
    type: 'path',
    expected: 'a non-empty path',
    description: 'PEM client certificate (may include the key) for mutual TLS.',
  },
  ClientKeyPath: {
    schema: path,
    default: optional,
    type: 'path',
    expected: 'a non-empty path',
    description: 'PEM private key for the client certificate, when not in the certificate file.',
  },
  UseClientCertificate: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: 'Present the client certificate to the repo server.',
  },
  AdditionalHttpHeaders: {
    schema: {
      plistType: 'array',
      items: { plistType: 'string', pattern: HEADER_PATTERN },
    },
    default: [],
    type: 'array of strings',
    expected: 'a list of "Name: value" header strings',
    description: 'Extra headers sent with every repo request, each `"Name: value"`.',
    isSecret: true,
  },
  FollowHTTPRedirects: {
    schema: { plistType: 'string', enum: ['none', 'https', 'all'] },
    default: 'none',
    type: '`none`, `https` or `all`',
    expected: 'one of none, https, all',
    description: 'Which redirects to follow: none, only to https URLs, or all.',
  },
  PackageVerificationMode: {
    schema: { plistType: 'string', enum: ['none', 'hash', 'hash_strict'] },
    default: 'hash',
    type: '`none`, `hash` or `hash_strict`',
    expected: 'one of none, hash, hash_strict (any case)',
    description:
      'Check downloads against the pkginfo hash; hash_strict also refuses items without one.',
    // Munki compares this one case-insensitively.
    normalize: (value) => (typeof value === 'string' ? value.toLowerCase() : value),
  },
  InstallAppleSoftwareUpdates: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: "Also check for Apple's software updates.",
  },
  AppleSoftwareUpdatesOnly: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: "Check only Apple's software updates, not the repo.",
  },
  AppleSoftwareUpdatesIncludeMajorOSUpdates: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: 'Include major macOS upgrades among the Apple updates offered.',
  },
  AppleUpdateDeferralDays: {
    schema: int(0, 365),
    default: 0,
    type: 'integer (0–365)',
    expected: 'an integer from 0 to 365',
    description: 'Days after an Apple update is first listed before Abbot installs it; 0: at once.',
  },
  AppleUpdateDeadlineDays: {
    schema: int(0, 365),
    default: 0,
    type: 'integer (0–365)',
    expected: 'an integer from 0 to 365',
    description:
      'Days after first listing when an Apple update is forced, with a restart warned 60/30/10 min ahead; 0: never.',
  },
  AppleUpdateCredentialScript: {
    schema: { plistType: 'string', pattern: ABSOLUTE_PATH_PATTERN },
    default: optional,
    type: 'path',
    expected: 'an absolute path without ".."',
    description:
      "Script printing a volume owner's user name and password (two lines) for Apple silicon installs.",
  },
  AppleUpdateKeychainService: {
    schema: { plistType: 'string', minLength: 1 },
    default: optional,
    type: 'string',
    expected: 'a non-empty keychain service name',
    description: "Service of the System keychain item holding the volume owner's password.",
  },
  AppleUpdateKeychainAccount: {
    schema: { plistType: 'string', minLength: 1 },
    default: optional,
    type: 'string',
    expected: 'a non-empty user name',
    description: 'Account of that keychain item: the volume owner who authorises Apple updates.',
  },
  SoftwareUpdateTimeoutMinutes: {
    schema: int(1, 1440),
    default: 120,
    type: 'integer (1–1440)',
    expected: 'an integer from 1 to 1440',
    description:
      'Minutes `softwareupdate --install` may run before it is killed and recorded as failed.',
  },
  OSUpgradeRebootDelaySeconds: {
    schema: int(0, 300),
    default: 300,
    type: 'integer (0–300)',
    expected: 'an integer from 0 to 300',
    description:
      'Seconds startosinstall waits after preparing a macOS upgrade before it restarts the Mac.',
  },
  OSUpgradeTimeoutMinutes: {
    schema: int(10, 1440),
    default: 120,
    type: 'integer (10–1440)',
    expected: 'an integer from 10 to 1440',
    description:
      'Minutes fetching or preparing a macOS upgrade may take before it is stopped as failed.',
  },
  LocalOnlyManifest: {
    schema: path,
    default: optional,
    type: 'string',
    expected: 'a non-empty manifest name',
    description: 'Name of a local-only manifest in the manifests folder, merged with the primary.',
  },
  SuppressAutoInstall: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: 'Never install anything unattended (`abbot run --auto` only checks).',
  },
  SuppressLoginwindowInstall: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: 'At the login window, install only items marked unattended.',
  },
  ShowOptionalInstallsForHigherOSVersions: {
    schema: bool,
    default: false,
    type: 'boolean',
    expected: 'true or false',
    description: 'List optional items that need a newer macOS than this one.',
  },
  DaysBetweenNotifications: {
    schema: int(0, 3650),
    default: 1,
    type: 'integer (0–3650)',
    expected: 'an integer from 0 to 3650',
    description: 'Days between reminders of pending updates; 0 means every check.',
  },
  HttpTimeoutSeconds: {
    schema: int(1, 3600),
    default: 60,
    type: 'integer (1–3600)',
    expected: 'an integer from 1 to 3600',
    description: 'Seconds a repo request may wait on the server before it counts as failed.',
  },
  HttpRetries: {
    schema: int(0, 10),
    default: 3,
    type: 'integer (0–10)',
    expected: 'an integer from 0 to 10',
    description: 'How many times a failed repo request is tried again.',
  },
  DownloadConcurrency: {
    schema: int(1, 16),
    default: 2,
    type: 'integer (1–16)',
    expected: 'an integer from 1 to 16',
    description: 'Installer items downloaded at once.',
  },
  SelfServicePort: {
    schema: int(1, 65535),
    default: 8491,
    type: 'integer (1–65535)',
    expected: 'an integer from 1 to 65535',
    description: 'Loopback port of the self-service web page served by `abbot daemon`.',
  },
  CheckInSchedule: {
    schema: { plistType: 'string', pattern: CRON_PATTERN },
    default: optional,
    type: 'cron string',
    expected: 'a five-field cron expression or @hourly/@daily/…',
    description: 'When `abbot daemon` checks in (cron, local time); unset means hourly.',
  },
  InstallWindow: {
    schema: { plistType: 'string', pattern: INSTALL_WINDOW_PATTERN },
    default: optional,
    type: '`HH:MM-HH:MM`',
    expected: 'a local time range such as "01:00-05:00"',
    description:
      'Hours when login-window runs install everything (restart items too); unset: any time.',
  },
  RunTimeLimitHours: {
    schema: int(1, 168),
    default: 12,
    type: 'integer (1–168)',
    expected: 'an integer from 1 to 168',
    description: "Hours a daemon run may take before it is killed and recorded (Munki's 12 h).",
  },
  BootstrapMaxPasses: {
    schema: int(1, 50),
    default: 10,
    type: 'integer (1–50)',
    expected: 'an integer from 1 to 50',
    description:
      'Most check-and-install passes bootstrap makes (across restarts) before giving up.',
  },
};

/** The preference names in table order. */
export const PREFERENCE_KEYS = Object.keys(PREFERENCES) as PreferenceKey[];

/** Where a preference's value came from. */
export type ConfigSource = 'default' | 'local' | 'managed' | 'config-file' | 'flag';

/** The loaded, validated, frozen preferences, with where each value came from. */
export type Config = Readonly<Preferences> & {
  readonly sources: Readonly<Record<PreferenceKey, ConfigSource>>;
  /** The files that were read, by source. */
  readonly files: Readonly<Partial<Record<'local' | 'managed' | 'config-file', string>>>;
};

/** The command-line flags that set preferences. */
export interface ConfigFlags {
  /** `--repo-url URL` → SoftwareRepoURL. */
  repoUrl?: string | undefined;
  /** `--client-id ID` → ClientIdentifier. */
  clientId?: string | undefined;
  /** `--config FILE`: a plist of preferences for this run. */
  configFile?: string | undefined;
}

/** What `loadConfig` reads. */
export interface LoadConfigOptions {
  paths: Pick<AbbotPaths, 'preferences' | 'managedPreferences'>;
  flags?: ConfigFlags;
  /** Hears about ignored unknown keys. */
  logger?: Logger;
}

/** The table as one JSON Schema (a dict whose properties are the table's fragments). */
export const preferencesSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:abbot:schema:client-preferences',
  title: 'Abbot client preferences (org.abbot.client)',
  plistType: 'dict',
  properties: Object.fromEntries(PREFERENCE_KEYS.map((k) => [k, PREFERENCES[k].schema])),
} as const;

const validatePreferences = createPlistValidator(preferencesSchema);

/**
 * True when `value` certainly satisfies `schema`, for the few keywords the table uses. Most runs
 * read well-formed preferences, and loading and compiling ajv costs ~70 ms of a check-in that
 * should take well under half a second; ajv stays the authority whenever this says no, so every
 * error message is still ajv's.
 */
function surelyValid(schema: Readonly<Record<string, unknown>>, value: unknown): boolean {
  for (const [keyword, want] of Object.entries(schema)) {
    switch (keyword) {
      case 'plistType':
        if (want === 'string' && typeof value !== 'string') return false;
        if (want === 'boolean' && typeof value !== 'boolean') return false;
        if (want === 'integer' && !(typeof value === 'number' && Number.isInteger(value)))
          return false;
        if (want === 'array' && !Array.isArray(value)) return false;
        if (!['string', 'boolean', 'integer', 'array'].includes(String(want))) return false;
        break;
      case 'pattern':
        if (typeof value !== 'string' || !new RegExp(String(want), 'u').test(value)) return false;
        break;
      case 'minLength':
        if (typeof value !== 'string' || [...value].length < Number(want)) return false;
        break;
      case 'minimum':
        if (typeof value !== 'number' || value < Number(want)) return false;
        break;
      case 'maximum':
        if (typeof value !== 'number' || value > Number(want)) return false;
        break;
      case 'enum':
        if (!Array.isArray(want) || !want.includes(value)) return false;
        break;
      case 'items':
        if (!Array.isArray(value)) return false;
        if (!value.every((v) => surelyValid(want as Readonly<Record<string, unknown>>, v)))
          return false;
        break;
      default:
        return false; // a keyword this fast path does not know: let ajv decide
    }
  }
  return true;
}

/** One layer of preferences: validated values and the label that names where they came from. */
interface Layer {
  source: Exclude<ConfigSource, 'default'>;
  label: string;
  values: Partial<Record<PreferenceKey, unknown>>;
}

/**
 * Loads the preferences: defaults, then the local plist, the managed profile, `--config FILE` and
 * the flags, each overriding the one before. Throws AppError CONFIG_INVALID (`<file>: <Key> must be
 * …`) for a bad value, PLIST_INVALID for a malformed plist.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const logger = options.logger ?? silentLogger;
  const flags = options.flags ?? {};
  const layers: Layer[] = [];
  const files: Partial<Record<'local' | 'managed' | 'config-file', string>> = {};

  const readLayer = async (
    source: 'local' | 'managed' | 'config-file',
    file: string,
    isRequired: boolean,
  ): Promise<void> => {
    const dict = await readPreferencesFile(file, isRequired);
    if (dict === undefined) return;
    files[source] = file;
    layers.push({ source, label: file, values: checkLayer(dict, file, logger) });
  };

  await readLayer('local', options.paths.preferences, false);
  await readLayer('managed', options.paths.managedPreferences, false);
  if (flags.configFile !== undefined) await readLayer('config-file', flags.configFile, true);
  if (flags.repoUrl !== undefined) {
    layers.push(flagLayer('--repo-url', 'SoftwareRepoURL', flags.repoUrl, logger));
  }
  if (flags.clientId !== undefined) {
    layers.push(flagLayer('--client-id', 'ClientIdentifier', flags.clientId, logger));
  }

  const values: Record<string, unknown> = {};
  const sources = {} as Record<PreferenceKey, ConfigSource>;
  for (const key of PREFERENCE_KEYS) {
    values[key] = PREFERENCES[key].default;
    sources[key] = 'default';
  }
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values) as [PreferenceKey, unknown][]) {
      values[key] = value;
      sources[key] = layer.source;
    }
  }
  return Object.freeze({
    ...(values as unknown as Preferences),
    sources: Object.freeze(sources),
    files: Object.freeze(files),
  });
}

/** Reads a preferences plist; undefined when it is absent and not required. */
async function readPreferencesFile(
  file: string,
  isRequired: boolean,
): Promise<PlistDict | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !isRequired) return undefined;
    // A missing --config file is a usage mistake (exit 2); an unreadable machine plist is not.
    const why = code ?? String(e);
    throw new AppError(isRequired ? 'CONFIG_INVALID' : 'IO', `${file}: cannot read (${why})`, {
      cause: e,
    });
  }
  const root = parsePlist(bytes, { source: file });
  if (!isPlistDict(root)) {
    throw new AppError('CONFIG_INVALID', `${file}: must be a dictionary of preferences`, {
      hint: 'a preferences plist has a <dict> at its root',
    });
  }
  return root;
}

/** Validates one layer's dict: unknown keys dropped with a warning, bad values thrown. */
function checkLayer(
  dict: PlistDict,
  label: string,
  logger: Logger,
): Partial<Record<PreferenceKey, unknown>> {
  const known: PlistDict = {};
  for (const [key, raw] of Object.entries(dict)) {
    if (!Object.hasOwn(PREFERENCES, key)) {
      const near = PREFERENCE_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
      logger.warn(
        'config.key.unknown',
        `${label}: ignoring unknown preference ${key}${near ? ` (did you mean ${near}?)` : ''}`,
        { file: label, key },
      );
      continue;
    }
    const spec = PREFERENCES[key as PreferenceKey] as PreferenceSpec<unknown>;
    known[key] = spec.normalize ? spec.normalize(raw) : raw;
  }
  const quick = Object.entries(known).every(([k, v]) =>
    surelyValid(PREFERENCES[k as PreferenceKey].schema, v),
  );
  const issues = quick ? [] : validatePreferences(known).filter((i) => i.severity === 'error');
  const first = issues[0] ?? bigintIssue(known);
  if (first) throw invalidValue(label, first, known, issues.length);
  const values: Partial<Record<PreferenceKey, unknown>> = {};
  for (const [key, value] of Object.entries(known)) {
    values[key as PreferenceKey] = Array.isArray(value) ? Object.freeze([...value]) : value;
  }
  return values;
}

/** One flag's value as a layer, validated like a file's. */
function flagLayer(flag: string, key: PreferenceKey, value: string, logger: Logger): Layer {
  return { source: 'flag', label: flag, values: checkLayer({ [key]: value }, flag, logger) };
}

/** An integer too large for a double slips past `minimum`/`maximum`; no preference wants one. */
function bigintIssue(values: PlistDict): SchemaIssue | undefined {
  const key = Object.keys(values).find((k) => typeof values[k] === 'bigint');
  return key === undefined ? undefined : { path: key, message: 'is too large', severity: 'error' };
}

/** The CONFIG_INVALID error for a schema issue: `<file>: <Key> must be … (got …)`. */
function invalidValue(
  label: string,
  issue: SchemaIssue,
  values: PlistDict,
  count: number,
): AppError {
  const key = (/^[A-Za-z0-9_]+/.exec(issue.path)?.[0] ?? issue.path) as PreferenceKey;
  const spec = PREFERENCES[key] as PreferenceSpec<unknown> | undefined;
  const expected = spec?.expected ?? issue.message.replace(/^must be /, '');
  const more = count > 1 ? ` (and ${count - 1} more problem${count > 2 ? 's' : ''})` : '';
  const got = spec?.isSecret ? '' : ` (got ${preview(valueAt(values, issue.path))})`;
  return new AppError(
    'CONFIG_INVALID',
    `${label}: ${issue.path} must be ${expected}${got}${more}`,
    spec ? { hint: `${key}: ${spec.description}` } : {},
  );
}

/** The value an issue path (`Key` or `Key[3]`) points at. */
function valueAt(values: PlistDict, issuePath: string): unknown {
  const m = /^([A-Za-z0-9_]+)(?:\[(\d+)\])?$/.exec(issuePath);
  if (!m || m[1] === undefined) return undefined;
  const value = values[m[1]];
  return m[2] !== undefined && Array.isArray(value) ? value[Number(m[2])] : value;
}

/** A short, secret-free rendering of a bad value for an error message. */
function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'bigint') text = `${value}`;
  else if (value instanceof Date) text = `date ${value.toISOString()}`;
  else if (value instanceof Uint8Array) text = `data (${value.length} bytes)`;
  else if (Array.isArray(value)) text = `an array of ${value.length}`;
  else if (isPlistDict(value)) text = 'a dictionary';
  else text = String(value);
  const safe = redact(text);
  return safe.length > 80 ? `${safe.slice(0, 77)}…` : safe;
}

/** `abbot config --show`: one line per preference — key, value, source — in aligned columns. */
export function formatConfig(config: Config): string {
  const rows = PREFERENCE_KEYS.map((key) => [
    key,
    key === 'AdditionalHttpHeaders'
      ? formatHeaders(config.AdditionalHttpHeaders)
      : formatValue(config[key]),
    config.sources[key],
  ]);
  const keyWidth = Math.max(...rows.map((r) => r[0]?.length ?? 0));
  const valueWidth = Math.max(...rows.map((r) => r[1]?.length ?? 0));
  const lines = rows.map(([key = '', value = '', source = '']) =>
    `${key.padEnd(keyWidth)}  ${value.padEnd(valueWidth)}  ${source}`.trimEnd(),
  );
  for (const source of ['local', 'managed', 'config-file'] as const) {
    const file = config.files[source];
    if (file !== undefined) lines.push(`# ${source}: ${file}`);
  }
  return lines.join('\n') + '\n';
}

/** A value as `config --show` prints it; passwords in URLs are masked. */
function formatValue(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (value === '') return '""';
  return redact(String(value));
}

/** Header names only: their values are often credentials (`Authorization: Basic …`). */
function formatHeaders(headers: readonly string[]): string {
  const names = headers.map((h) => JSON.stringify(`${h.slice(0, h.indexOf(':'))}: ***`));
  return `[${names.join(', ')}]`;
}

/** The README's preference table (Markdown), generated from `PREFERENCES`. */
export function configTableMarkdown(): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = ['| Preference | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const key of PREFERENCE_KEYS) {
    const spec = PREFERENCES[key] as PreferenceSpec<unknown>;
    const def = spec.default;
    const shown =
      def === undefined
        ? 'unset'
        : Array.isArray(def)
          ? def.length === 0
            ? 'none'
            : `\`${JSON.stringify(def)}\``
          : def === ''
            ? '`""`'
            : `\`${String(def)}\``;
    lines.push(`| \`${key}\` | ${cell(spec.type)} | ${cell(shown)} | ${cell(spec.description)} |`);
  }
  return lines.join('\n') + '\n';
}
