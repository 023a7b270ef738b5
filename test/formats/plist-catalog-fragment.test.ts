import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildBinaryPlist,
  buildPlist,
  buildPlistFragment,
  isPlistDict,
  parsePlist,
  PlistReal,
  setDictKey,
  type PlistDict,
  type PlistValue,
} from '../../formats/index.js';
import {
  isPlistDateText,
  transcodeCatalogFragment,
  transcodeExact,
  transcodeFast,
  type TranscodeCatalogFragmentOptions,
} from '../../formats/plist-catalog-fragment.js';
import { parseDate } from '../../formats/plist-parse.js';

// ---------------------------------------------------------------------------------------------
// The invariant, checked against parsePlist + strip + buildPlistFragment

const CATALOG_PICKS = [
  'name',
  'catalogs',
  'installer_type',
  'installer_item_location',
  'uninstaller_item_location',
  'PackageURL',
  'PackageCompleteURL',
];
const isCatalogStripped = (key: string): boolean => key === 'notes' || key.startsWith('_');

/** The option sets every document is checked under: makecatalogs', and two extremes. */
const OPTION_SETS: Record<string, Omit<TranscodeCatalogFragmentOptions, 'source'>> = {
  catalog: { stripKey: isCatalogStripped, pickKeys: CATALOG_PICKS },
  // Picks every key the tests use, so nested values are materialised (VALUE mode) too.
  'pick all': {
    stripKey: (key) => key === 'notes',
    pickKeys: [
      ...CATALOG_PICKS,
      'a',
      'b',
      'z',
      'd',
      'k',
      'list',
      'nested',
      'installs',
      'receipts',
      '__proto__',
      '10',
      'data',
      'date',
      'real',
      'int',
    ],
  },
  'strip nothing': { stripKey: () => false, pickKeys: [] },
};

type Outcome =
  | { error: string; code: unknown }
  | { root: 'dict'; fragment: string; picked: PlistDict }
  | { root: 'other'; value: PlistValue };

const SOURCE = 'pkgsinfo/apps/Test-1.0.plist';

/** What the contract says transcodeCatalogFragment must give, from parsePlist and the builder. */
function expected(
  bytes: Uint8Array,
  options: Omit<TranscodeCatalogFragmentOptions, 'source'>,
): Outcome {
  return expectedFrom(parsed(bytes), options);
}

type Parsed = { ok: true; value: PlistValue } | { ok: false; failure: Outcome };

/** parsePlist's value, or its error as an outcome; parsed once, checked under every option set. */
function parsed(bytes: Uint8Array): Parsed {
  try {
    return { ok: true, value: parsePlist(bytes, { source: SOURCE }) };
  } catch (e) {
    return { ok: false, failure: errorOutcome(e) };
  }
}

function expectedFrom(
  parse: Parsed,
  options: Omit<TranscodeCatalogFragmentOptions, 'source'>,
): Outcome {
  if (!parse.ok) return parse.failure;
  const value = parse.value;
  if (!isPlistDict(value)) return { root: 'other', value } satisfies Outcome;
  const kept: PlistDict = {};
  const picked: PlistDict = {};
  for (const key of Object.keys(value)) {
    if (options.stripKey(key)) continue;
    setDictKey(kept, key, value[key]!);
    if (options.pickKeys.includes(key)) setDictKey(picked, key, value[key]!);
  }
  return {
    root: 'dict',
    fragment: buildPlistFragment(kept, 1, { sortKeys: true }),
    picked,
  } satisfies Outcome;
}

type Transcode = (input: Uint8Array, options: TranscodeCatalogFragmentOptions) => Outcome;

function actual(
  bytes: Uint8Array,
  options: Omit<TranscodeCatalogFragmentOptions, 'source'>,
  transcode: Transcode = transcodeCatalogFragment,
): Outcome {
  try {
    return transcode(bytes, { ...options, source: SOURCE });
  } catch (e) {
    return errorOutcome(e);
  }
}

function errorOutcome(e: unknown): Outcome {
  if (!(e instanceof Error)) throw e;
  return { error: e.message, code: (e as { code?: unknown }).code };
}

/**
 * Checks the invariant for `doc` under every option set, for transcodeCatalogFragment and for each
 * walk on its own: the exact one always, the fast one wherever it does not give up (it must never
 * throw). Returns whether the fast walk read the document.
 */
