import {
  mkdtemp,
  readFile,
  readdir,
  writeFile,
  symlink,
  stat,
  copyFile,
  rm,
} from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseWithPlistPackage } from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlist, type PlistDict, type PlistValue } from '../../formats/index.js';
import { memoryLogger } from '../../lib/log.js';
import { makeCatalogs, type MakeCatalogsOptions } from '../../repo-tools/commands/makecatalogs.js';
import { repoCli } from '../helpers/cli.js';
import { makeRepo, pkgInfo, removeRepo, REAL_WORLD } from '../helpers/make-repo.js';

let cacheDir: string;
const repos: string[] = [];

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'abbot-cache-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
  for (const r of repos.splice(0)) await removeRepo(r);
});

async function repoWith(spec: Parameters<typeof makeRepo>[0]): Promise<string> {
  const root = await makeRepo(spec);
  repos.push(root);
  return root;
}

async function run(repo: string, options: Partial<MakeCatalogsOptions> = {}) {
  const logger = memoryLogger();
  // Tests change files within milliseconds of a run; the racy window is tested on its own below.
  const result = await makeCatalogs({
    repo,
    logger,
    cachePath: join(cacheDir, 'c'),
    racyWindowMs: 0,
    ...options,
  });
  const messages = logger.entries.map((e) => `${e.level}: ${e.message}`);
  return { result, logger, messages };
}

async function catalog(repo: string, name: string): Promise<PlistDict[]> {
  return parsePlist(await readFile(join(repo, 'catalogs', name))) as PlistDict[];
}

const names = (items: PlistDict[]): string[] =>
  items.map((i) => `${String(i['name'])}-${String(i['version'])}`);

