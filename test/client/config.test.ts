import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PREFERENCES,
  PREFERENCE_KEYS,
  configTableMarkdown,
  formatConfig,
  loadConfig,
} from '../../client/config.js';
import type { ConfigFlags } from '../../client/config.js';
import { pathsFor } from '../../client/paths.js';
import { PlistReal, buildBinaryPlist, buildPlist } from '../../formats/index.js';
import type { PlistDict, PlistValue } from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import { memoryLogger } from '../../lib/log.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'abbot-config-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const paths = () => pathsFor(root);

async function writePlist(file: string, dict: PlistDict, binary = false): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, binary ? buildBinaryPlist(dict) : buildPlist(dict));
  return file;
}
const writeLocal = (dict: PlistDict) => writePlist(paths().preferences, dict);
// Profiles land in Managed Preferences as binary plists.
const writeManaged = (dict: PlistDict) => writePlist(paths().managedPreferences, dict, true);

async function load(flags: ConfigFlags = {}) {
  const logger = memoryLogger();
  const config = await loadConfig({ paths: paths(), flags, logger });
  return { config, logger };
}

async function loadError(flags: ConfigFlags = {}): Promise<AppError> {
  const error: unknown = await loadConfig({ paths: paths(), flags }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('loadConfig defaults', () => {
  it('gives every preference its default, from source "default", when no file exists', async () => {
    const { config } = await load();
    for (const key of PREFERENCE_KEYS) {
      expect(config[key]).toEqual(PREFERENCES[key].default);
      expect(config.sources[key]).toBe('default');
    }
    expect(config.files).toEqual({});
  });

  it.each([
    ['SoftwareRepoURL', 'http://munki/repo'],
    ['ClientIdentifier', ''],
    ['FollowHTTPRedirects', 'none'],
    ['PackageVerificationMode', 'hash'],
    ['InstallAppleSoftwareUpdates', false],
    ['AdditionalHttpHeaders', []],
    ['DaysBetweenNotifications', 1],
    ['HttpTimeoutSeconds', 60],
    ['HttpRetries', 3],
    ['DownloadConcurrency', 2],
    ['SelfServicePort', 8491],
    ['CatalogURL', undefined],
    ['CheckInSchedule', undefined],
  ] as const)('defaults %s to %j', async (key, value) => {
    expect((await load()).config[key]).toEqual(value);
  });

  it('returns a frozen object', async () => {
    const { config } = await load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sources)).toBe(true);
  });
});

describe('loadConfig precedence', () => {
  it.each([
    // [local, managed, config file, flag, expected value, expected source]
    [undefined, undefined, undefined, undefined, 'http://munki/repo', 'default'],
    ['https://local/repo', undefined, undefined, undefined, 'https://local/repo', 'local'],
    [
      'https://local/repo',
      'https://managed/repo',
      undefined,
      undefined,
      'https://managed/repo',
      'managed',
    ],
    [undefined, 'https://managed/repo', undefined, undefined, 'https://managed/repo', 'managed'],
    [
      'https://local/repo',
      'https://managed/repo',
      'https://file/repo',
      undefined,
      'https://file/repo',
      'config-file',
    ],
    [
      'https://local/repo',
      'https://managed/repo',
      'https://file/repo',
      'https://flag/repo',
      'https://flag/repo',
      'flag',
    ],
    [
      undefined,
      'https://managed/repo',
      undefined,
      'https://flag/repo',
      'https://flag/repo',
      'flag',
    ],
  ] as const)(
    'local %s, managed %s, --config %s, --repo-url %s → %s from %s',
    async (local, managed, file, flag, value, source) => {
      if (local) await writeLocal({ SoftwareRepoURL: local });
      if (managed) await writeManaged({ SoftwareRepoURL: managed });
      const flags: ConfigFlags = {};
      if (file)
        flags.configFile = await writePlist(join(root, 'run.plist'), { SoftwareRepoURL: file });
      if (flag) flags.repoUrl = flag;
      const { config } = await load(flags);
      expect(config.SoftwareRepoURL).toBe(value);
      expect(config.sources.SoftwareRepoURL).toBe(source);
    },
  );

  it('takes each key from the highest layer that sets it', async () => {
    await writeLocal({ ClientIdentifier: 'local-id', HttpRetries: 5, SuppressAutoInstall: true });
    await writeManaged({ ClientIdentifier: 'managed-id', HttpRetries: 1 });
    const { config } = await load({ clientId: 'flag-id' });
    expect(config).toMatchObject({
      ClientIdentifier: 'flag-id',
      HttpRetries: 1,
      SuppressAutoInstall: true,
    });
    expect(config.sources).toMatchObject({
      ClientIdentifier: 'flag',
      HttpRetries: 'managed',
      SuppressAutoInstall: 'local',
      DownloadConcurrency: 'default',
    });
  });

  it('records which files were read', async () => {
    await writeLocal({});
    await writeManaged({});
    const configFile = await writePlist(join(root, 'run.plist'), {});
    const { config } = await load({ configFile });
    expect(config.files).toEqual({
      local: paths().preferences,
      managed: paths().managedPreferences,
      'config-file': configFile,
    });
  });
});

