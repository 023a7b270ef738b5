import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import {
  buildPlist,
  buildPlistFragment,
  parsePlist,
  PlistReal,
  setDictKey,
  type PlistDict,
  type PlistValue,
} from '../../formats/index.js';
import { formatReal } from '../../formats/plist-build.js';

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

describe('buildPlist output', () => {
  it('writes a document byte for byte as Python plistlib.dumps(sort_keys=False) does', () => {
    // Expected text is plistlib's output for the same value (Python 3.11).
    const value: PlistDict = {
      name: 'Firefox',
      version: '115.0',
      size: 81234,
      neg: -5,
      ratio: 0.5,
      one: new PlistReal(1),
      ok: true,
      no: false,
      when: new Date(Date.UTC(2020, 0, 31, 12, 34, 56)),
      blob: bytes(60),
      list: ['a', [], {}],
      empty: '',
      esc: 'a & b < c > d "q" \'a\'',
      uni: 'Dag Ågren 😀',
      nested: { k: [1, { z: 'y' }] },
    };
    expect(buildPlist(value)).toBe(
      HEADER +
        '<dict>\n' +
        '\t<key>name</key>\n\t<string>Firefox</string>\n' +
        '\t<key>version</key>\n\t<string>115.0</string>\n' +
        '\t<key>size</key>\n\t<integer>81234</integer>\n' +
        '\t<key>neg</key>\n\t<integer>-5</integer>\n' +
        '\t<key>ratio</key>\n\t<real>0.5</real>\n' +
        '\t<key>one</key>\n\t<real>1.0</real>\n' +
        '\t<key>ok</key>\n\t<true/>\n' +
        '\t<key>no</key>\n\t<false/>\n' +
        '\t<key>when</key>\n\t<date>2020-01-31T12:34:56Z</date>\n' +
        '\t<key>blob</key>\n\t<data>\n' +
        '\tAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy\n' +
        '\tMzQ1Njc4OTo7\n' +
        '\t</data>\n' +
        '\t<key>list</key>\n\t<array>\n\t\t<string>a</string>\n\t\t<array/>\n\t\t<dict/>\n\t</array>\n' +
        '\t<key>empty</key>\n\t<string></string>\n' +
        '\t<key>esc</key>\n\t<string>a &amp; b &lt; c &gt; d "q" \'a\'</string>\n' +
        '\t<key>uni</key>\n\t<string>Dag Ågren 😀</string>\n' +
        '\t<key>nested</key>\n\t<dict>\n\t\t<key>k</key>\n\t\t<array>\n\t\t\t<integer>1</integer>\n' +
        '\t\t\t<dict>\n\t\t\t\t<key>z</key>\n\t\t\t\t<string>y</string>\n\t\t\t</dict>\n' +
        '\t\t</array>\n\t</dict>\n' +
        '</dict>\n</plist>\n',
    );
  });

  it.each<[string, PlistValue, string]>([
    ['a string', 'hi', '<string>hi</string>'],
    ['an empty string', '', '<string></string>'],
    ['&, < and > escaped', 'a&b<c>d', '<string>a&amp;b&lt;c&gt;d</string>'],
    ['quotes left alone', `"x" 'y'`, `<string>"x" 'y'</string>`],
    ['a CR as a character reference', 'a\r\nb', '<string>a&#13;\nb</string>'],
    ['tabs and newlines as they are', '\ta\n', '<string>\ta\n</string>'],
    ['an integer', 42, '<integer>42</integer>'],
    ['a negative integer', -7, '<integer>-7</integer>'],
    ['-0 as 0', -0, '<integer>0</integer>'],
    ['an integral number beyond 2^53', 2 ** 60, '<integer>1152921504606846976</integer>'],
    ['a non-integral number as a real', 1.5, '<real>1.5</real>'],
    ['INT64_MAX', 2n ** 63n - 1n, '<integer>9223372036854775807</integer>'],
    ['INT64_MIN', -(2n ** 63n), '<integer>-9223372036854775808</integer>'],
    ['UINT64_MAX', 2n ** 64n - 1n, '<integer>18446744073709551615</integer>'],
    ['a small bigint', 5n, '<integer>5</integer>'],
    ['PlistReal(1) as 1.0', new PlistReal(1), '<real>1.0</real>'],
    ['PlistReal(NaN)', new PlistReal(NaN), '<real>nan</real>'],
    ['PlistReal(Infinity)', new PlistReal(Infinity), '<real>inf</real>'],
    ['PlistReal(-Infinity)', new PlistReal(-Infinity), '<real>-inf</real>'],
    ['PlistReal(-0)', new PlistReal(-0), '<real>-0.0</real>'],
    ['true', true, '<true/>'],
    ['false', false, '<false/>'],
    ['a date', new Date(Date.UTC(2001, 8, 9, 1, 2, 3)), '<date>2001-09-09T01:02:03Z</date>'],
    [
      'a date, dropping milliseconds',
      new Date(Date.UTC(2001, 8, 9, 1, 2, 3, 999)),
      '<date>2001-09-09T01:02:03Z</date>',
    ],
    [
      'a year before 1000 with four digits',
      new Date(Date.UTC(999, 0, 1)),
      '<date>0999-01-01T00:00:00Z</date>',
    ],
    ['an empty array', [], '<array/>'],
    ['an empty dict', {}, '<dict/>'],
    ['empty data', new Uint8Array(), '<data>\n</data>'],
    ['data', new TextEncoder().encode('hello'), '<data>\naGVsbG8=\n</data>'],
    ['an array', ['a', 1], '<array>\n\t<string>a</string>\n\t<integer>1</integer>\n</array>'],
    ['a dict', { k: 'v' }, '<dict>\n\t<key>k</key>\n\t<string>v</string>\n</dict>'],
    ['an escaped key', { 'a<b': true }, '<dict>\n\t<key>a&lt;b</key>\n\t<true/>\n</dict>'],
  ])('writes %s', (_name, value, element) => {
    expect(buildPlistFragment(value, 0)).toBe(`${element}\n`);
  });

  it.each<[number, string]>([
    [1, '1.0'],
    [0.1, '0.1'],
    [1e16, '1e+16'],
    [1.5e-7, '1.5e-07'],
    [1e-5, '1e-05'],
    [2.5e-5, '2.5e-05'],
    [0.0001, '0.0001'],
    [1.2345678901234568e17, '1.2345678901234568e+17'],
    [1234567890123456, '1234567890123456.0'],
    [1e15, '1000000000000000.0'],
    [9007199254740992, '9007199254740992.0'],
    [1e22, '1e+22'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [-2.5, '-2.5'],
    [100, '100.0'],
    [123.456, '123.456'],
    [1 / 3, '0.3333333333333333'],
  ])('formats the real %s as Python repr() does: %s', (n, text) => {
    expect(formatReal(n)).toBe(text);
    expect(Number(text)).toBe(n);
  });

  it('wraps base64 at 76 columns minus 8 per indentation level, as plistlib does', () => {
    let value: PlistValue = bytes(100);
    for (let i = 0; i < 11; i++) value = [value];
    const lines = buildPlist(value).split('\n');
    const dataLines = lines.slice(lines.indexOf('\t'.repeat(11) + '<data>') + 1, -14);
    // At level 11, 76 - 88 < 16, so plistlib's floor of 16 columns applies.
    expect(dataLines).toEqual(
      [
        'AAECAwQFBgcICQoL',
        'DA0ODxAREhMUFRYX',
        'GBkaGxwdHh8gISIj',
        'JCUmJygpKissLS4v',
        'MDEyMzQ1Njc4OTo7',
        'PD0+P0BBQkNERUZH',
        'SElKS0xNTk9QUVJT',
        'VFVWV1hZWltcXV5f',
        'YGFiYw==',
      ].map((l) => '\t'.repeat(11) + l),
    );
  });

  it('writes 76 base64 columns for data at the root', () => {
    const lines = buildPlist(bytes(200)).split('\n');
    expect(lines[4]).toHaveLength(76);
  });

  it('keeps dict keys in their own order by default', () => {
    const xml = buildPlist({ b: 1, a: 2, c: 3 });
    expect(xml.indexOf('<key>b</key>')).toBeLessThan(xml.indexOf('<key>a</key>'));
    expect(xml.indexOf('<key>a</key>')).toBeLessThan(xml.indexOf('<key>c</key>'));
  });

  it('sorts keys by UTF-16 code unit with sortKeys, nested dicts too', () => {
    const value = { b: 1, a: { z: 1, y: 2 }, B: 1, é: 1, _: 1, '\ufffd': 1, '😀': 1 };
    const keys = [...buildPlist(value, { sortKeys: true }).matchAll(/<key>(.*?)<\/key>/g)].map(
      (m) => m[1],
    );
    // '😀' is U+1F600 but its first UTF-16 unit 0xD83D sorts before U+FFFD, as CF sorts.
    expect(keys).toEqual(['B', '_', 'a', 'y', 'z', 'b', 'é', '😀', '\ufffd']);
  });

  it('writes a __proto__ key that is an own property', () => {
    const dict: PlistDict = {};
    setDictKey(dict, '__proto__', 'x');
    expect(buildPlistFragment(dict, 0)).toBe(
      '<dict>\n\t<key>__proto__</key>\n\t<string>x</string>\n</dict>\n',
    );
  });

  it('writes the same array twice when it is shared but not cyclic', () => {
    const shared = ['x'];
    expect(parsePlist(buildPlist({ a: shared, b: shared }))).toEqual({ a: ['x'], b: ['x'] });
  });
});

describe('buildPlistFragment', () => {
  const pkginfo: PlistDict = { name: 'Firefox', catalogs: ['testing'], data: bytes(70), n: 1 };

  it('prefixes every line with the indent level and ends each with a newline', () => {
    const fragment = buildPlistFragment(pkginfo, 2);
    expect(fragment.endsWith('\n')).toBe(true);
    for (const line of fragment.slice(0, -1).split('\n')) expect(line).toMatch(/^\t\t/);
  });

  it('concatenates inside <array> to exactly what buildPlist writes for the array', () => {
    const items = [pkginfo, { name: 'Chrome', version: '1.0' }, pkginfo];
    const catalog =
      HEADER +
      '<array>\n' +
      items.map((p) => buildPlistFragment(p, 1)).join('') +
      '</array>\n</plist>\n';
    expect(catalog).toBe(buildPlist(items));
  });

  it('is what buildPlist writes between the header and </plist>', () => {
    expect(buildPlist(pkginfo, { sortKeys: true })).toBe(
      HEADER + buildPlistFragment(pkginfo, 0, { sortKeys: true }) + '</plist>\n',
    );
  });

  it('rejects a negative indent level', () => {
    expect(() => buildPlistFragment('x', -1)).toThrow(/indentLevel/);
  });
});

describe('buildPlist round trip', () => {
  const withProto: PlistDict = {};
  setDictKey(withProto, '__proto__', { polluted: true });

  it.each<[string, PlistValue]>([
    [
      'strings',
      ['', 'plain', '  spaced  ', 'a & b < c > d', ']]>', 'line\nbreaks\n', 'cr\rlf\r\n'],
    ],
    ['Unicode', ['Å', 'Dag Ågren', '😀', '👍🏽', 'ö\u0301', '\ufeffbom', '中文']],
    ['integers', [0, 1, -1, 2 ** 53 - 1, -(2 ** 53 - 1)]],
    ['bigint extremes', [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 53n + 1n]],
    [
      'reals',
      [
        new PlistReal(1),
        new PlistReal(0.1),
        new PlistReal(-0),
        new PlistReal(1e300),
        new PlistReal(5e-324),
        new PlistReal(NaN),
        new PlistReal(Infinity),
        new PlistReal(-Infinity),
      ],
    ],
    ['non-integral numbers (read back as reals)', [new PlistReal(1.5)]],
    ['booleans', [true, false]],
    [
      'dates',
      [new Date(Date.UTC(2020, 1, 29, 23, 59, 59)), new Date(0), new Date(Date.UTC(1904, 0, 1))],
    ],
    [
      'data',
      [new Uint8Array(), new Uint8Array([0]), bytes(1), bytes(2), bytes(3), bytes(57), bytes(1000)],
    ],
    ['empty containers', { a: [], d: {}, nested: [[], [{}]] }],
    ['a __proto__ key', withProto],
    ['integer-like and odd keys', { '': 1, ' ': 2, 'a.b': 3, constructor: 'x' }],
    [
      'a pkginfo',
      {
        name: 'Firefox',
        version: '115.0  ',
        installs: [{ path: '/Applications/Firefox.app', type: 'application' }],
        installer_item_size: 81234,
        uninstallable: true,
        _metadata: { creation_date: new Date(Date.UTC(2015, 7, 15, 2, 26, 7)) },
      },
    ],
  ])('parse(build(x)) deep-equals x for %s', (_name, value) => {
    const xml = buildPlist(value);
    const back = parsePlist(xml);
    expect(back).toEqual(normaliseForXml(value));
    expect(buildPlist(back)).toBe(xml);
  });

  it('writes back <real>1</real> as a real', () => {
    expect(buildPlist(parsePlist(HEADER + '<real>1</real>\n</plist>\n'))).toContain(
      '<real>1.0</real>',
    );
  });

  it('reads a bigint back as the same bigint', () => {
    expect(parsePlist(buildPlist(2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    expect(parsePlist(buildPlist(-(2n ** 63n)))).toBe(-(2n ** 63n));
  });
});

/** What a value looks like after an XML round trip: CRs survive, 1.5 comes back as a PlistReal. */
function normaliseForXml(v: PlistValue): PlistValue {
  if (typeof v === 'number' && !Number.isInteger(v)) return new PlistReal(v);
  if (Array.isArray(v)) return v.map(normaliseForXml);
  return v;
}

describe('buildPlist refusals', () => {
  class Point {
    x = 1;
  }
  const cyclicArray: PlistValue[] = [];
  cyclicArray.push(cyclicArray);
  const cyclicDict: PlistDict = {};
  cyclicDict['self'] = cyclicDict;

  it.each<[string, unknown, RegExp]>([
    ['undefined', undefined, /type undefined/],
    ['a function', () => 1, /type function/],
    ['a symbol', Symbol('x'), /type symbol/],
    ['null', null, /cannot write null/],
    ['an undefined dict value', { a: undefined }, /key "a" has the value undefined/],
    ['a Map', new Map(), /type Map/],
    ['a class instance', new Point(), /type Point/],
    ['a plain NaN', NaN, /use new PlistReal/],
    ['a plain Infinity', Infinity, /use new PlistReal/],
    ['a bigint above UINT64_MAX', 2n ** 64n, /outside the 64-bit range/],
    ['a bigint below INT64_MIN', -(2n ** 63n) - 1n, /outside the 64-bit range/],
    ['an integral number above UINT64_MAX', 1e20, /outside the 64-bit range/],
    ['an invalid Date', new Date(NaN), /invalid Date/],
    ['a year beyond 9999', new Date(Date.UTC(10000, 0, 1)), /cannot be written as YYYY/],
    ['a cyclic array', cyclicArray, /cycle/],
    ['a cyclic dict', cyclicDict, /cycle/],
  ])('refuses %s with a plain Error', (_name, value, message) => {
    const build = (): string => buildPlist(value as PlistValue);
    expect(build).toThrow(message);
    try {
      build();
    } catch (e) {
      expect(e).not.toBeInstanceOf(AppError);
    }
  });

  it.each<[string, PlistValue]>([
    ['a control character in a string', 'a\u0001b'],
    ['NUL in a string', 'a\u0000'],
    ['a control character in a key', { 'k\u001b': 1 }],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00a'],
    ['U+FFFE', '\ufffe'],
    ['U+FFFF', '\uffff'],
  ])('refuses %s with AppError PLIST_INVALID', (_name, value) => {
    let error: unknown;
    try {
      buildPlist(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('PLIST_INVALID');
  });
});

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/real-world', import.meta.url));

describe.skipIf(!existsSync(FIXTURES))('buildPlist on real-world Munki repo files', () => {
  // Files Munki (Python plistlib) wrote: reading and rewriting them must change no byte.
  it.each([
    'catalogs/AaronBurchfield__munkirepo__all',
    'catalogs/Arequ__a_munki_repo__testing',
    'catalogs/DWBergstrom__munki_files__utilities',
    'catalogs/a-ahlbeck__munki-repo__testing',
    'catalogs/bruienne__Cengage-Munki-Repo__dev',
    'catalogs/crsleeth__munkiomator-example__all',
    'pkgsinfo/talentum__munki__Flip4Mac-3.2.0.16  .plist',
    'pkgsinfo/Crestwood-Preparatory-College__Munki__TheUnarchiver-3.10.1.plist',
    'pkgsinfo/bruienne__Cengage-Munki-Repo__CreativeSuite5MasterCollection-5.0.0.0.0.plist',
    'pkgsinfo/jhowe-sgs__munki_repo__Adobe CC Image Tools-2016.08.09',
    'manifests/DWBergstrom__munki_files__site_default',
  ])('rewrites %s byte for byte', (name) => {
    const original = readFileSync(`${FIXTURES}/${name}`, 'utf8');
    expect(buildPlist(parsePlist(original, { source: name }))).toBe(original);
  });
});