describe('catalog assembly', () => {
  it('puts every item in all and in each catalog it names', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1.0', ['testing']),
        'b.plist': pkgInfo('B', '2.0', ['testing', 'production']),
      },
      pkgs: { 'apps/A-1.0.pkg': 'x', 'apps/B-2.0.pkg': 'x' },
    });
    await run(repo);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1.0', 'B-2.0']);
    expect(names(await catalog(repo, 'testing'))).toEqual(['A-1.0', 'B-2.0']);
    expect(names(await catalog(repo, 'production'))).toEqual(['B-2.0']);
  });

  it('orders items by pkginfo path, whatever order the files were written in', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'z/last.plist': pkgInfo('Z', '1'),
        'a.plist': pkgInfo('A', '1'),
        'm/mid': pkgInfo('M', '1'),
      },
      pkgs: { 'apps/Z-1.pkg': '', 'apps/A-1.pkg': '', 'apps/M-1.pkg': '' },
    });
    await run(repo);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1', 'M-1', 'Z-1']);
  });

  it('strips notes and every _-prefixed key but keeps unknown admin keys', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1', ['testing'], {
          notes: 'private',
          _metadata: { created_by: 'me' },
          _private: true,
          my_site_key: 'kept',
        }),
      },
      pkgs: { 'apps/A-1.pkg': '' },
    });
    await run(repo);
    const [item] = await catalog(repo, 'all');
    expect(item).not.toHaveProperty('notes');
    expect(item).not.toHaveProperty('_metadata');
    expect(item).not.toHaveProperty('_private');
    expect(item?.['my_site_key']).toBe('kept');
  });

  it('writes XML plists with sorted keys, tabs and the Apple header', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': {
          version: '1',
          name: 'A',
          catalogs: ['testing'],
          installer_type: 'nopkg',
          zeta: [],
          alpha: {},
        },
      },
    });
    await run(repo);
    const text = await readFile(join(repo, 'catalogs', 'testing'), 'utf8');
    expect(text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
        '<plist version="1.0">\n<array>\n\t<dict>\n' +
        '\t\t<key>alpha</key>\n\t\t<dict/>\n' +
        '\t\t<key>catalogs</key>\n\t\t<array>\n\t\t\t<string>testing</string>\n\t\t</array>\n' +
        '\t\t<key>installer_type</key>\n\t\t<string>nopkg</string>\n' +
        '\t\t<key>name</key>\n\t\t<string>A</string>\n' +
        '\t\t<key>version</key>\n\t\t<string>1</string>\n' +
        '\t\t<key>zeta</key>\n\t\t<array/>\n' +
        '\t</dict>\n</array>\n</plist>\n',
    );
  });

  it('writes catalogs the plist package reads back to the same values', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1.0', ['testing'], {
          description: 'Tom & Jerry <b>bold</b> “quotes” Å 🍎',
          installs: [
            { type: 'application', path: '/Applications/A.app', CFBundleShortVersionString: '1.0' },
          ],
          unattended_install: true,
          installed_size: 1234,
        }),
      },
      pkgs: { 'apps/A-1.0.pkg': '' },
    });
    await run(repo);
    const text = await readFile(join(repo, 'catalogs', 'all'), 'utf8');
    expect(parseWithPlistPackage(text)).toEqual(
      JSON.parse(JSON.stringify(await catalog(repo, 'all'))),
    );
  });

  it('reads pkginfo files of any extension, skips dot-files and dot-folders, and follows symlinks', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'abbot-linked-'));
    repos.push(outside);
    await writeFile(
      join(outside, 'linked.plist'),
      (await import('../../formats/index.js')).buildPlist(
        pkgInfo('L', '1', ['testing'], { installer_type: 'nopkg' }),
      ),
    );
    const repo = await repoWith({
      pkgsinfo: {
        'a.pkginfo': pkgInfo('A', '1', ['testing'], { installer_type: 'nopkg' }),
        noext: pkgInfo('N', '1', ['testing'], { installer_type: 'nopkg' }),
        '.hidden.plist': pkgInfo('H', '1', ['testing'], { installer_type: 'nopkg' }),
        '.git/x.plist': pkgInfo('G', '1', ['testing'], { installer_type: 'nopkg' }),
      },
    });
    await symlink(outside, join(repo, 'pkgsinfo', 'linkdir'));
    await run(repo);
    expect(names(await catalog(repo, 'all')).sort()).toEqual(['A-1', 'L-1', 'N-1']);
  });

  it('removes stale catalog files but keeps dot-files in catalogs/', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['testing'], { installer_type: 'nopkg' }) },
      catalogs: { old: [], '.keep': { raw: '' } },
    });
    const { result } = await run(repo);
    expect(result.removedCatalogs).toEqual(['old']);
    expect((await readdir(join(repo, 'catalogs'))).sort()).toEqual(['.keep', 'all', 'testing']);
  });

  it('writes an empty all catalog for a repo with no items', async () => {
    const repo = await repoWith({});
    await run(repo);
    expect(await catalog(repo, 'all')).toEqual([]);
  });

  it('leaves no temporary files behind', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['t'], { installer_type: 'nopkg' }) },
    });
    await run(repo);
    expect((await readdir(join(repo, 'catalogs'))).sort()).toEqual(['all', 't']);
  });

  it('does not rewrite a catalog whose content is unchanged, so its mtime and ETag stay stable', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1', ['t'], { installer_type: 'nopkg' }),
        'b.plist': pkgInfo('B', '1', ['u'], { installer_type: 'nopkg' }),
      },
    });
    await run(repo);
    const before = await stat(join(repo, 'catalogs', 't'));
    await writeFile(
      join(repo, 'pkgsinfo', 'b.plist'),
      (await import('../../formats/index.js')).buildPlist(
        pkgInfo('B', '2', ['u'], { installer_type: 'nopkg' }),
      ),
    );
    const { result } = await run(repo);
    expect(result.catalogs.find((c) => c.name === 't')?.written).toBe(false);
    expect(result.catalogs.find((c) => c.name === 'u')?.written).toBe(true);
    expect((await stat(join(repo, 'catalogs', 't'))).mtimeMs).toBe(before.mtimeMs);
  });
});

