import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../lib/errors.js';
import {
  encodeResourceName,
  kindUrl,
  packageUrl,
  repoUrl,
  type RepoKind,
  type RepoUrlConfig,
} from '../../../client/sync/repo-urls.js';

const base: RepoUrlConfig = { SoftwareRepoURL: 'https://munki.example.com/repo' };

describe('repoUrl', () => {
  // prettier-ignore
  it.each<[string, RepoUrlConfig, RepoKind, string, string]>([
    ['joins base, kind and name', base, 'catalogs', 'testing', 'https://munki.example.com/repo/catalogs/testing'],
    ['keeps nested names nested', base, 'manifests', 'site/lab1', 'https://munki.example.com/repo/manifests/site/lab1'],
    ['encodes spaces', base, 'manifests', 'site/Lab 1', 'https://munki.example.com/repo/manifests/site/Lab%201'],
    ['encodes #', base, 'pkgs', 'apps/a#b.dmg', 'https://munki.example.com/repo/pkgs/apps/a%23b.dmg'],
    ['encodes ? and %', base, 'pkgs', 'what?100%.pkg', 'https://munki.example.com/repo/pkgs/what%3F100%25.pkg'],
    ['encodes non-ASCII as UTF-8', base, 'icons', 'Café.png', 'https://munki.example.com/repo/icons/Caf%C3%A9.png'],
    ['encodes astral characters', base, 'icons', '📦.png', 'https://munki.example.com/repo/icons/%F0%9F%93%A6.png'],
    ['encodes +, as current Munki does for S3', base, 'pkgs', 'C++ Tools.pkg', 'https://munki.example.com/repo/pkgs/C%2B%2B%20Tools.pkg'],
    ['keeps urlPathAllowed punctuation', base, 'pkgs', "a-b._~!$&'()*,=:@.pkg", "https://munki.example.com/repo/pkgs/a-b._~!$&'()*,=:@.pkg"],
    ['encodes the rest of the unsafe set', base, 'pkgs', '"<>[\\]^`{|};', 'https://munki.example.com/repo/pkgs/%22%3C%3E%5B%5C%5D%5E%60%7B%7C%7D%3B'],
    ['adds no second slash after a base ending in /', { SoftwareRepoURL: 'https://x/repo/' }, 'catalogs', 'all', 'https://x/repo/catalogs/all'],
    ['appends the kind straight after a base ending in ?', { SoftwareRepoURL: 'https://x/munki.php?' }, 'catalogs', 'all', 'https://x/munki.php?catalogs/all'],
    ['uses CatalogURL ending in / verbatim', { ...base, CatalogURL: 'https://cdn/cats/' }, 'catalogs', 'testing', 'https://cdn/cats/testing'],
    ['adds / to CatalogURL without one', { ...base, CatalogURL: 'https://cdn/cats' }, 'catalogs', 'testing', 'https://cdn/cats/testing'],
    ['uses ManifestURL ending in ? verbatim (CGI style)', { ...base, ManifestURL: 'https://x/get.php?' }, 'manifests', 'site/lab 1', 'https://x/get.php?site/lab%201'],
    ['uses PackageURL for pkgs', { ...base, PackageURL: 'https://cdn/p' }, 'pkgs', 'a.pkg', 'https://cdn/p/a.pkg'],
    ['uses IconURL for icons', { ...base, IconURL: 'https://cdn/i/' }, 'icons', 'a.png', 'https://cdn/i/a.png'],
    ['uses ClientResourceURL for client_resources', { ...base, ClientResourceURL: 'https://cdn/r' }, 'client_resources', 'site_default.zip', 'https://cdn/r/site_default.zip'],
    ['ignores an empty override', { ...base, CatalogURL: '' }, 'catalogs', 'all', 'https://munki.example.com/repo/catalogs/all'],
    ['ignores the overrides of other kinds', { ...base, ManifestURL: 'https://elsewhere/' }, 'catalogs', 'all', 'https://munki.example.com/repo/catalogs/all'],
  ])('%s', (_what, config, kind, name, expected) => {
    expect(repoUrl(config, kind, name)).toBe(expected);
  });

  it.each([
    ['../secret'],
    ['site/../../etc/passwd'],
    ['..'],
    ['site/..'],
    ['/etc/passwd'],
    ['a\\..\\b'],
    ['\\server\\share'],
    [''],
    ['bad\nname'],
  ])('refuses %j with PATH_UNSAFE', (name) => {
    let caught: unknown;
    try {
      repoUrl(base, 'manifests', name);
    } catch (e) {
      caught = e;
    }
    expect(isAppError(caught, 'PATH_UNSAFE')).toBe(true);
  });

  it.each([['a..b'], ['...'], ['.hidden'], ['site/./lab']])('accepts %j', (name) => {
    expect(repoUrl(base, 'manifests', name)).toBe(
      'https://munki.example.com/repo/manifests/' + name,
    );
  });

  it('refuses to build a URL when SoftwareRepoURL is empty and no override is set', () => {
    expect(() => kindUrl({ SoftwareRepoURL: '' }, 'catalogs')).toThrow(/SoftwareRepoURL/);
  });

  it('builds from the override even when SoftwareRepoURL is empty', () => {
    expect(kindUrl({ SoftwareRepoURL: '', CatalogURL: 'https://c' }, 'catalogs')).toBe(
      'https://c/',
    );
  });
});

