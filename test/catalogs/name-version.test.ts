import { describe, expect, it } from 'vitest';

import { itemNameFromManifestEntry, splitNameAndVersion } from 'abbot/catalogs';

describe('splitNameAndVersion', () => {
  it.each([
    ['Firefox', 'Firefox', ''],
    ['Tool-2', 'Tool', '2'],
    ['foo--1.2.3-1', 'foo', '1.2.3-1'],
    ['foo-1.2.3-1', 'foo-1.2.3', '1'],
    ['GoogleChrome-137.0.7151.69', 'GoogleChrome', '137.0.7151.69'],
    ['munkitools--7.0.10.5496', 'munkitools', '7.0.10.5496'],
    ['Adobe CC Image Tools-2016.08.09', 'Adobe CC Image Tools', '2016.08.09'],
    ['Handbrake-0.10.2 x86_64', 'Handbrake', '0.10.2 x86_64'],
    [
      'Mac_OS_X_10.10.5_Security_Update_2016-003-031',
      'Mac_OS_X_10.10.5_Security_Update_2016-003',
      '031',
    ],
    // "--" whose last piece is not a version falls back to "-"
    ['foo--bar', 'foo--bar', ''],
    ['foo--bar-1', 'foo--bar', '1'],
    ['a---1', 'a--', '1'],
    // the version must start with a digit
    ['name-v1.0', 'name-v1.0', ''],
    ['foo-', 'foo-', ''],
    ['foo--', 'foo--', ''],
    ['-1.0', '', '1.0'],
    // a digit carrying a combining mark is one grapheme, not a digit, to Swift
    ['foo-1\u0301', 'foo-1\u0301', ''],
    ['', '', ''],
  ])('splits %j into (%j, %j)', (input, name, version) => {
    expect(splitNameAndVersion(input)).toEqual({ name, version });
  });
});

describe('itemNameFromManifestEntry', () => {
  it.each([
    ['Firefox', 'Firefox', ''],
    ['apps/Firefox-120.0', 'Firefox', '120.0'],
    ['a/b/c--1.0', 'c', '1.0'],
    ['path/with-1.0/Name', 'Name', ''],
    ['dir/', 'dir', ''],
    ['dir//', 'dir', ''],
    ['/', '/', ''],
    ['', '', ''],
  ])('reads %j as (%j, %j)', (entry, name, version) => {
    expect(itemNameFromManifestEntry(entry)).toEqual({ name, version });
  });
});