describe('warnings and errors', () => {
  it.each([
    [
      'a dict without name',
      { version: '1', catalogs: ['t'] },
      'pkgsinfo/x.plist is missing name key',
    ],
    ['an array instead of a dict', ['a'], 'pkgsinfo/x.plist is missing name key'],
  ])('skips %s with a warning naming the file', async (_label, value, message) => {
    const repo = await repoWith({ pkgsinfo: { 'x.plist': value as PlistValue } });
    const { result, messages } = await run(repo);
    expect(messages).toContain(`warn: WARNING: ${message}`);
    expect(await catalog(repo, 'all')).toEqual([]);
    expect(result.exitCode).toBe(0);
  });

  it('reports a pkginfo that is not a plist as an error naming the file, and still builds the others', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'bad.plist': { raw: '<plist><dict><key>name</key><string>x</dict></plist>' },
        'good.plist': pkgInfo('G', '1', ['t'], { installer_type: 'nopkg' }),
      },
    });
    const { result, messages } = await run(repo);
    expect(result.exitCode).toBe(1);
    const error = messages.find((m) => m.startsWith('error:'));
    expect(error).toMatch(
      /^error: ERROR: Unexpected error reading pkgsinfo\/bad\.plist \(line 1\)/,
    );
    expect(names(await catalog(repo, 't'))).toEqual(['G-1']);
  });

  it.each([
    ['no catalogs array', undefined, 'has no catalogs array!'],
    ['an empty catalogs array', [], 'has an empty catalogs array!'],
  ])('keeps an item with %s in all, with a warning', async (_label, catalogs, message) => {
    const value: Record<string, PlistValue> = { name: 'A', version: '1', installer_type: 'nopkg' };
    if (catalogs) value['catalogs'] = catalogs;
    const repo = await repoWith({ pkgsinfo: { 'a.plist': value } });
    const { messages } = await run(repo);
    expect(messages).toContain(`warn: WARNING: pkgsinfo/a.plist ${message}`);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1']);
  });

  it('skips an item whose installer item is missing from pkgs/', async () => {
    const repo = await repoWith({ pkgsinfo: { 'a.plist': pkgInfo('A', '1') } });
    const { messages } = await run(repo);
    expect(messages).toContain(
      'warn: WARNING: pkgsinfo/a.plist refers to missing installer item: apps/A-1.pkg',
    );
    expect(await catalog(repo, 'all')).toEqual([]);
  });

  it('keeps an item with a missing installer item with --force', async () => {
    const repo = await repoWith({ pkgsinfo: { 'a.plist': pkgInfo('A', '1') } });
    await run(repo, { force: true });
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1']);
  });

  it('does not look in pkgs/ with --skip-pkg-check', async () => {
    const repo = await repoWith({ pkgsinfo: { 'a.plist': pkgInfo('A', '1') } });
    const { messages } = await run(repo, { skipPkgCheck: true });
    expect(messages.filter((m) => m.startsWith('warn'))).toEqual([]);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1']);
  });

  it('accepts an installer item whose case differs, with a warning', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1') },
      pkgs: { 'Apps/a-1.pkg': '' },
    });
    const { messages } = await run(repo);
    expect(messages.some((m) => m.includes('differs in case from pkgs/Apps/a-1.pkg'))).toBe(true);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1']);
  });

  it.each([
    ['installer_type nopkg', { installer_type: 'nopkg' }],
    ['installer_type apple_update_metadata', { installer_type: 'apple_update_metadata' }],
    ['a PackageURL', { PackageURL: 'https://cdn.example.com/pkgs' }],
    ['a PackageCompleteURL', { PackageCompleteURL: 'https://cdn.example.com/A.pkg' }],
  ])('exempts an item with %s from the pkgs/ check', async (_label, extra) => {
    const repo = await repoWith({ pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['t'], extra) } });
    await run(repo);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1']);
  });

  it('checks uninstaller_item_location too', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1', ['t'], { uninstaller_item_location: 'apps/A-uninstall.pkg' }),
      },
      pkgs: { 'apps/A-1.pkg': '' },
    });
    const { messages } = await run(repo);
    expect(messages).toContain(
      'warn: WARNING: pkgsinfo/a.plist refers to missing installer item: apps/A-uninstall.pkg',
    );
    expect(await catalog(repo, 'all')).toEqual([]);
  });

  it('warns once about catalog names that differ only by case', async () => {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1', ['Testing'], { installer_type: 'nopkg' }),
        'b.plist': pkgInfo('B', '1', ['testing'], { installer_type: 'nopkg' }),
      },
    });
    const { messages } = await run(repo);
    expect(messages.filter((m) => m.includes('differ only by case'))).toHaveLength(1);
  });

  it('refuses catalog names that would escape catalogs/', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['../../evil', 'ok'], { installer_type: 'nopkg' }) },
    });
    const { messages } = await run(repo);
    expect(messages.some((m) => m.includes('names catalog "../../evil"'))).toBe(true);
    expect((await readdir(join(repo, 'catalogs'))).sort()).toEqual(['all', 'ok']);
    expect(existsSync(join(repo, '..', 'evil'))).toBe(false);
  });
});

describe('icon hashes', () => {
  it('writes the SHA-256 of every icon keyed by its path under icons/', async () => {
    const repo = await repoWith({
      icons: {
        'A.png': 'png-a',
        'sub/B.png': 'png-b',
        '.DS_Store': 'x',
        '_icon_hashes.plist': 'old',
      },
    });
    const { result } = await run(repo);
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    expect(result.icons).toBe(2);
    expect(parsePlist(await readFile(join(repo, 'icons', '_icon_hashes.plist')))).toEqual({
      'A.png': sha('png-a'),
      'sub/B.png': sha('png-b'),
    });
  });
});

