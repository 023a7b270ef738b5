import { copyFile, readdir, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlistValue } from '../../formats/index.js';
import { memoryLogger } from '../../lib/log.js';
import { checkRepo } from '../../repo-tools/commands/check.js';
import { repoCli } from '../helpers/cli.js';
import { makeRepo, pkgInfo, REAL_WORLD, type RepoSpec } from '../helpers/make-repo.js';

const repos: string[] = [];
afterEach(async () => {
  for (const r of repos.splice(0)) await rm(r, { recursive: true, force: true });
});

async function check(spec: RepoSpec) {
  const repo = await makeRepo(spec);
  repos.push(repo);
  const result = await checkRepo({ repo, logger: memoryLogger() });
  const lines = result.findings.map((f) => `${f.severity}: ${f.message}`);
  return { result, lines, repo };
}

const nopkg = (
  name: string,
  version = '1.0',
  catalogs = ['production'],
  extra: Record<string, PlistValue> = {},
) => pkgInfo(name, version, catalogs, { installer_type: 'nopkg', ...extra });

describe('repo check', () => {
  it('passes a clean repo', async () => {
    const { result, lines } = await check({
      pkgsinfo: {
        'a.plist': nopkg('A'),
        'b.plist': nopkg('B', '1.0', ['production'], { requires: ['A'] }),
      },
      manifests: { site_default: { catalogs: ['production'], managed_installs: ['A', 'B'] } },
    });
    expect(lines).toEqual([]);
    expect(result.exitCode).toBe(0);
  });

  it('reports a schema violation with the key path and the file', async () => {
    const { result, lines } = await check({
      pkgsinfo: {
        'a.plist': nopkg('A', '1.0', ['production'], {
          unattended_install: 'yes',
          installs: [{ type: 'file', path: 5 }],
        }),
      },
    });
    expect(result.exitCode).toBe(1);
    expect(lines.some((l) => l.startsWith('error: pkgsinfo/a.plist: unattended_install'))).toBe(
      true,
    );
    expect(lines.some((l) => l.startsWith('error: pkgsinfo/a.plist: installs[0].path'))).toBe(true);
  });

  it('reports a pkginfo that is not a plist', async () => {
    const { result, lines } = await check({ pkgsinfo: { 'bad.plist': { raw: '<<<<<<< HEAD' } } });
    expect(result.exitCode).toBe(1);
    expect(lines[0]).toMatch(/^error: pkgsinfo\/bad\.plist/);
  });

  it('reports an installable_condition that does not parse', async () => {
    const { lines } = await check({
      pkgsinfo: {
        'a.plist': nopkg('A', '1.0', ['production'], { installable_condition: 'os_vers >= ' }),
      },
    });
    expect(lines.some((l) => l.startsWith('error: pkgsinfo/a.plist: installable_condition:'))).toBe(
      true,
    );
  });

  it.each([
    ['requires', 'Missing'],
    ['requires', 'A-9.9'],
    ['update_for', 'Missing'],
  ])('reports %s "%s" that names nothing in the item catalogs', async (key, ref) => {
    const { lines } = await check({
      pkgsinfo: {
        'a.plist': nopkg('A'),
        'b.plist': nopkg('B', '1.0', ['production'], { [key]: [ref] }),
      },
    });
    expect(lines).toContain(
      `error: pkgsinfo/b.plist: ${key} "${ref}" names nothing in catalogs production`,
    );
  });

  it('accepts requires with a version in either name-version form', async () => {
    const { lines } = await check({
      pkgsinfo: {
        'a.plist': nopkg('A', '2.0.0'),
        'b.plist': nopkg('B', '1.0', ['production'], { requires: ['A-2.0', 'A--2.0.0'] }),
      },
    });
    expect(lines).toEqual([]);
  });

  it('reports a requires that exists only in another catalog', async () => {
    const { lines } = await check({
      pkgsinfo: {
        'a.plist': nopkg('A', '1.0', ['testing']),
        'b.plist': nopkg('B', '1.0', ['production'], { requires: 'A' }),
      },
    });
    expect(lines).toContain(
      'error: pkgsinfo/b.plist: requires "A" names nothing in catalogs production',
    );
  });

  it('reports the same name and version twice in one catalog', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A', '1.0'), 'a2.plist': nopkg('A', '1.0.0') },
    });
    expect(lines).toContain('error: catalogs/production: A 1.0 appears 2 times');
  });

  it('reports an installer item missing from pkgs/', async () => {
    const { lines } = await check({ pkgsinfo: { 'a.plist': pkgInfo('A', '1.0') } });
    expect(lines).toContain(
      'error: pkgsinfo/a.plist refers to missing installer item: apps/A-1.0.pkg',
    );
  });

  it('reports manifest items that are in none of the manifest catalogs', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A', '1.0', ['testing']) },
      manifests: {
        m: {
          catalogs: ['production', 'testing'],
          managed_installs: ['A', 'Nope'],
          optional_installs: ['apps/A'],
        },
      },
    });
    expect(lines).toContain(
      'error: manifests/m: managed_installs item "Nope" is not in catalogs production, testing',
    );
    expect(lines.filter((l) => l.includes('"A"'))).toEqual([]);
  });

  it('checks items in conditional_items against the catalogs in force there', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A', '1.0', ['testing']) },
      manifests: {
        m: {
          catalogs: ['production'],
          conditional_items: [
            { condition: 'arch == "arm64"', catalogs: ['testing'], managed_installs: ['A'] },
          ],
        },
      },
    });
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('reports a conditional item whose condition does not parse', async () => {
    const { lines } = await check({
      manifests: {
        m: {
          catalogs: ['production'],
          conditional_items: [{ condition: 'arch == ', managed_installs: [] }],
        },
      },
      pkgsinfo: { 'a.plist': nopkg('A') },
    });
    expect(
      lines.some((l) => l.startsWith('error: manifests/m: conditional_items[0] condition:')),
    ).toBe(true);
  });

  it('reports a manifest that includes a missing manifest', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A') },
      manifests: { m: { catalogs: ['production'], included_manifests: ['gone'] } },
    });
    expect(lines).toContain('error: manifests/m: includes missing manifest "gone"');
  });

  it('reports an include cycle once per manifest on it', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A') },
      manifests: {
        a: { catalogs: ['production'], included_manifests: ['b'] },
        b: { included_manifests: ['a'] },
      },
    });
    expect(lines.filter((l) => l.includes('cycle'))).toEqual([
      'error: manifests/a: included_manifests cycle: a → b → a',
      'error: manifests/b: included_manifests cycle: b → a → b',
    ]);
  });

  it('reports a manifest that is not a plist and one that violates the schema', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A') },
      manifests: { broken: { raw: 'student_client' }, typed: { catalogs: 'production' } },
    });
    expect(lines.some((l) => l.startsWith('error: manifests/broken'))).toBe(true);
    expect(lines.some((l) => l.startsWith('error: manifests/typed: catalogs'))).toBe(true);
  });

  it('warns about featured items that are not optional installs', async () => {
    const { lines } = await check({
      pkgsinfo: { 'a.plist': nopkg('A') },
      manifests: { m: { catalogs: ['production'], featured_items: ['A'] } },
    });
    expect(lines).toContain(
      'warning: manifests/m: featured_items item "A" is not in this manifest\'s optional_installs',
    );
  });

  it('exits 1 from the CLI when there are errors, with one line per finding on stderr', async () => {
    const repo = await makeRepo({ pkgsinfo: { 'a.plist': pkgInfo('A', '1.0') } });
    repos.push(repo);
    const r = await repoCli(['check', repo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'ERROR: pkgsinfo/a.plist refers to missing installer item: apps/A-1.0.pkg\n',
    );
    expect(r.stdout).toMatch(/^Checked 1 pkginfo files and 0 manifests: 1 error, 0 warnings\n$/);
  });
});

describe.skipIf(!existsSync(REAL_WORLD))('repo check on the real-world fixtures', () => {
  it('reports the unparseable files and no schema errors for the ordinary ones', async () => {
    const repo = await makeRepo({});
    repos.push(repo);
    await mkdir(join(repo, 'manifests'));
    for (const kind of ['pkgsinfo', 'manifests'] as const) {
      for (const f of await readdir(join(REAL_WORLD, kind)))
        await copyFile(join(REAL_WORLD, kind, f), join(repo, kind, f));
    }
    const result = await checkRepo({ repo, logger: memoryLogger() });
    const unreadable = result.findings.filter(
      (f) =>
        f.severity === 'error' &&
        /line|offset/.test(f.message) &&
        !f.message.includes('installer item'),
    );
    expect(unreadable.map((f) => f.file)).toContain(
      'pkgsinfo/AaronBurchfield__munkirepo__GitHub Desktop-210.plist',
    );
    expect(result.exitCode).toBe(1);
  });
});
