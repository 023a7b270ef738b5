/**
 * `repo manifest` through the CLI: every verb on a real temporary repo, the rules manifestutil
 * enforces, minimal diffs, and bad input (exit 2, nothing written).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBinaryPlist, buildPlist, parsePlist } from '../../formats/index.js';
import { repoCli } from '../helpers/cli.js';
import { makeRepo, pkgInfo, removeRepo } from '../helpers/make-repo.js';

const repos: string[] = [];
afterEach(async () => {
  for (const r of repos.splice(0)) await removeRepo(r);
});

const firefox = pkgInfo('Firefox', '120.0', ['production']);
const chrome = pkgInfo('Chrome', '119.0', ['testing']);
const office = pkgInfo('Office', '16.0', ['production']);

async function repoWith(manifests: Record<string, unknown> = {}): Promise<string> {
  const repo = await makeRepo({
    catalogs: {
      all: [firefox, chrome, office],
      production: [firefox, office],
      testing: [chrome],
    },
    manifests: {
      site_default: {
        catalogs: ['production'],
        included_manifests: [],
        managed_installs: ['Firefox'],
        optional_installs: ['Office'],
      },
      ...(manifests as Record<string, never>),
    },
  });
  repos.push(repo);
  return repo;
}

const manifest = (args: string[], repo: string) => repoCli(['manifest', ...args, '--repo', repo]);
const text = (repo: string, name: string) => readFile(join(repo, 'manifests', name), 'utf8');
const value = async (repo: string, name: string) => parsePlist(await text(repo, name));

describe('repo manifest new and list', () => {
  it('creates the manifest manifestutil creates, with the catalogs given', async () => {
    const repo = await repoWith();
    const r = await manifest(
      ['new', 'lab/mac-01', '--catalog', 'testing', '--catalog', 'production'],
      repo,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await text(repo, 'lab/mac-01')).toBe(
      buildPlist({
        catalogs: ['testing', 'production'],
        included_manifests: [],
        managed_installs: [],
        managed_uninstalls: [],
      }),
    );
    expect((await manifest(['list'], repo)).stdout).toBe('lab/mac-01\nsite_default\n');
  });

  it('refuses to overwrite an existing manifest', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    const r = await manifest(['new', 'site_default'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/manifests\/site_default already exists/);
    expect(await text(repo, 'site_default')).toBe(before);
  });

  it.each(['../escape', '/etc/passwd', 'a/../../b', '.hidden', 'a\\b'])(
    'refuses the unsafe name %s',
    async (name) => {
      const repo = await repoWith();
      const r = await manifest(['new', name], repo);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not a plain path under manifests/);
      expect(existsSync(join(repo, 'escape'))).toBe(false);
    },
  );

  it('says which folder is missing when the repo has no manifests/', async () => {
    const repo = await makeRepo();
    repos.push(repo);
    const r = await manifest(['list'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a Munki repo \(manifests\/ is missing\)/);
  });
});

describe('repo manifest add and remove', () => {
  it('adds an item as one new line and says so', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    const r = await manifest(
      ['add', 'site_default', 'Office', '--section', 'featured_items'],
      repo,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Added 'Office' to featured_items of manifest site_default.\n");
    const after = await text(repo, 'site_default');
    expect(after).toBe(
      // The keys are in sorted order, so the new one goes where a sorting writer would put it.
      before.replace(
        '\t<key>included_manifests</key>',
        '\t<key>featured_items</key>\n\t<array>\n\t\t<string>Office</string>\n\t</array>\n\t<key>included_manifests</key>',
      ),
    );
  });

  it('defaults to managed_installs and warns when no catalog of the manifest has the item', async () => {
    const repo = await repoWith();
    const r = await manifest(['add', 'site_default', 'Chrome'], repo);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "WARNING: 'Chrome' is not available in catalogs production of manifest site_default\n",
    );
    expect((await value(repo, 'site_default')) as object).toMatchObject({
      managed_installs: ['Firefox', 'Chrome'],
    });
  });

  it('finds items pinned to a version in the catalogs', async () => {
    const repo = await repoWith();
    const r = await manifest(['add', 'site_default', 'Office-16.0'], repo);
    expect(r.stderr).toBe('');
  });

  it('leaves the file alone when the item is already there', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    const r = await manifest(['add', 'site_default', 'Firefox'], repo);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/'Firefox' is already in managed_installs/);
    expect(await text(repo, 'site_default')).toBe(before);
  });

  it('refuses an item in installs and uninstalls at once', async () => {
    const repo = await repoWith();
    const r = await manifest(
      ['add', 'site_default', 'Firefox', '--section', 'managed_uninstalls'],
      repo,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'Firefox' is already in managed_installs of manifest site_default/);
  });

  it('refuses a featured item that is not an optional install', async () => {
    const repo = await repoWith();
    const r = await manifest(
      ['add', 'site_default', 'Firefox', '--section', 'default_installs'],
      repo,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/must also be in optional_installs/);
  });

  it('refuses an unknown section name, writing nothing', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    const r = await manifest(
      ['add', 'site_default', 'Office', '--section', 'managed_instals'],
      repo,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown section "managed_instals" \(use one of managed_installs,/);
    expect(await text(repo, 'site_default')).toBe(before);
  });

  it('adds to a new conditional item, then to the same one', async () => {
    const repo = await repoWith();
    const cond = 'machine_type == "laptop"';
    expect(
      (
        await manifest(
          ['add', 'site_default', 'Office', '--condition', cond, '--section', 'managed_installs'],
          repo,
        )
      ).code,
    ).toBe(0);
    expect(
      (
        await manifest(
          ['add', 'site_default', 'Firefox', '--condition', cond, '--section', 'managed_updates'],
          repo,
        )
      ).code,
    ).toBe(0);
    expect(
      ((await value(repo, 'site_default')) as Record<string, unknown>)['conditional_items'],
    ).toEqual([{ condition: cond, managed_installs: ['Office'], managed_updates: ['Firefox'] }]);
  });

  it('accepts a featured item in a new conditional item when the manifest offers it', async () => {
    const repo = await repoWith();
    const cond = 'arch == "arm64"';
    const r = await manifest(
      ['add', 'site_default', 'Office', '--condition', cond, '--section', 'featured_items', '-q'],
      repo,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(
      ((await value(repo, 'site_default')) as Record<string, unknown>)['conditional_items'],
    ).toEqual([{ condition: cond, featured_items: ['Office'] }]);
  });

  it('rewrites a binary manifest as XML, saying its formatting was not kept', async () => {
    const repo = await repoWith({
      bin: { raw: buildBinaryPlist({ catalogs: ['production'], managed_installs: [] }) },
    });
    const r = await manifest(['add', 'bin', 'Firefox'], repo);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/manifests\/bin was rewritten in Apple's plist layout/);
    expect(await text(repo, 'bin')).toBe(
      buildPlist({ catalogs: ['production'], managed_installs: ['Firefox'] }),
    );
  });

  it('refuses a condition the client could not parse, writing nothing', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    const r = await manifest(['add', 'site_default', 'Office', '--condition', 'os_vers >= '], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^repo: condition `os_vers >= `: .*column/);
    expect(await text(repo, 'site_default')).toBe(before);
  });

  it('removes an item from whichever section lists it, deleting one line', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    const r = await manifest(['remove', 'site_default', 'Office'], repo);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Removed 'Office' from optional_installs of manifest site_default.\n");
    expect(await text(repo, 'site_default')).toBe(
      before.replace('\t\t<string>Office</string>\n', ''),
    );
  });

  it('fails with exit 1 when the item is not there', async () => {
    const repo = await repoWith();
    const r = await manifest(['remove', 'site_default', 'Nothing'], repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'Nothing' is not in any section of manifest site_default/);
  });

  it('refuses to edit a manifest that is not a plist, naming it, and leaves it as it was', async () => {
    const repo = await repoWith({ broken: { raw: '<plist><dict><key>catalogs</key>' } });
    const r = await manifest(['add', 'broken', 'Firefox'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^repo: manifests\/broken/);
    expect(await text(repo, 'broken')).toBe('<plist><dict><key>catalogs</key>');
  });

  it('names a missing manifest', async () => {
    const repo = await repoWith();
    const r = await manifest(['add', 'nope', 'Firefox'], repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/manifests\/nope: no such manifest/);
  });

  it('keeps the file mode of the manifest it rewrites', async () => {
    const repo = await repoWith();
    const { chmod, stat } = await import('node:fs/promises');
    await chmod(join(repo, 'manifests/site_default'), 0o640);
    await manifest(['add', 'site_default', 'Office', '--section', 'featured_items'], repo);
    expect((await stat(join(repo, 'manifests/site_default'))).mode & 0o777).toBe(0o640);
  });
});

describe('repo manifest catalogs and includes', () => {
  it('puts a new catalog first, and removes it again', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    expect((await manifest(['add-catalog', 'site_default', 'testing'], repo)).code).toBe(0);
    expect(((await value(repo, 'site_default')) as Record<string, unknown>)['catalogs']).toEqual([
      'testing',
      'production',
    ]);
    expect((await manifest(['remove-catalog', 'site_default', 'testing'], repo)).code).toBe(0);
    expect(await text(repo, 'site_default')).toBe(before);
  });

  it('refuses a catalog the repo does not have', async () => {
    const repo = await repoWith();
    const r = await manifest(['add-catalog', 'site_default', 'beta'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /unknown catalog "beta".*catalogs in this repo: all, production, testing/,
    );
  });

  it('adds and removes an included manifest', async () => {
    const repo = await repoWith({ common: { managed_installs: ['Office'] } });
    expect((await manifest(['add-include', 'site_default', 'common'], repo)).code).toBe(0);
    expect(
      ((await value(repo, 'site_default')) as Record<string, unknown>)['included_manifests'],
    ).toEqual(['common']);
    expect((await manifest(['remove-include', 'site_default', 'common'], repo)).code).toBe(0);
    expect(
      ((await value(repo, 'site_default')) as Record<string, unknown>)['included_manifests'],
    ).toEqual([]);
  });

  it('refuses an include that is missing, itself, or closes a cycle', async () => {
    const repo = await repoWith({
      a: { included_manifests: ['b'] },
      b: {
        conditional_items: [{ condition: 'arch == "arm64"', included_manifests: ['site_default'] }],
      },
    });
    expect((await manifest(['add-include', 'site_default', 'zzz'], repo)).stderr).toMatch(
      /no such manifest to include/,
    );
    expect((await manifest(['add-include', 'site_default', 'site_default'], repo)).code).toBe(2);
    const r = await manifest(['add-include', 'site_default', 'a'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would make a cycle: site_default → a → b → site_default/);
  });
});

describe('repo manifest show and find', () => {
  it('shows a manifest as an outline', async () => {
    const repo = await repoWith();
    const r = await manifest(['show', 'site_default'], repo);
    expect(r.stdout).toBe(
      'catalogs:\n    production\nincluded_manifests:\nmanaged_installs:\n    Firefox\noptional_installs:\n    Office\n',
    );
  });

  it('shows the resolved tree with includes, conditions unevaluated and catalogs in force', async () => {
    const repo = await repoWith({
      top: {
        catalogs: ['production'],
        included_manifests: ['common'],
        managed_installs: ['Firefox'],
        conditional_items: [
          {
            condition: 'machine_type == "laptop"',
            catalogs: ['testing'],
            managed_installs: ['Chrome'],
            conditional_items: [
              { condition: 'os_vers BEGINSWITH "14"', managed_updates: ['Chrome'] },
            ],
          },
        ],
      },
      common: { managed_installs: ['Office'] },
    });
    const r = await manifest(['show', 'top', '--resolved'], repo);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'manifest top',
        'catalogs in force: production',
        '',
        'tree:',
        '  top  [catalogs: production]',
        '    includes common  [catalogs: production (inherited)]',
        '    if `machine_type == "laptop"`  [catalogs: testing]',
        '      if `os_vers BEGINSWITH "14"`  [catalogs: testing (inherited)]',
        '',
        'managed_installs:',
        '  Office  (from common)',
        '  Chrome  (from top, if `machine_type == "laptop"`, catalogs testing)',
        '  Firefox  (from top)',
        '',
        'managed_updates:',
        '  Chrome  (from top, if `machine_type == "laptop"` and `os_vers BEGINSWITH "14"`, catalogs testing)',
        '',
        '2 conditions not evaluated: a client decides them with its own facts',
        '',
      ].join('\n'),
    );
  });

  it('fails show --resolved when an included manifest is missing, naming it', async () => {
    const repo = await repoWith({
      top: { catalogs: ['production'], included_manifests: ['gone'] },
    });
    const r = await manifest(['show', 'top', '--resolved'], repo);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /included manifest gone \(from top\) could not be loaded: manifests\/gone: no such manifest/,
    );
  });

  it('finds which manifests reference an item, inside conditional items too', async () => {
    const repo = await repoWith({
      lab: {
        conditional_items: [{ condition: 'arch == "arm64"', managed_installs: ['firefox-esr'] }],
      },
      broken: { raw: 'not a plist' },
    });
    const r = await manifest(['find', 'Firefox'], repo);
    expect(r.stdout).toBe(
      'lab (managed_installs): firefox-esr [if arch == "arm64"]\nsite_default (managed_installs): Firefox\n2 matches found.\n',
    );
    expect(r.stderr).toMatch(/^WARNING: manifests\/broken/);
  });

  it('refuses an unknown verb', async () => {
    const repo = await repoWith();
    const r = await manifest(['rename', 'a', 'b'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown manifest verb "rename"/);
  });

  it('refuses the wrong number of arguments', async () => {
    const repo = await repoWith();
    const r = await manifest(['add', 'site_default'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/takes NAME ITEM, got 1 argument/);
  });
});

describe('repo manifest with a lock held', () => {
  it('refuses to edit while another edit holds the lock, and writes nothing', async () => {
    const repo = await repoWith();
    const before = await text(repo, 'site_default');
    // A live process (this one's parent) holding the lock stands in for a concurrent edit.
    await writeFile(
      join(repo, 'manifests/.abbot-manifest.lock'),
      JSON.stringify({
        pid: process.ppid,
        startedAt: new Date().toISOString(),
        command: 'repo manifest',
      }),
    );
    const r = await manifest(
      ['add', 'site_default', 'Office', '--section', 'featured_items'],
      repo,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/another run \(repo manifest/);
    expect(await text(repo, 'site_default')).toBe(before);
    await rm(join(repo, 'manifests/.abbot-manifest.lock'));
    expect((await manifest(['list'], repo)).stdout).not.toMatch(/lock/);
  });
});