describe('determinism', () => {
  it('gives byte-identical catalogs for the same repo built in a different order', async () => {
    const items = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `d${i % 4}/item${i}.plist`,
        pkgInfo(`I${i}`, `1.${i}`, [`c${i % 3}`], { installer_type: 'nopkg' }),
      ]),
    );
    const reversed = Object.fromEntries(Object.entries(items).reverse());
    const one = await repoWith({ pkgsinfo: items });
    const two = await repoWith({ pkgsinfo: reversed });
    await run(one);
    await run(two, { cache: false });
    for (const name of ['all', 'c0', 'c1', 'c2']) {
      expect(await readFile(join(two, 'catalogs', name))).toEqual(
        await readFile(join(one, 'catalogs', name)),
      );
    }
  });
});

describe('the cache', () => {
  async function cachedRepo() {
    const repo = await repoWith({
      pkgsinfo: {
        'a.plist': pkgInfo('A', '1', ['t'], { installer_type: 'nopkg' }),
        'b.plist': pkgInfo('B', '1', ['t'], { installer_type: 'nopkg' }),
      },
    });
    return repo;
  }

  it('re-parses nothing on a second run over an unchanged repo', async () => {
    const repo = await cachedRepo();
    expect((await run(repo)).result.parsed).toBe(2);
    expect((await run(repo)).result.parsed).toBe(0);
    expect(names(await catalog(repo, 't'))).toEqual(['A-1', 'B-1']);
  });

  it('re-parses only the file that changed, and the catalogs show the change', async () => {
    const repo = await cachedRepo();
    await run(repo);
    const { buildPlist } = await import('../../formats/index.js');
    await writeFile(
      join(repo, 'pkgsinfo', 'b.plist'),
      buildPlist(pkgInfo('B', '2.0', ['t'], { installer_type: 'nopkg' })),
    );
    const { result } = await run(repo);
    expect(result.parsed).toBe(1);
    expect(names(await catalog(repo, 't'))).toEqual(['A-1', 'B-2.0']);
  });

  it('picks up a pkginfo added to a folder it has listed before, and drops a deleted one', async () => {
    const repo = await cachedRepo();
    await run(repo);
    const { buildPlist } = await import('../../formats/index.js');
    await writeFile(
      join(repo, 'pkgsinfo', 'c.plist'),
      buildPlist(pkgInfo('C', '1', ['t'], { installer_type: 'nopkg' })),
    );
    await rm(join(repo, 'pkgsinfo', 'a.plist'));
    const { result } = await run(repo);
    expect(result.parsed).toBe(1);
    expect(names(await catalog(repo, 't'))).toEqual(['B-1', 'C-1']);
  });

  it('notices an installer item removed from pkgs/ since the last run', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1') },
      pkgs: { 'apps/A-1.pkg': '' },
    });
    await run(repo);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1']);
    await rm(join(repo, 'pkgs', 'apps', 'A-1.pkg'));
    await run(repo);
    expect(await catalog(repo, 'all')).toEqual([]);
  });

  it('does not trust files changed within the racy window before a run', async () => {
    const repo = await cachedRepo();
    expect((await run(repo, { racyWindowMs: 60_000 })).result.parsed).toBe(2);
    expect((await run(repo, { racyWindowMs: 60_000 })).result.parsed).toBe(2);
  });

  it('re-reads everything when catalogs/all was changed by someone else', async () => {
    const repo = await cachedRepo();
    await run(repo);
    const all = join(repo, 'catalogs', 'all');
    await writeFile(
      all,
      (await readFile(all, 'utf8')).replace('<string>A</string>', '<string>Z</string>'),
    );
    const { result } = await run(repo);
    expect(result.parsed).toBe(2);
    expect(names(await catalog(repo, 'all'))).toEqual(['A-1', 'B-1']);
  });

  it('notices a file replaced by one of the same size and mtime (inode and ctime change)', async () => {
    const repo = await cachedRepo();
    await run(repo);
    const { buildPlist } = await import('../../formats/index.js');
    const a = join(repo, 'pkgsinfo', 'a.plist');
    const old = await stat(a);
    const replacement = join(repo, 'replacement');
    await writeFile(replacement, buildPlist(pkgInfo('X', '1', ['t'], { installer_type: 'nopkg' })));
    const { utimes, rename } = await import('node:fs/promises');
    await utimes(replacement, old.atime, old.mtime);
    await rename(replacement, a);
    expect((await stat(a)).size).toBe(old.size);
    await run(repo);
    expect(names(await catalog(repo, 't'))).toEqual(['X-1', 'B-1']);
  });

  it('rebuilds from scratch when the cache file is corrupt', async () => {
    const repo = await cachedRepo();
    await run(repo);
    await writeFile(join(cacheDir, 'c'), 'ABBOTMC2\n\u0000\u0000\u0010\u0000garbage');
    const { result } = await run(repo);
    expect(result.parsed).toBe(2);
    expect(names(await catalog(repo, 't'))).toEqual(['A-1', 'B-1']);
  });

  it('still reports a file that fails to parse on every run', async () => {
    const repo = await cachedRepo();
    await writeFile(join(repo, 'pkgsinfo', 'bad.plist'), '<plist>');
    expect((await run(repo)).result.exitCode).toBe(1);
    expect((await run(repo)).result.exitCode).toBe(1);
  });
});