describe('encodeResourceName', () => {
  it('encodes a lone surrogate as U+FFFD instead of throwing', () => {
    expect(encodeResourceName('a\ud800b')).toBe('a%EF%BF%BDb');
  });
});

describe('packageUrl', () => {
  const item = { name: 'Firefox', installer_item_location: 'apps/Firefox 120.dmg' };

  // prettier-ignore
  it.each<[string, RepoUrlConfig, Record<string, unknown>, string]>([
    ['defaults to the pkgs folder', base, item, 'https://munki.example.com/repo/pkgs/apps/Firefox%20120.dmg'],
    ['honours the PackageURL preference', { ...base, PackageURL: 'https://cdn/pkgs' }, item, 'https://cdn/pkgs/apps/Firefox%20120.dmg'],
    ['uses PackageCompleteURL verbatim', base, { ...item, PackageCompleteURL: 'https://cdn/x.dmg?sig=a b' }, 'https://cdn/x.dmg?sig=a b'],
    ['prefers PackageCompleteURL over PackageURL', base, { ...item, PackageURL: 'https://a/', PackageCompleteURL: 'https://b/x' }, 'https://b/x'],
    ['resolves the location against a pkginfo PackageURL', base, { ...item, PackageURL: 'https://cdn.example.com/munki' }, 'https://cdn.example.com/munki/apps/Firefox%20120.dmg'],
    ['resolves against a PackageURL that ends in /', base, { ...item, PackageURL: 'https://cdn.example.com/munki/' }, 'https://cdn.example.com/munki/apps/Firefox%20120.dmg'],
    ['keeps # and ? in the file name with a pkginfo PackageURL', base, { ...item, installer_item_location: 'a#1?.pkg', PackageURL: 'https://cdn/m' }, 'https://cdn/m/a%231%3F.pkg'],
    ['falls back to the repo when PackageURL is not a URL', base, { ...item, PackageURL: 'not a url' }, 'https://munki.example.com/repo/pkgs/apps/Firefox%20120.dmg'],
    ['ignores an empty PackageCompleteURL', base, { ...item, PackageCompleteURL: '' }, 'https://munki.example.com/repo/pkgs/apps/Firefox%20120.dmg'],
  ])('%s', (_what, config, pkginfo, expected) => {
    expect(packageUrl(config, pkginfo)).toBe(expected);
  });

  it('uses uninstaller_item_location when uninstalling', () => {
    const pkginfo = { ...item, uninstaller_item_location: 'apps/Uninstall Firefox.pkg' };
    expect(packageUrl(base, pkginfo, { uninstalling: true })).toBe(
      'https://munki.example.com/repo/pkgs/apps/Uninstall%20Firefox.pkg',
    );
  });

  it('uses installer_item_location when uninstalling an item without an uninstaller', () => {
    expect(packageUrl(base, item, { uninstalling: true })).toBe(
      'https://munki.example.com/repo/pkgs/apps/Firefox%20120.dmg',
    );
  });

  it.each([['../../etc/passwd'], ['/etc/passwd']])(
    'refuses installer_item_location %j even with a pkginfo PackageURL',
    (location) => {
      expect(() =>
        packageUrl(base, { installer_item_location: location, PackageURL: 'https://cdn/m/' }),
      ).toThrow(expect.objectContaining({ code: 'PATH_UNSAFE' }));
    },
  );

  it('names the pkginfo when installer_item_location is missing', () => {
    expect(() => packageUrl(base, { name: 'Firefox' })).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_INVALID',
        message: expect.stringContaining('Firefox'),
      }),
    );
  });
});