function expectInvariant(doc: Uint8Array | string): boolean {
  const bytes = typeof doc === 'string' ? utf8(doc) : doc;
  let isFast = false;
  for (const options of Object.values(OPTION_SETS)) {
    const want = expected(bytes, options);
    expect(actual(bytes, options)).toStrictEqual(want);
    expect(actual(bytes, options, transcodeExact)).toStrictEqual(want);
    const fast = transcodeFast(bytes, { ...options, source: SOURCE });
    if (fast !== undefined) {
      expect(fast).toStrictEqual(want);
      isFast = true;
    }
  }
  return isFast;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const DOCTYPE =
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n';
const HEADER = `${XML_DECL}${DOCTYPE}<plist version="1.0">\n`;

/** A document as plistlib lays it out, around a top-level dict body. */
function dictDoc(body: string): string {
  return `${HEADER}<dict>\n${body}\n</dict>\n</plist>\n`;
}

// ---------------------------------------------------------------------------------------------
// (1) Real-world files

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/real-world', import.meta.url));

function fixtureNames(dir: string): string[] {
  return existsSync(FIXTURES) ? readdirSync(`${FIXTURES}/${dir}`) : [];
}

describe.skipIf(!existsSync(FIXTURES))('transcodeCatalogFragment on real-world files', () => {
  it.each([
    ...fixtureNames('pkgsinfo').map((f) => `pkgsinfo/${f}`),
    ...fixtureNames('manifests').map((f) => `manifests/${f}`),
  ])('agrees with parsePlist + buildPlistFragment on %s', (name) => {
    expectInvariant(readFileSync(`${FIXTURES}/${name}`));
  });

  it.each(fixtureNames('pkgsinfo').map((f) => `pkgsinfo/${f}`))(
    'agrees on %s with CRLF line ends and a BOM',
    (name) => {
      const text = readFileSync(`${FIXTURES}/${name}`, 'latin1');
      expectInvariant(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'));
      expectInvariant(
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(`${FIXTURES}/${name}`)]),
      );
    },
  );

  it.each(fixtureNames('catalogs').map((f) => `catalogs/${f}`))(
    'reads the catalog %s as a non-dict root, and agrees on each of its items',
    (name) => {
      const bytes = readFileSync(`${FIXTURES}/${name}`);
      const catalog = parsePlist(bytes, { source: SOURCE });
      expect(Array.isArray(catalog)).toBe(true);
      for (const options of Object.values(OPTION_SETS)) {
        expect(actual(bytes, options)).toStrictEqual({ root: 'other', value: catalog });
      }
      for (const item of catalog as PlistValue[]) {
        expectInvariant(buildPlist(item));
        expectInvariant(buildPlist(item, { sortKeys: true }));
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// (2) Tricky documents

const BENCH_LIKE = dictDoc(`\t<key>_metadata</key>
\t<dict>
\t\t<key>created_by</key>
\t\t<string>autopkg</string>
\t\t<key>creation_date</key>
\t\t<date>2024-03-07T10:00:00Z</date>
\t</dict>
\t<key>autoremove</key>
\t<false/>
\t<key>catalogs</key>
\t<array>
\t\t<string>testing</string>
\t\t<string>production</string>
\t</array>
\t<key>description</key>
\t<string>App &lt;b&gt;6.4.0&lt;/b&gt; &amp; friends</string>
\t<key>installed_size</key>
\t<integer>116125</integer>
\t<key>installs</key>
\t<array>
\t\t<dict>
\t\t\t<key>CFBundleIdentifier</key>
\t\t\t<string>com.example.app</string>
\t\t\t<key>path</key>
\t\t\t<string>/Applications/App.app</string>
\t\t</dict>
\t</array>
\t<key>name</key>
\t<string>App</string>
\t<key>notes</key>
\t<string>imported</string>
\t<key>postinstall_script</key>
\t<string>#!/bin/bash
if [ -d "/Applications/App.app" ] &amp;&amp; [ "$3" = "/" ]; then
  echo ok > /dev/null
fi
</string>
\t<key>unattended_install</key>
\t<true/>
\t<key>version</key>
\t<string>6.4.0</string>`);

/**
 * Top-level dict bodies (each inside dictDoc) in the shape the fast walk reads, one thing each, so
 * that no other construct sends the document to the exact walk and hides a fast-walk mistake.
 */
const FAST_BODIES: [string, string][] = [
  ['a plistlib-shaped pkginfo', BENCH_LIKE.slice(HEADER.length + 7, -18)],
  [
    'every value type',
    '<key>a</key><string>s</string><key>b</key><integer>1</integer><key>c</key><real>1.5</real>' +
      '<key>d</key><date>2020-01-31T12:00:00Z</date><key>t</key><true/><key>f</key><false/>' +
      '<key>list</key><array><string>x</string></array>' +
      '<key>nested</key><dict><key>k</key><string>v</string></dict>',
  ],
  ['empty string forms', '<key>a</key><string/><key>b</key><string></string>'],
  [
    'empty containers in every spelling',
    '<key>a</key><dict/><key>b</key><dict></dict><key>c</key><array/><key>d</key><array></array>' +
      '<key>e</key><array>\n\t\t</array><key>f</key><dict>\n\t</dict>',
  ],
  ['empty containers inside picked values', '<key>a</key><array><dict></dict><array/></array>'],
  [
    'unsorted keys at every depth',
    '<key>z</key><dict><key>y</key><integer>1</integer><key>b</key><dict><key>q</key><true/>' +
      '<key>c</key><false/></dict></dict><key>a</key><array><dict><key>n</key><string>1</string>' +
      '<key>m</key><string>2</string></dict></array><key>name</key><string>x</string>',
  ],
  [
    'keys compared by UTF-16 code units, integer-like keys included',
    '<key>é</key><string>1</string><key>😀</key><string>2</string><key>ｚ</key><string>3</string>' +
      '<key>10</key><string>4</string><key>2</key><string>5</string><key>Z</key><string>6</string>' +
      '<key>a</key><string>7</string><key></key><string>8</string><key>aa</key><string>9</string>',
  ],
  ['a key that is a prefix of the one before', '<key>ab</key><true/><key>a</key><false/>'],
  [
    'duplicate keys: the last value wins',
    '<key>b</key><string>first</string><key>a</key><integer>1</integer>' +
      '<key>b</key><array><string>second</string></array><key>name</key><string>n1</string>' +
      '<key>name</key><string>n2</string><key>c</key><true/><key>b</key><string>third</string>',
  ],
  [
    'duplicate keys in sorted order',
    '<key>a</key><string>1</string><key>a</key><string>2</string><key>b</key><string>3</string>',
  ],
  [
    'duplicate keys in nested and stripped dicts',
    '<key>nested</key><dict><key>x</key><integer>1</integer><key>x</key><integer>2</integer>' +
      '</dict><key>_metadata</key><dict><key>x</key><true/><key>x</key><false/></dict>',
  ],
  ['the basic entities', '<key>a&amp;b</key><string>&lt;tag&gt; &amp;&amp; x</string>'],
  ['&quot; alone', '<key>a</key><string>say &quot;hi&quot;</string>'],
  ['&apos; alone', '<key>a</key><string>it&apos;s</string>'],
  ['a decimal character reference', '<key>a</key><string>&#65;&#169;</string>'],
  ['a hex character reference', '<key>a</key><string>&#x42;&#x1F600;</string>'],
  ['a character reference to CR', '<key>a</key><string>a&#13;b&#xD;</string>'],
  ['an entity in a key', '<key>&#x7A;&quot;</key><string>x</string><key>a</key><string>y</string>'],
  ['a raw ">" in a string', '<key>a</key><string>x > y</string>'],
  ['a raw ">" in a key', '<key>a>b</key><string>x</string><key>a</key><string>y</string>'],
  ['a raw ">" next to entities', '<key>a</key><string>x &gt; y > z &amp;</string>'],
  ['"]]>" in text', '<key>a</key><string>x ]]> z</string>'],
  [
    'non-ASCII and emoji',
    '<key>developer</key><string>Dag Ågren ✓ 😀 中文</string><key>name</key><string>Ünïcödé</string>',
  ],
  ['non-ASCII with entities', '<key>a</key><string>é &amp; &quot;ü&quot;</string>'],
  ['a U+FEFF inside a string', '<key>a</key><string>\ufeffx</string>'],
  [
    'a __proto__ key, picked and nested',
    '<key>__proto__</key><dict><key>polluted</key><true/></dict><key>constructor</key>' +
      '<string>c</string><key>nested</key><dict><key>__proto__</key><string>p</string></dict>',
  ],
  [
    'reals the fast walk reads',
    '<key>real</key><array><real>1.0</real><real>1</real><real>1e+16</real><real>1e16</real>' +
      '<real>-0.0</real><real>0</real><real>.5</real><real>5.</real><real>+1.5</real>' +
      '<real>1E3</real><real>0.0001</real><real>1e-05</real><real>123456789012345678</real>' +
      '<real>0.1</real><real>-2.50</real></array>',
  ],
  [
    'integers the fast walk reads',
    '<key>int</key><array><integer>007</integer><integer>-0</integer><integer>-007</integer>' +
      '<integer>0</integer><integer>-5</integer><integer>999999999999999</integer>' +
      '<integer>-999999999999999</integer><integer>000000000000000</integer></array>',
  ],
  [
    'dates the fast walk reads',
    '<key>date</key><array><date>2024-02-29T23:59:59Z</date><date>2000-02-29T00:00:00Z</date>' +
      '<date>0000-02-29T00:00:00Z</date><date>9999-12-31T23:59:59Z</date>' +
      '<date>0099-01-01T00:00:00Z</date></array>',
  ],
  [
    'stripped keys holding odd values',
    '<key>_metadata</key><dict><key>d</key><date>2024-01-01T00:00:00Z</date><key>x</key>' +
      '<real>1e400</real><key>i</key><integer>-0</integer><key>s</key><string>&lt;&#x1F600;é</string>' +
      '</dict><key>notes</key><string>&lt;&#x1F600;</string><key>_empty</key><array/>' +
      '<key>_deep</key><array><array><dict><key>a</key><date>2020-01-01T00:00:00Z</date></dict>' +
      '</array></array><key>name</key><string>kept</string>',
  ],
  ['only stripped keys', '<key>_metadata</key><dict/><key>notes</key><string>n</string>'],
  [
    'picked keys holding unusual values',
    '<key>name</key><integer>7</integer><key>catalogs</key><array><string>a</string><integer>1</integer>' +
      '<dict><key>z</key><true/><key>a</key><false/></dict></array><key>installer_type</key>' +
      '<dict><key>b</key><string>x</string><key>a</key><string>&amp;</string></dict>' +
      '<key>PackageURL</key><string></string><key>installer_item_location</key><array/>',
  ],
  ['picked strings of every kind', '<key>name</key><string>a &amp; b &lt;c&gt; d>e&#13;é</string>'],
  [
    'picked arrays of strings',
    '<key>catalogs</key><array><string>a&amp;b</string><string/><string>é</string></array>',
  ],
];

/** Bodies with something only the exact walk reads (the fast walk gives up on them). */
const EXACT_BODIES: [string, string][] = [
  [
    'data laid out again at each depth',
    '<key>data</key><data>\n\tAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1\n\tNjc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\n</data>' +
      '<key>nested</key><array><array><array><data>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1</data></array></array></array>' +
      '<key>z</key><data></data><key>y</key><data/><key>x</key><data>AQ</data>',
  ],
  [
    'reals in other spellings',
    '<key>real</key><array><real>nan</real><real>-inf</real><real>+Infinity</real><real> 2.5 </real></array>',
  ],
  [
    'integers in other spellings',
    '<key>int</key><array><integer>+7</integer><integer>0x1F</integer><integer>-0x10</integer>' +
      '<integer>0XFF</integer><integer> 12 </integer><integer>9007199254740991</integer>' +
      '<integer>9007199254740992</integer><integer>18446744073709551615</integer>' +
      '<integer>-9223372036854775808</integer><integer>0xFFFFFFFFFFFFFFFF</integer>' +
      '<integer>0000000000000000</integer></array>',
  ],
  ['a padded date', '<key>date</key><date> 2000-02-29T00:00:00Z\n</date>'],
  [
    'true and false in other spellings',
    '<key>a</key><true></true><key>b</key><false> \n</false><key>c</key><true /><key>d</key><true/>',
  ],
  [
    'CDATA sections in keys and strings',
    '<key><![CDATA[k<1>]]></key><string>a<![CDATA[ & < > ]]>b<![CDATA[]]></string>' +
      '<key>z</key><string><![CDATA[line\r\nnext]]></string>',
  ],
  [
    'comments and processing instructions between and inside elements',
    '<!-- c --><key>a</key><!-- c --><string>x<!-- c -->y</string><?pi x?><key>b</key>' +
      '<array><!-- c --><integer>1</integer><?pi?></array>',
  ],
  ['CRs in text', '<key>a</key><string>one\r\ntwo\rthree\n</string>'],
  [
    'tags with attributes and spaced end tags',
    '<key>a</key><string id="1">x</string ><key>b</key><dict  ><key>c</key><integer>1</integer ></dict\n>',
  ],
  ['an empty key element', '<key/><string>x</string><key>a</key><string>y</string>'],
  [
    'stripped keys holding values only the exact walk reads',
    '<key>_metadata</key><dict><key>d</key><date>\t2024-01-01T00:00:00Z </date><key>x</key>' +
      '<data>AA==</data><key>r</key><real>nan</real><key>i</key><integer>0x10</integer>' +
      '<key>s</key><string><![CDATA[<&>]]></string></dict><key>name</key><string>kept</string>',
  ],
  [
    'deep nesting past the fast walk’s bound',
    `<key>nested</key>${'<array>'.repeat(100)}<string>deep</string>${'</array>'.repeat(100)}`,
  ],
];

/** Whole documents: prologs, roots and encodings. */
const DOCS: [string, string | Uint8Array][] = [
  ['a bare <dict> root', '<dict><key>b</key><string>1</string><key>a</key><true/></dict>'],
  [
    'no XML declaration',
    `${DOCTYPE}<plist version="1.0"><dict><key>a</key><string>1</string></dict></plist>`,
  ],
  [
    "Apple's older DOCTYPE",
    `${XML_DECL}<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n\t<key>a</key>\n\t<string>1</string>\n</dict>\n</plist>\n`,
  ],
  ['an empty root dict', `${HEADER}<dict/>\n</plist>\n`],
  ['an empty root dict spelled open and close', `${HEADER}<dict>\n</dict>\n</plist>\n`],
  [
    'a root dict with no trailing newline',
    `${HEADER}<dict><key>a</key><string>x</string></dict></plist>`,
  ],
  [
    'comments and PIs after the root',
    `${HEADER}<dict><key>a</key><string>x</string></dict>\n</plist>\n<!-- end --><?pi?>\n  `,
  ],
  ['a CRLF document', dictDoc('\t<key>a</key>\n\t<string>x\ny</string>').replace(/\n/g, '\r\n')],
  ['a UTF-8 BOM', `\ufeff${dictDoc('\t<key>a</key>\n\t<string>é</string>')}`],
  [
    'UTF-16LE with a BOM',
    Buffer.from(
      `\ufeff${dictDoc('\t<key>a</key>\n\t<string>é 😀</string>').replace('UTF-8', 'UTF-16')}`,
      'utf16le',
    ),
  ],
  [
    'UTF-16BE with a BOM',
    Buffer.from(
      Buffer.from(
        `\ufeff${dictDoc('\t<key>b</key><string>ü</string><key>a</key><integer>1</integer>').replace('UTF-8', 'UTF-16')}`,
        'utf16le',
      ).swap16(),
    ),
  ],
  [
    'ISO-8859-1 declared',
    Buffer.from(
      dictDoc('\t<key>a</key>\n\t<string>café</string>').replace('UTF-8', 'ISO-8859-1'),
      'latin1',
    ),
  ],
  ['a binary plist', Buffer.from('bplist00', 'latin1')],
  ['an array root', `${HEADER}<array><string>a</string></array>\n</plist>\n`],
  ['a string root', `${HEADER}<string>a</string>\n</plist>\n`],
  ['a bare array root', '<array><dict><key>name</key><string>x</string></dict></array>'],
  ['an empty <plist/>', `${XML_DECL}<plist/>`],
  ['text after the root', `${HEADER}<dict/>\n</plist>\nx`],
  ['a second root', `${HEADER}<dict/>\n</plist>\n<plist><dict/></plist>`],
  ['a second value in <plist>', `${HEADER}<dict/>\n<dict/>\n</plist>\n`],
  ['no </plist>', `${HEADER}<dict/>\n`],
  ['a mismatched </plist>', `${HEADER}<dict/>\n</plis>\n`],
  ['a key after the root dict', `${HEADER}<dict/>\n<key>a</key></plist>\n`],
  ['an empty document', ''],
  ['whitespace only', ' \n\t'],
];

describe('transcodeCatalogFragment agrees with parsePlist + buildPlistFragment', () => {
  it.each(FAST_BODIES)('on %s, read by the fast walk', (_name, body) => {
    expect(expectInvariant(dictDoc(body))).toBe(true);
    // The same content without whitespace between elements, and with CRLF line ends.
    expect(expectInvariant(dictDoc(body.replace(/>\s+</g, '><')))).toBe(true);
    expectInvariant(dictDoc(body).replace(/\n/g, '\r\n'));
  });

  it.each(EXACT_BODIES)('on %s, read by the exact walk', (_name, body) => {
    expect(expectInvariant(dictDoc(body))).toBe(false);
    expectInvariant(dictDoc(body).replace(/>\s+</g, '><'));
    expectInvariant(dictDoc(body).replace(/\n/g, '\r\n'));
  });

  it.each(DOCS)('on %s', (_name, doc) => {
    expectInvariant(doc);
  });

  it('agrees on binary plists', () => {
    const dict: PlistDict = { b: 'x', a: [1, new PlistReal(2)], _metadata: { d: new Date(0) } };
    expectInvariant(Buffer.from(buildBinaryPlist(dict)));
  });

  it('returns parsePlist’s value for a root that is not a dict', () => {
    const result = transcodeCatalogFragment(
      utf8(`${HEADER}<array><integer>1</integer></array></plist>`),
      {
        stripKey: isCatalogStripped,
        pickKeys: CATALOG_PICKS,
      },
    );
    expect(result).toStrictEqual({ root: 'other', value: [1] });
  });

  it('picks only keys that are present and not stripped', () => {
    const result = transcodeCatalogFragment(utf8(BENCH_LIKE), {
      stripKey: isCatalogStripped,
      pickKeys: ['name', 'catalogs', 'notes', 'PackageURL'],
    });
    expect(result.root === 'dict' && result.picked).toStrictEqual({
      name: 'App',
      catalogs: ['testing', 'production'],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// (3) Error parity

/**
 * Every prefix of `doc`: each must fail as parsePlist fails, in both walks (the fast walk by
 * giving up, never by accepting it), or, for the whole document, give the same result.
 */
function expectSameOnTruncations(doc: string): void {
  const bytes = utf8(doc);
  for (let end = 0; end <= bytes.length; end++) {
    const prefix = bytes.subarray(0, end);
    const parse = parsed(prefix);
    for (const options of Object.values(OPTION_SETS)) {
      const want = expectedFrom(parse, options);
      for (const transcode of [transcodeCatalogFragment, transcodeExact]) {
        const got = actual(prefix, options, transcode);
        const isSameError =
          'error' in want && 'error' in got && got.error === want.error && got.code === want.code;
        if (!isSameError) expect({ end, got }).toStrictEqual({ end, got: want });
      }
      if ('error' in want) {
        expect({ end, fast: transcodeFast(prefix, { ...options, source: SOURCE }) }).toStrictEqual({
          end,
          fast: undefined,
        });
      }
    }
  }
}

describe('transcodeCatalogFragment fails exactly as parsePlist fails', () => {
  it.each([
    ['a plistlib-shaped pkginfo', BENCH_LIKE],
    ['a CRLF pkginfo', BENCH_LIKE.replace(/\n/g, '\r\n')],
  ])('on every truncation of %s', (_name, doc) => {
    expectSameOnTruncations(doc);
  });

  it.each([...FAST_BODIES, ...EXACT_BODIES.filter(([name]) => !name.startsWith('deep'))])(
    'on every truncation of a document with %s, stripped and not',
    (_name, body) => {
      expectSameOnTruncations(dictDoc(`<key>_metadata</key><dict>${body}</dict>\n${body}`));
    },
  );

  /** Malformed values, each placed as a stripped, an emitted and a picked top-level value. */
  const MALFORMED: [string, string][] = [
    ['a date that does not exist', '<date>2024-02-30T00:00:00Z</date>'],
    ['a date with a bad hour', '<date>2024-01-01T24:00:00Z</date>'],
    ['a date in another format', '<date>2024-01-01 00:00:00</date>'],
    ['an empty date', '<date/>'],
    ['a bad integer', '<integer>12a</integer>'],
    ['an empty integer', '<integer></integer>'],
    ['an integer out of range', '<integer>18446744073709551616</integer>'],
    ['a bad real', '<real>1.2.3</real>'],
    ['bad base64', '<data>A===</data>'],
    ['an unknown entity', '<string>&nbsp;</string>'],
    ['a bare ampersand', '<string>a & b</string>'],
    ['an entity without its semicolon', '<string>a &amp b</string>'],
    ['a longer name starting like an entity', '<string>&ampx;</string>'],
    ['"&lt" at the end of the text', '<string>a &lt</string>'],
    ['a character reference out of range', '<string>&#x110000;</string>'],
    ['an uppercase X in a character reference', '<string>&#X41;</string>'],
    ['a forbidden character reference', '<string>&#0;</string>'],
    ['a raw control character', '<string>a\u0001b</string>'],
    ['text inside <true>', '<true>yes</true>'],
    ['an unknown element', '<strin>x</strin>'],
    ['a mismatched end tag', '<string>x</key>'],
    ['a key without a value', '<dict><key>a</key></dict>'],
    ['a value without a key', '<dict><string>a</string></dict>'],
    ['a nested <plist>', '<plist><string>a</string></plist>'],
    ['a stray end tag', '</array>'],
    ['unclosed CDATA', '<string><![CDATA[x</string>'],
    ['text between elements', '<array>x<string>a</string></array>'],
    ['nesting past the limit', `${'<array>'.repeat(600)}${'</array>'.repeat(600)}`],
  ];

  it.each(MALFORMED)('on %s, stripped, emitted or picked', (_name, value) => {
    for (const key of ['_metadata', 'notes', 'description', 'name', 'catalogs']) {
      const doc = dictDoc(
        `\t<key>a</key>\n\t<string>before</string>\n\t<key>${key}</key>\n\t${value}\n\t<key>z</key>\n\t<true/>`,
      );
      expectInvariant(doc);
      const outcome = actual(utf8(doc), OPTION_SETS['catalog']!);
      expect('error' in outcome).toBe(true);
    }
  });

  it.each([
    ['invalid UTF-8 in a stripped string', Buffer.from([0xc3, 0x28])],
    ['invalid UTF-8 in an emitted key', Buffer.from([0xff])],
    ['an overlong UTF-8 sequence', Buffer.from([0xe0, 0x80, 0xaf])],
    ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['U+FFFE', Buffer.from([0xef, 0xbf, 0xbe])],
  ])('on %s', (_name, bad) => {
    for (const key of ['_metadata', 'description']) {
      const doc = Buffer.concat([
        utf8(`${HEADER}<dict>\n\t<key>${key}</key>\n\t<string>a`),
        bad,
        utf8('</string>\n\t<key>z</key>\n\t<true/>\n</dict>\n</plist>\n'),
      ]);
      expectInvariant(doc);
    }
  });

  it('names the source and line as parsePlist does', () => {
    const doc = utf8(dictDoc('\t<key>_metadata</key>\n\t<date>2023-02-29T00:00:00Z</date>'));
    expect(() =>
      transcodeCatalogFragment(doc, { source: SOURCE, stripKey: isCatalogStripped, pickKeys: [] }),
    ).toThrow(
      `${SOURCE} (line 6): <date>2023-02-29T00:00:00Z</date> is not a date like 2020-01-31T12:00:00Z`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (4) Random documents

/** A small seeded PRNG (mulberry32), so every run checks the same documents. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEY_POOL = [
  'name',
  'catalogs',
  'installer_type',
  'PackageURL',
  '_metadata',
  'notes',
  '_x',
  '__proto__',
  'a',
  'b',
  'z',
  'Z',
  'aa',
  '10',
  '2',
  '',
  'a&b',
  '<k>',
  'é',
  'ключ',
  '😀',
  'nested',
  'list',
];
const TEXT_POOL = [
  'a',
  'Z',
  ' ',
  '\n',
  '\t',
  '&',
  '<',
  '>',
  '"',
  "'",
  ']]>',
  'é',
  '😀',
  '中',
  '\r',
  '&amp;',
  '0',
];

function randomText(rnd: () => number): string {
  let s = '';
  const n = Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) s += TEXT_POOL[Math.floor(rnd() * TEXT_POOL.length)]!;
  return s;
}

// Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
const YEAR_0 = new Date(0).setUTCFullYear(0, 0, 1);
const YEAR_10000 = Date.UTC(10000, 0, 1);

function randomValue(rnd: () => number, depth: number): PlistValue {
  const kind = Math.floor(rnd() * (depth > 3 ? 8 : 10));
  switch (kind) {
    case 0:
    case 1:
      return randomText(rnd);
    case 2: {
      const choices = [0, 7, -1, 2 ** 40, -(2 ** 53) + 1, Math.floor(rnd() * 1e6)];
      return rnd() < 0.1
        ? 2n ** 63n + BigInt(Math.floor(rnd() * 1000))
        : choices[Math.floor(rnd() * choices.length)]!;
    }
    case 3: {
      const choices = [0, -0, 1, 0.1, 1e16, 1e-5, 123.456, NaN, Infinity, -Infinity, rnd() * 1e6];
      return new PlistReal(choices[Math.floor(rnd() * choices.length)]!);
    }
    case 4:
      // Whole seconds from year 0000 to 9999, the range the format can hold.
      return new Date(YEAR_0 + Math.floor(rnd() * ((YEAR_10000 - YEAR_0) / 1000)) * 1000);
    case 5:
      return new Uint8Array(
        Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)),
      );
    case 6:
      return rnd() < 0.5;
    case 7:
      return randomText(rnd);
    case 8:
      return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
    default:
      return randomDict(rnd, depth + 1);
  }
}

function randomDict(rnd: () => number, depth: number): PlistDict {
  const dict: PlistDict = {};
  const n = Math.floor(rnd() * (depth === 0 ? 12 : 5));
  for (let i = 0; i < n; i++) {
    const key = rnd() < 0.7 ? KEY_POOL[Math.floor(rnd() * KEY_POOL.length)]! : randomText(rnd);
    setDictKey(dict, key, randomValue(rnd, depth));
  }
  return dict;
}

/** Layout variants of a plistlib document; each is still a document both readers must agree on. */
const VARIANTS: ((doc: string) => string)[] = [
  (doc) => doc,
  (doc) => doc.replace(/\n/g, '\r\n'),
  (doc) => doc.replace(/^\t+/gm, (tabs) => '  '.repeat(tabs.length)),
  (doc) => doc.replace(/>\n\t*</g, '><'),
  (doc) => doc.replace(/>\n(\t*)</g, '>\n \n$1\t <'),
  (doc) => doc.replace(/<dict>\n/g, '<dict><!-- c -->\n'),
  (doc) => doc.slice(doc.indexOf('<dict')).replace(/<\/plist>\n$/, ''),
];

describe('transcodeCatalogFragment on random documents', () => {
  it('agrees with parsePlist + buildPlistFragment on 400 random dicts in varied layouts', () => {
    const rnd = prng(20240307);
    for (let n = 0; n < 400; n++) {
      const doc = buildPlist(randomDict(rnd, 0));
      expectInvariant(VARIANTS[Math.floor(rnd() * VARIANTS.length)]!(doc));
    }
  });

  it('fails exactly as parsePlist fails on 400 random one-byte corruptions', () => {
    const rnd = prng(7);
    const noise = ['<', '>', '/', '&', ';', '"', ' ', 'x', '\u0001', '\r', '0', '-', 'T', ':'];
    for (let n = 0; n < 400; n++) {
      const doc = buildPlist(randomDict(rnd, 0));
      const at = Math.floor(rnd() * doc.length);
      const mutation = Math.floor(rnd() * 3);
      const ch = noise[Math.floor(rnd() * noise.length)]!;
      const mutated =
        mutation === 0
          ? doc.slice(0, at) + doc.slice(at + 1)
          : mutation === 1
            ? doc.slice(0, at) + ch + doc.slice(at)
            : doc.slice(0, at) + ch + doc.slice(at + 1);
      expectInvariant(mutated);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Dates without Date

describe('isPlistDateText', () => {
  it('accepts exactly what parseDate accepts', () => {
    const rnd = prng(1);
    const years = [
      '0000',
      '0001',
      '0004',
      '0099',
      '0100',
      '0400',
      '1900',
      '2000',
      '2023',
      '2024',
      '2100',
      '9999',
    ];
    const cases: string[] = [];
    for (const y of years) {
      for (let mo = 0; mo <= 13; mo++) {
        for (const d of [0, 1, 28, 29, 30, 31, 32]) {
          const p2 = (v: number): string => String(v).padStart(2, '0');
          cases.push(
            `${y}-${p2(mo)}-${p2(d)}T${p2(Math.floor(rnd() * 26))}:${p2(Math.floor(rnd() * 62))}:${p2(Math.floor(rnd() * 62))}Z`,
          );
        }
      }
    }
    cases.push(
      '2024-01-01T00:00:00',
      '2024-01-01 00:00:00Z',
      '2024-1-01T00:00:00Z',
      '+024-01-01T00:00:00Z',
      '2024-01-01T00:00:00z',
      '',
    );
    for (const t of cases)
      expect([t, isPlistDateText(t)]).toStrictEqual([t, parseDate(t) !== undefined]);
  });
});