describe('the CLI', () => {
  it('exits 2 with a one-line error for a repo folder that does not exist', async () => {
    const r = await repoCli(['makecatalogs', '/nonexistent/repo']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/nonexistent/repo');
  });

  it('exits 2 for a folder without pkgsinfo/', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abbot-norepo-'));
    repos.push(dir);
    const r = await repoCli(['makecatalogs', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pkgsinfo\/ is missing/);
  });

  it('exits 2 for an unknown flag, without touching the repo', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['t'], { installer_type: 'nopkg' }) },
    });
    const r = await repoCli(['makecatalogs', repo, '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bogus/);
    expect(existsSync(join(repo, 'catalogs'))).toBe(false);
  });

  it('prints what it created, and no progress line when stderr is not a terminal', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['t'], { installer_type: 'nopkg' }) },
    });
    const r = await repoCli(['makecatalogs', repo], { ABBOT_CACHE_DIR: cacheDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Created catalogs/all (1 item)\nCreated catalogs/t (1 item)\n');
    expect(r.stderr).toBe('');
  });

  it('lists every item as it is added with -v', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': pkgInfo('A', '1', ['t'], { installer_type: 'nopkg' }) },
    });
    const r = await repoCli(['makecatalogs', repo, '-v'], { ABBOT_CACHE_DIR: cacheDir });
    expect(r.stdout).toContain('Adding pkgsinfo/a.plist to all...\n');
    expect(r.stdout).toContain('Adding pkgsinfo/a.plist to t...\n');
  });

  it('prints nothing but warnings with --quiet', async () => {
    const repo = await repoWith({
      pkgsinfo: { 'a.plist': { name: 'A', version: '1', installer_type: 'nopkg' } },
    });
    const r = await repoCli(['makecatalogs', repo, '--quiet'], { ABBOT_CACHE_DIR: cacheDir });
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('WARNING: pkgsinfo/a.plist has no catalogs array!\n');
  });
});

describe.skipIf(!existsSync(REAL_WORLD))('real-world pkginfo files', () => {
  it('builds catalogs from all of them, reporting only the one with merge-conflict markers', async () => {
    const repo = await repoWith({});
    const dir = join(REAL_WORLD, 'pkgsinfo');
    for (const f of await readdir(dir)) await copyFile(join(dir, f), join(repo, 'pkgsinfo', f));
    const { result } = await run(repo, { skipPkgCheck: true });
    const errors = result.findings.filter((f) => f.severity === 'error');
    expect(errors.map((e) => e.file)).toEqual([
      'pkgsinfo/AaronBurchfield__munkirepo__GitHub Desktop-210.plist',
    ]);
    expect(result.exitCode).toBe(1);
    const all = await catalog(repo, 'all');
    expect(all).toHaveLength((await readdir(dir)).length - 1);
    const flip = all.find((i) => i['name'] === 'Flip4Mac');
    expect(flip?.['version']).toBe('3.2.0.16  ');
  });

  it.each(['AaronBurchfield__munkirepo__all', 'crsleeth__munkiomator-example__all'])(
    'rebuilds %s byte for byte from its own items',
    async (file) => {
      // A real catalog's items, written back as pkginfo files, must come out as the same catalog values.
      const items = parsePlist(await readFile(join(REAL_WORLD, 'catalogs', file))) as PlistDict[];
      const repo = await repoWith({
        pkgsinfo: Object.fromEntries(
          items.map((item, i) => [`${String(i).padStart(4, '0')}.plist`, item]),
        ),
      });
      await run(repo, { skipPkgCheck: true });
      expect(await catalog(repo, 'all')).toEqual(items);
    },
  );
});
