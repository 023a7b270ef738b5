import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { isPlistDict, parsePlist, type PlistDict } from 'abbot/formats';
import {
  primaryManifestCandidates,
  resolveManifestTree,
  type Facts,
  type ResolvedManifests,
} from 'abbot/manifests';
import { AppError } from '../../lib/errors.js';

const FACTS: Facts = { os_vers_major: 14, machine_type: 'laptop', hostname: 'mac1' };

/** A loader over literal manifests that records what it was asked for. */
function loader(manifests: Record<string, PlistDict>) {
  const asked: string[] = [];
  const load = (name: string): Promise<PlistDict> => {
    asked.push(name);
    const m = manifests[name];
    return m
      ? Promise.resolve(m)
      : Promise.reject(new AppError('NOT_FOUND', `manifest ${name}: HTTP 404`));
  };
  return { load, asked };
}

const items = (
  r: ResolvedManifests,
  key: 'managed_installs' | 'optional_installs' = 'managed_installs',
) => r[key].map((i) => i.item);

describe('resolveManifestTree ordering', () => {
  it('processes included manifests depth first, before the manifest’s own items', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['a', 'b'], managed_installs: ['S'] },
      a: { included_manifests: ['a1'], managed_installs: ['A'] },
      a1: { managed_installs: ['A1'] },
      b: { managed_installs: ['B'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual(['A1', 'A', 'B', 'S']);
  });

  it('evaluates conditional items after includes and before own items', async () => {
    const { load } = loader({
      site: {
        catalogs: ['prod'],
        included_manifests: ['inc'],
        conditional_items: [{ condition: 'os_vers_major >= 14', managed_installs: ['C'] }],
        managed_installs: ['Own'],
      },
      inc: { managed_installs: ['I'] },
    });
    expect(items(await resolveManifestTree('site', load, FACTS))).toEqual(['I', 'C', 'Own']);
  });

  it('processes nested conditional items and their includes', async () => {
    const { load } = loader({
      site: {
        catalogs: ['prod'],
        conditional_items: [
          {
            condition: 'machine_type == "laptop"',
            included_manifests: ['laptops'],
            conditional_items: [
              { condition: 'os_vers_major == 14', managed_installs: ['Sonoma'] },
              { condition: 'os_vers_major == 15', managed_installs: ['Sequoia'] },
            ],
            managed_installs: ['Laptop'],
          },
          { condition: 'machine_type == "desktop"', managed_installs: ['Desktop'] },
        ],
      },
      laptops: { managed_installs: ['Battery'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual(['Battery', 'Sonoma', 'Laptop']);
    expect(r.managed_installs[1]).toMatchObject({
      manifest: 'site',
      condition: 'os_vers_major == 14',
    });
  });

  it('collects every section key', async () => {
    const sections = {
      managed_installs: ['i'],
      managed_uninstalls: ['u'],
      managed_updates: ['up'],
      optional_installs: ['o'],
      featured_items: ['f'],
      default_installs: ['d'],
    };
    const { load } = loader({ site: { catalogs: ['prod'], ...sections } });
    const r = await resolveManifestTree('site', load, FACTS);
    for (const [key, list] of Object.entries(sections)) {
      expect(r[key as keyof typeof sections].map((i) => i.item)).toEqual(list);
    }
  });

  it('skips empty included manifest names', async () => {
    const { load, asked } = loader({ site: { catalogs: ['prod'], included_manifests: [''] } });
    await resolveManifestTree('site', load, FACTS);
    expect(asked).toEqual(['site']);
  });

  it('loads a manifest included twice only once but lists its items each time', async () => {
    const { load, asked } = loader({
      site: { catalogs: ['prod'], included_manifests: ['a', 'b'] },
      a: { included_manifests: ['common'] },
      b: { included_manifests: ['common'] },
      common: { managed_installs: ['X'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(asked.filter((n) => n === 'common')).toHaveLength(1);
    expect(items(r)).toEqual(['X', 'X']);
    expect(r.manifestsUsed).toEqual(['site', 'a', 'b', 'common']);
  });
});

describe('resolveManifestTree catalogs', () => {
  it('lets included manifests without catalogs inherit the parent’s', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['inc'] },
      inc: { managed_installs: ['X'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(r.managed_installs[0]).toEqual({ item: 'X', catalogs: ['prod'], manifest: 'inc' });
  });

  it('replaces the catalogs for the subtree of a manifest that has its own', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['beta'], managed_installs: ['After'] },
      beta: {
        catalogs: ['testing', 'prod'],
        included_manifests: ['deep'],
        managed_installs: ['B'],
      },
      deep: { managed_installs: ['D'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(r.managed_installs.map((i) => [i.item, i.catalogs])).toEqual([
      ['D', ['testing', 'prod']],
      ['B', ['testing', 'prod']],
      ['After', ['prod']],
    ]);
  });

  it('treats an empty catalogs array in an included manifest as inherit', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['inc'] },
      inc: { catalogs: [], managed_installs: ['X'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(r.managed_installs[0]?.catalogs).toEqual(['prod']);
  });

  it('gives conditional items their own catalogs when they define them', async () => {
    const { load } = loader({
      site: {
        catalogs: ['prod'],
        conditional_items: [
          { condition: 'TRUEPREDICATE', catalogs: ['beta'], managed_installs: ['X'] },
        ],
      },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(r.managed_installs[0]?.catalogs).toEqual(['beta']);
  });

  it('sets the catalogs fact to the effective list at each level', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['beta'] },
      beta: {
        catalogs: ['testing'],
        conditional_items: [
          { condition: 'catalogs CONTAINS "testing"', managed_installs: ['Yes'] },
          { condition: 'catalogs CONTAINS "prod"', managed_installs: ['No'] },
        ],
      },
    });
    expect(items(await resolveManifestTree('site', load, FACTS))).toEqual(['Yes']);
  });

  it('records the primary manifest’s catalogs', async () => {
    const { load } = loader({ site: { catalogs: ['testing', 'prod'] } });
    expect((await resolveManifestTree('site', load, FACTS)).primaryCatalogs).toEqual([
      'testing',
      'prod',
    ]);
  });

  it.each<[string, PlistDict]>([
    ['no catalogs key', {}],
    ['an empty catalogs array', { catalogs: [] }],
    ['catalogs of the wrong type', { catalogs: 'prod' }],
  ])('rejects a primary manifest with %s as SCHEMA_INVALID', async (_label, site) => {
    const { load } = loader({ site });
    await expect(resolveManifestTree('site', load, FACTS)).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('site'),
    });
  });
});

describe('resolveManifestTree problems', () => {
  it('reports an include cycle with its path and does not follow it', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['a'], managed_installs: ['S'] },
      a: { included_manifests: ['b'], managed_installs: ['A'] },
      b: { included_manifests: ['site', 'a'], managed_installs: ['B'] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual(['B', 'A', 'S']);
    expect(r.warnings).toEqual([
      'manifest site includes itself: site → a → b → site',
      'manifest a includes itself: site → a → b → a',
    ]);
  });

  it('skips a conditional item whose condition does not parse, warning with the manifest name', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['lab'] },
      lab: {
        conditional_items: [
          { condition: 'os_vers_major >=>= 14', managed_installs: ['Bad'] },
          { condition: 'TRUEPREDICATE', managed_installs: ['Good'] },
        ],
      },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual(['Good']);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(
      /^manifest lab: condition `os_vers_major >=>= 14` does not parse/,
    );
  });

  it('skips a conditional item whose condition raises, with a warning', async () => {
    const { load } = loader({
      site: {
        catalogs: ['prod'],
        conditional_items: [{ condition: 'hostname < 5', managed_installs: ['X'] }],
      },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual([]);
    expect(r.warnings[0]).toMatch(
      /^manifest site: condition `hostname < 5` could not be evaluated/,
    );
  });

  it('skips a conditional item without a condition, with a warning', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], conditional_items: [{ managed_installs: ['X'] }] },
    });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual([]);
    expect(r.warnings).toEqual(['manifest site: conditional_items[0] has no condition; skipped']);
  });

  it('rejects the whole resolution when an included manifest fails to load', async () => {
    const { load } = loader({
      site: { catalogs: ['prod'], included_manifests: ['ok', 'missing'] },
      ok: { managed_installs: ['X'] },
    });
    await expect(resolveManifestTree('site', load, FACTS)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('included manifest missing (from site)'),
    });
  });

  it('rejects when the primary manifest fails to load', async () => {
    const { load } = loader({});
    await expect(resolveManifestTree('site', load, FACTS)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('ignores a section that is not an array of strings, with a warning', async () => {
    const { load } = loader({ site: { catalogs: ['prod'], managed_installs: ['A', 3] } });
    const r = await resolveManifestTree('site', load, FACTS);
    expect(items(r)).toEqual([]);
    expect(r.warnings).toEqual([
      'manifest site: managed_installs is not an array of strings; ignored',
    ]);
  });
});

describe('primaryManifestCandidates', () => {
  it.each([
    [
      { clientIdentifier: 'lab/mac1', hostname: 'mac1.example.com', serialNumber: 'C02X' },
      ['lab/mac1'],
    ],
    [
      { clientIdentifier: '', hostname: 'mac1.example.com', serialNumber: 'C02X' },
      ['mac1.example.com', 'mac1', 'C02X', 'site_default'],
    ],
    [{ hostname: 'mac1', serialNumber: 'C02X' }, ['mac1', 'C02X', 'site_default']],
    [{ hostname: 'mac1.local', serialNumber: 'UNKNOWN' }, ['mac1.local', 'mac1', 'site_default']],
    [{ hostname: 'mac1', serialNumber: '' }, ['mac1', 'site_default']],
    [{ hostname: '.hidden' }, ['.hidden', 'site_default']],
  ])('tries %j as %j', (identity, expected) => {
    expect(primaryManifestCandidates(identity)).toEqual(expected);
  });
});

const REAL = '/work/shared/fixtures/real-world/manifests';

describe.skipIf(!existsSync(REAL))('real-world manifests', () => {
  const files = existsSync(REAL) ? readdirSync(REAL) : [];
  const parsed = new Map<string, PlistDict>();
  for (const file of files) {
    try {
      const value = parsePlist(readFileSync(join(REAL, file)), { source: file });
      if (isPlistDict(value)) parsed.set(file, value);
    } catch {
      // a few fixtures do not parse on purpose
    }
  }
  /** Every included name resolves to an empty manifest; the file itself stands as primary. */
  const loadFor = (primary: string) => (name: string) =>
    Promise.resolve(name === primary ? (parsed.get(name) ?? {}) : {});

  it.each(files)('resolves %s without crashing', async (file) => {
    const manifest = parsed.get(file);
    if (!manifest) return;
    const withCatalogs = Array.isArray(manifest['catalogs']) && manifest['catalogs'].length > 0;
    const result = resolveManifestTree(file, loadFor(file), FACTS);
    if (withCatalogs) {
      const r = await result;
      expect(r.primaryCatalogs.length).toBeGreaterThan(0);
      expect(r.manifestsUsed[0]).toBe(file);
    } else {
      await expect(result).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    }
  });

  it.each(files)('resolves %s as an included manifest without crashing', async (file) => {
    if (!parsed.has(file)) return;
    const load = (name: string) =>
      Promise.resolve(
        name === 'primary'
          ? { catalogs: ['prod'], included_manifests: [file] }
          : (parsed.get(name) ?? {}),
      );
    const r = await resolveManifestTree('primary', load, FACTS);
    expect(r.manifestsUsed).toContain(file);
  });
});