describe('loadConfig validation', () => {
  it.each([
    ['SoftwareRepoURL', 42, 'an http://, https:// or file:// URL'],
    ['SoftwareRepoURL', 'munki/repo', 'an http://, https:// or file:// URL'],
    ['SoftwareRepoURL', 'ftp://munki/repo', 'an http://, https:// or file:// URL'],
    ['CatalogURL', true, 'an http://, https:// or file:// URL'],
    ['ClientIdentifier', 7, 'a string'],
    ['SoftwareRepoCACertificate', '', 'a non-empty path'],
    ['ClientKeyPath', ['a'], 'a non-empty path'],
    ['UseClientCertificate', 'yes', 'true or false'],
    ['InstallAppleSoftwareUpdates', 1, 'true or false'],
    ['AdditionalHttpHeaders', 'X-A: b', 'a list of "Name: value" header strings'],
    ['FollowHTTPRedirects', 'always', 'one of none, https, all'],
    ['FollowHTTPRedirects', 'HTTPS', 'one of none, https, all'],
    ['PackageVerificationMode', 'sha256', 'one of none, hash, hash_strict (any case)'],
    ['PackageVerificationMode', 1, 'one of none, hash, hash_strict (any case)'],
    ['DaysBetweenNotifications', -1, 'an integer from 0 to 3650'],
    ['HttpTimeoutSeconds', 0, 'an integer from 1 to 3600'],
    ['HttpTimeoutSeconds', '60', 'an integer from 1 to 3600'],
    ['HttpTimeoutSeconds', new PlistReal(1.5), 'an integer from 1 to 3600'],
    ['HttpTimeoutSeconds', 2n ** 62n, 'an integer from 1 to 3600'],
    ['HttpRetries', 11, 'an integer from 0 to 10'],
    ['DownloadConcurrency', 0, 'an integer from 1 to 16'],
    ['SelfServicePort', 70000, 'an integer from 1 to 65535'],
    ['CheckInSchedule', 'every hour', 'a five-field cron expression or @hourly/@daily/…'],
    ['CheckInSchedule', '0 * * *', 'a five-field cron expression or @hourly/@daily/…'],
    ['LocalOnlyManifest', new Date(0), 'a non-empty manifest name'],
  ] as [string, PlistValue, string][])(
    'rejects %s = %o as CONFIG_INVALID naming file and key',
    async (key, value, expected) => {
      const file = await writeLocal({ [key]: value });
      const error = await loadError();
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain(`${file}: ${key} must be ${expected}`);
    },
  );

  it('names the managed profile when that is where the bad value is', async () => {
    await writeLocal({ HttpRetries: 2 });
    const file = await writeManaged({ HttpRetries: 'three' });
    expect((await loadError()).message).toBe(
      `${file}: HttpRetries must be an integer from 0 to 10 (got "three")`,
    );
  });

  it('names the --config file', async () => {
    const configFile = await writePlist(join(root, 'run.plist'), { SuppressAutoInstall: 'no' });
    expect((await loadError({ configFile })).message).toMatch(
      /run\.plist: SuppressAutoInstall must be true or false \(got "no"\)$/,
    );
  });

  it.each([[{ repoUrl: 'not a url' }, '--repo-url: SoftwareRepoURL must be']] as const)(
    'names the flag for a bad flag value %j',
    async (flags, message) => {
      const error = await loadError(flags);
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain(message);
    },
  );

  it('counts the other problems in the same file', async () => {
    await writeLocal({ HttpRetries: 'x', SelfServicePort: 'y', UseClientCertificate: 'z' });
    expect((await loadError()).message).toMatch(/HttpRetries must be .* \(and 2 more problems\)$/);
  });

  it('fails with CONFIG_INVALID when --config names a missing file', async () => {
    const error = await loadError({ configFile: join(root, 'missing.plist') });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('missing.plist: cannot read (ENOENT)');
  });

  it('fails with PLIST_INVALID naming the file when a plist is malformed', async () => {
    await mkdir(dirname(paths().preferences), { recursive: true });
    await writeFile(paths().preferences, '<plist><dict><key>a</key>');
    const error = await loadError();
    expect(error.code).toBe('PLIST_INVALID');
    expect(error.message).toContain(paths().preferences);
  });

  it('fails with CONFIG_INVALID when the plist root is not a dictionary', async () => {
    await mkdir(dirname(paths().preferences), { recursive: true });
    await writeFile(paths().preferences, buildPlist(['SoftwareRepoURL']));
    const error = await loadError();
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${paths().preferences}: must be a dictionary of preferences`);
  });

  it('ignores unknown keys with a warning, suggesting a near spelling', async () => {
    await writeLocal({
      LogFile: '/var/log/x.log',
      softwarerepourl: 'https://x/repo',
      HttpRetries: 4,
    });
    const { config, logger } = await load();
    expect(config.HttpRetries).toBe(4);
    expect(config.SoftwareRepoURL).toBe('http://munki/repo');
    expect(logger.entries.map((e) => [e.level, e.event, e.message])).toEqual([
      ['warn', 'config.key.unknown', `${paths().preferences}: ignoring unknown preference LogFile`],
      [
        'warn',
        'config.key.unknown',
        `${paths().preferences}: ignoring unknown preference softwarerepourl (did you mean SoftwareRepoURL?)`,
      ],
    ]);
  });

  it('never echoes a header entry, which may hold a credential', async () => {
    await writeLocal({ AdditionalHttpHeaders: ['Authorization Bearer hunter2'] });
    const message = (await loadError()).message;
    expect(message).toBe(
      `${paths().preferences}: AdditionalHttpHeaders[0] must be a list of "Name: value" header strings`,
    );
  });

  it('keeps secrets out of the error message', async () => {
    await writeLocal({ SoftwareRepoURL: 'ftp://user:hunter2@repo/x' });
    expect((await loadError()).message).not.toContain('hunter2');
  });
});

describe('PackageVerificationMode', () => {
  it.each([
    ['none', 'none'],
    ['hash', 'hash'],
    ['Hash', 'hash'],
    ['HASH_STRICT', 'hash_strict'],
    ['hash_Strict', 'hash_strict'],
    ['NONE', 'none'],
  ])('reads %s case-insensitively as %s', async (raw, mode) => {
    await writeLocal({ PackageVerificationMode: raw });
    expect((await load()).config.PackageVerificationMode).toBe(mode);
  });
});

describe('AdditionalHttpHeaders', () => {
  it.each([
    [['Authorization: Basic dXNlcjpwYXNz']],
    [['X-Munki-Client:abc', 'X-Spaced : value']],
    [['X-Url: https://example.com/a?b=c']],
    [[]],
  ])('accepts %j', async (headers) => {
    await writeLocal({ AdditionalHttpHeaders: headers });
    const { config } = await load();
    expect(config.AdditionalHttpHeaders).toEqual(headers);
    expect(Object.isFrozen(config.AdditionalHttpHeaders)).toBe(true);
  });

  it.each([
    [['no colon here'], 'AdditionalHttpHeaders[0]'],
    [['X-Ok: 1', ': no name'], 'AdditionalHttpHeaders[1]'],
    [['Bad Name: x'], 'AdditionalHttpHeaders[0]'],
    [['X-A: b\r\nX-Injected: c'], 'AdditionalHttpHeaders[0]'],
    [['X-A: b', 3], 'AdditionalHttpHeaders[1]'],
    [['X-Empty:'], 'AdditionalHttpHeaders[0]'],
    [['X-Blank:   '], 'AdditionalHttpHeaders[0]'],
  ])('rejects %j, naming the entry', async (headers, where) => {
    await writeLocal({ AdditionalHttpHeaders: headers });
    expect((await loadError()).message).toContain(
      `${paths().preferences}: ${where} must be a list of "Name: value" header strings`,
    );
  });
});

describe('CheckInSchedule', () => {
  it.each(['0 * * * *', '*/15 8-18 * * mon-fri', '5,35 * * * *', '@hourly', '@daily'])(
    'accepts %s',
    async (cron) => {
      await writeLocal({ CheckInSchedule: cron });
      expect((await load()).config.CheckInSchedule).toBe(cron);
    },
  );
});

describe('formatConfig', () => {
  it('prints every key with its value and source, aligned', async () => {
    await writeLocal({ HttpRetries: 5 });
    const { config } = await load({ clientId: 'lab-01' });
    const lines = formatConfig(config).trimEnd().split('\n');
    const rows = lines.filter((l) => !l.startsWith('#'));
    expect(rows).toHaveLength(PREFERENCE_KEYS.length);
    expect(rows[0]).toMatch(/^SoftwareRepoURL +http:\/\/munki\/repo +default$/);
    expect(rows.find((l) => l.startsWith('HttpRetries '))).toMatch(/^HttpRetries +5 +local$/);
    expect(rows.find((l) => l.startsWith('ClientIdentifier '))).toMatch(/ lab-01 +flag$/);
    expect(rows.find((l) => l.startsWith('CatalogURL '))).toMatch(/ \(unset\) +default$/);
    // Values start in one column, sources in another.
    const valueColumn = new Set(rows.map((l) => /^\S+ +/.exec(l)?.[0].length));
    expect(valueColumn.size).toBe(1);
    const sourceColumn = new Set(rows.map((l) => l.lastIndexOf(' ') + 1));
    expect(sourceColumn.size).toBe(1);
    expect(lines).toContain(`# local: ${paths().preferences}`);
  });

  it('shows header names but not their values, and hides URL passwords', async () => {
    await writeLocal({
      AdditionalHttpHeaders: ['Authorization: Basic c2VjcmV0', 'X-Token: hunter2'],
      SoftwareRepoURL: 'https://user:hunter2@repo.example/repo',
    });
    const text = formatConfig((await load()).config);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('c2VjcmV0');
    expect(text).toContain('["Authorization: ***", "X-Token: ***"]');
  });
});

describe('configTableMarkdown', () => {
  it('has one row per preference, in table order', () => {
    const rows = configTableMarkdown().trimEnd().split('\n').slice(2);
    expect(rows.map((r) => /^\| `(\w+)`/.exec(r)?.[1])).toEqual(PREFERENCE_KEYS);
  });

  it('is what README.md shows between the prefs markers', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const m = /<!-- prefs:start -->\n([\s\S]*?)<!-- prefs:end -->/.exec(readme);
    expect(m, 'README.md has a <!-- prefs:start --> … <!-- prefs:end --> section').not.toBeNull();
    expect(m?.[1]).toBe(configTableMarkdown());
  });
});
