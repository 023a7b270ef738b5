import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// plist 5 is ESM with named exports only, hence the namespace import.
import * as plist from 'plist';
import { describe, expect, it } from 'vitest';
import { PlistError } from '../../lib/errors.js';
import {
  buildPlist,
  isPlistDict,
  parsePlist,
  PlistReal,
  type PlistDict,
  type PlistValue,
} from '../../formats/index.js';

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n';

/** A complete document around `body`, the way Apple and plistlib write them. */
function doc(body: string): string {
  return `${HEADER}<plist version="1.0">\n${body}\n</plist>\n`;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Runs `fn` and returns the PlistError it throws (failing the test if it throws anything else). */
function plistErrorOf(fn: () => unknown): PlistError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlistError) return e;
    throw e;
  }
  throw new Error('expected a PlistError');
}

describe('parsePlist values', () => {
  it.each<[string, PlistValue]>([
    ['<string>hi</string>', 'hi'],
    ['<string></string>', ''],
    ['<string/>', ''],
    ['<string>  spaced  </string>', '  spaced  '],
    ['<integer>42</integer>', 42],
    ['<integer>0</integer>', 0],
    ['<integer>-7</integer>', -7],
    ['<integer>+7</integer>', 7],
    ['<integer>007</integer>', 7],
    ['<integer> 12 </integer>', 12],
    ['<integer>0x1F</integer>', 31],
    ['<integer>0Xff</integer>', 255],
    ['<integer>-0x10</integer>', -16],
    ['<integer>9007199254740991</integer>', 9007199254740991],
    ['<integer>-9007199254740991</integer>', -9007199254740991],
    ['<integer>9007199254740992</integer>', 9007199254740992n],
    ['<integer>9223372036854775807</integer>', 2n ** 63n - 1n],
    ['<integer>-9223372036854775808</integer>', -(2n ** 63n)],
    ['<integer>18446744073709551615</integer>', 2n ** 64n - 1n],
    ['<integer>0xFFFFFFFFFFFFFFFF</integer>', 2n ** 64n - 1n],
    ['<real>1</real>', new PlistReal(1)],
    ['<real>1.5e3</real>', new PlistReal(1500)],
    ['<real>-0.25</real>', new PlistReal(-0.25)],
    ['<real>.5</real>', new PlistReal(0.5)],
    ['<real>0.1</real>', new PlistReal(0.1)],
    ['<real>nan</real>', new PlistReal(NaN)],
    ['<real>inf</real>', new PlistReal(Infinity)],
    ['<real>-inf</real>', new PlistReal(-Infinity)],
    ['<real>+infinity</real>', new PlistReal(Infinity)],
    ['<real>-infinity</real>', new PlistReal(-Infinity)],
    ['<true/>', true],
    ['<false/>', false],
    ['<true></true>', true],
    ['<date>2020-01-31T12:34:56Z</date>', new Date(Date.UTC(2020, 0, 31, 12, 34, 56))],
    ['<date>1904-01-01T00:00:00Z</date>', new Date(Date.UTC(1904, 0, 1))],
    ['<date>2024-02-29T23:59:59Z</date>', new Date(Date.UTC(2024, 1, 29, 23, 59, 59))],
    ['<data>aGVsbG8=</data>', utf8('hello')],
    ['<data>\n\taGVs\n\tbG8=\n\t</data>', utf8('hello')],
    ['<data>aGk=</data>', utf8('hi')],
    ['<data>aGV5</data>', utf8('hey')],
    ['<data></data>', new Uint8Array()],
    ['<data/>', new Uint8Array()],
    ['<array/>', []],
    ['<array></array>', []],
    ['<array>\n</array>', []],
    ['<dict/>', {}],
    ['<dict>\n</dict>', {}],
    ['<array><string>a</string><integer>1</integer><true/></array>', ['a', 1, true]],
    ['<dict><key>a</key><array><dict/></array></dict>', { a: [{}] }],
  ])('reads %s', (xml, expected) => {
    expect(parsePlist(doc(xml))).toEqual(expected);
  });

  it('reads integers beyond 2^53 as bigint, never rounded', () => {
    expect(parsePlist(doc('<integer>9007199254740993</integer>'))).toBe(9007199254740993n);
  });

  it('reads integers that fit a double exactly as number', () => {
    expect(typeof parsePlist(doc('<integer>9007199254740991</integer>'))).toBe('number');
  });

  it('keeps <real>1</real> a PlistReal, distinct from <integer>1</integer>', () => {
    const v = parsePlist(doc('<real>1</real>'));
    expect(v).toBeInstanceOf(PlistReal);
    expect(Number(v)).toBe(1);
  });

  it('returns <data> as a plain Uint8Array', () => {
    const v = parsePlist(doc('<data>AAEC</data>'));
    expect(Object.getPrototypeOf(v)).toBe(Uint8Array.prototype);
    expect(Array.from(v as Uint8Array)).toEqual([0, 1, 2]);
  });

  it('keeps dict keys in file order', () => {
    const v = parsePlist(
      doc('<dict><key>b</key><true/><key>a</key><true/><key>c</key><true/></dict>'),
    );
    expect(Object.keys(v as PlistDict)).toEqual(['b', 'a', 'c']);
  });

  it('lets the last of duplicate keys win, at the first one’s position', () => {
    const v = parsePlist(
      doc(
        '<dict><key>a</key><string>1</string><key>b</key><string>2</string>' +
          '<key>a</key><string>3</string></dict>',
      ),
    );
    expect(v).toEqual({ a: '3', b: '2' });
    expect(Object.keys(v as PlistDict)).toEqual(['a', 'b']);
  });

  it('keeps a __proto__ key as an own data property without touching any prototype', () => {
    const v = parsePlist(
      doc('<dict><key>__proto__</key><dict><key>polluted</key><true/></dict></dict>'),
    ) as PlistDict;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ polluted: true });
    expect((v as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps constructor and hasOwnProperty keys as plain data', () => {
    const v = parsePlist(
      doc(
        '<dict><key>constructor</key><string>x</string>' +
          '<key>hasOwnProperty</key><integer>1</integer></dict>',
      ),
    );
    expect(v).toEqual({ constructor: 'x', hasOwnProperty: 1 });
    expect(isPlistDict(v)).toBe(true);
  });
});

describe('parsePlist text', () => {
  it.each<[string, string, string]>([
    ['the five predefined entities', '&lt;&gt;&amp;&quot;&apos;', '<>&"\''],
    ['decimal character references', '&#65;&#66;', 'AB'],
    ['hex character references', '&#x41;&#X42;'.replace('X', 'x'), 'AB'],
    ['a character reference beyond the BMP', '&#x1F600;', '😀'],
    ['an escaped entity as literal text', '&amp;lt;', '&lt;'],
    ['a character reference to & before entity-like text', '&#38;lt;', '&lt;'],
    [
      'shell scripts with escaped operators',
      'a &amp;&amp; b &gt; /dev/null 2&gt;&amp;1',
      'a && b > /dev/null 2>&1',
    ],
    ['a CDATA section as literal text', '<![CDATA[<b>&amp;</b>]]>', '<b>&amp;</b>'],
    ['text, CDATA and entities together', 'a<![CDATA[<]]>b&amp;c', 'a<b&c'],
    ['a comment inside a string', 'a<!-- note -->b', 'ab'],
    ['CRLF inside a string as LF', 'one\r\ntwo', 'one\ntwo'],
    ['a lone CR inside a string as LF', 'one\rtwo', 'one\ntwo'],
    ['&#13; as a real CR', 'one&#13;\ntwo', 'one\r\ntwo'],
    ['non-ASCII text', 'Dag Ågren – ö', 'Dag Ågren – ö'],
    ['emoji', 'ok 👍🏽 done', 'ok 👍🏽 done'],
    ['a leading U+FEFF inside text', '\ufeffx', '\ufeffx'],
    ['tabs and newlines', '\tx\n', '\tx\n'],
    ['a > in text', 'a > b', 'a > b'],
  ])('reads %s', (_name, xmlText, expected) => {
    expect(parsePlist(doc(`<string>${xmlText}</string>`))).toBe(expected);
    expect(parsePlist(utf8(doc(`<string>${xmlText}</string>`)))).toBe(expected);
  });

  it('decodes entities and character references in keys', () => {
    expect(parsePlist(doc('<dict><key>a&amp;b&#x41;</key><true/></dict>'))).toEqual({
      'a&bA': true,
    });
  });

  it('reads the same values from bytes and from a string', () => {
    const xml = doc(
      '<dict><key>ö</key><string>Å &amp; 😀</string><key>n</key><integer>5</integer></dict>',
    );
    expect(parsePlist(utf8(xml))).toEqual(parsePlist(xml));
  });
});

describe('parsePlist document forms', () => {
  it.each<[string, string | Uint8Array]>([
    ['no XML declaration', '<plist version="1.0"><string>x</string></plist>'],
    ['no version attribute', '<plist><string>x</string></plist>'],
    [
      'single-quoted attributes',
      "<?xml version='1.0'?><plist version='1.0'><string>x</string></plist>",
    ],
    ['a bare value root (CoreFoundation reads the first element)', '<string>x</string>'],
    [
      'a UTF-8 BOM in bytes',
      new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(doc('<string>x</string>'))]),
    ],
    ['a BOM in a string', `\ufeff${doc('<string>x</string>')}`],
    ['CRLF line ends throughout', doc('<string>x</string>').replace(/\n/g, '\r\n')],
    [
      'comments before, inside and after the root',
      `${HEADER}<!-- a --><plist><!-- b --><string>x</string><!-- c --></plist><!-- d -->\n`,
    ],
    ['a processing instruction after the root', `${doc('<string>x</string>')}<?app hint?>`],
    [
      'a DOCTYPE with an internal subset',
      '<!DOCTYPE plist [ <!ELEMENT plist ANY> ]><plist><string>x</string></plist>',
    ],
    [
      'a DOCTYPE with a SYSTEM id (never loaded)',
      '<!DOCTYPE plist SYSTEM "file:///etc/passwd"><plist><string>x</string></plist>',
    ],
    ['spaces inside end tags', '<plist ><string>x</string ></plist >'],
    ['no trailing newline', doc('<string>x</string>').trimEnd()],
  ])('accepts %s', (_name, input) => {
    expect(parsePlist(input)).toBe('x');
  });

  it('reads a bare <dict> root with no declaration, as 2011 Munki repos wrote manifests', () => {
    expect(
      parsePlist(
        '<dict>\n\t<key>catalogs</key>\n\t<array>\n\t\t<string>testing</string>\n\t</array>\n</dict>\n',
      ),
    ).toEqual({
      catalogs: ['testing'],
    });
  });

  it('reads UTF-16 documents that start with a BOM', () => {
    const text = '<?xml version="1.0" encoding="UTF-16"?><plist><string>Å</string></plist>';
    const bytes = new Uint8Array(2 + text.length * 2);
    bytes.set([0xff, 0xfe]);
    for (let i = 0; i < text.length; i++) bytes[2 + 2 * i] = text.charCodeAt(i);
    expect(parsePlist(bytes)).toBe('Å');
  });

  it('honours a declared single-byte encoding', () => {
    const head = utf8('<?xml version="1.0" encoding="ISO-8859-1"?><plist><string>');
    const tail = utf8('</string></plist>');
    const bytes = new Uint8Array([...head, 0xc5, ...tail]); // 0xC5 is Å in Latin-1
    expect(parsePlist(bytes)).toBe('Å');
  });
});

describe('parsePlist errors', () => {
  it.each<[string, string | Uint8Array, string]>([
    ['an empty document', '', 'no root element'],
    ['only whitespace', '  \n', 'no root element'],
    ['only a declaration', '<?xml version="1.0"?>\n', 'no root element'],
    ['text instead of a plist', 'student_client\n', 'not allowed before the root element'],
    [
      'garbage after the root',
      `${doc('<string>x</string>')}garbage`,
      'not allowed after the root element',
    ],
    [
      'a second root element',
      `${doc('<string>x</string>')}<plist/>`,
      'content after the root element',
    ],
    ['two values in <plist>', doc('<string>a</string><string>b</string>'), 'more than one value'],
    ['an empty <plist>', '<plist version="1.0"></plist>', '<plist> holds no value'],
    ['an empty <plist/>', '<plist/>', '<plist> holds no value'],
    ['<plist> below the root', doc('<array><plist/></array>'), 'only allowed as the root'],
    ['an unknown element', doc('<foo/>'), 'unknown element <foo>'],
    ['an element named like a known one', doc('<strings>x</strings>'), 'unknown element <strings>'],
    ['upper-case element names', doc('<String>x</String>'), 'unknown element <String>'],
    ['a mismatched end tag', doc('<array></dict>'), 'mismatched tag'],
    ['a misspelt end tag', doc('<string>a</strin>'), 'mismatched tag'],
    ['an end tag before any element', '</plist>', 'closing tag before any element'],
    ['a key with no value', doc('<dict><key>a</key></dict>'), '<key>a</key> has no value'],
    [
      'two keys in a row',
      doc('<dict><key>a</key><key>b</key><true/></dict>'),
      '<key>a</key> has no value',
    ],
    ['a value without a key', doc('<dict><string>a</string></dict>'), 'has no <key> before it'],
    ['a key outside a dict', doc('<array><key>a</key></array>'), 'only allowed inside <dict>'],
    ['text inside an array', doc('<array>hello</array>'), 'not allowed inside <array>'],
    ['text inside a dict', doc('<dict>x<key>a</key><true/></dict>'), 'not allowed inside <dict>'],
    ['an element inside a string', doc('<string>a<b/></string>'), 'unexpected markup'],
    ['a dict inside a key', doc('<dict><key><dict/></key></dict>'), 'unexpected markup'],
    ['CDATA in an array', doc('<array><![CDATA[x]]></array>'), 'CDATA section is only allowed'],
    ['an unknown entity', doc('<string>&nbsp;</string>'), 'unknown entity &nbsp;'],
    [
      'an entity the DOCTYPE declares',
      '<!DOCTYPE plist [<!ENTITY x "boom">]><plist><string>&x;</string></plist>',
      'unknown entity &x;',
    ],
    ['a bare ampersand', doc('<string>a & b</string>'), 'must be written "&amp;"'],
    ['an unterminated entity', doc('<string>a &amp b</string>'), 'must be written "&amp;"'],
    ['a reference to NUL', doc('<string>&#0;</string>'), 'not a character XML allows'],
    [
      'a reference to a control character',
      doc('<string>&#1;</string>'),
      'not a character XML allows',
    ],
    ['a reference to a surrogate', doc('<string>&#xD800;</string>'), 'not a character XML allows'],
    ['a raw control character', doc('<string>a\u0001b</string>'), 'U+0001 is not allowed'],
    [
      'a raw control character in bytes',
      utf8(doc('<string>a\u0007b</string>')),
      'U+0007 is not allowed',
    ],
    [
      'a raw control character in a comment',
      doc('<!-- \u0002 --><string/>'),
      'U+0002 is not allowed',
    ],
    [
      'a lone surrogate in a string input',
      doc('<string>a\ud800b</string>'),
      'U+D800 is not allowed',
    ],
    [
      'invalid UTF-8',
      new Uint8Array([...utf8('<plist><string>'), 0xc3, 0x28, ...utf8('</string></plist>')]),
      'invalid UTF-8',
    ],
    [
      'a truncated UTF-8 sequence',
      new Uint8Array([...utf8('<plist><string>'), 0xe2, 0x82, ...utf8('</string></plist>')]),
      'invalid UTF-8',
    ],
    ['an integer with letters', doc('<integer>12a</integer>'), 'not an integer'],
    ['an integer with a fraction', doc('<integer>1.5</integer>'), 'not an integer'],
    ['an empty integer', doc('<integer></integer>'), 'not an integer'],
    ['an empty integer element', doc('<integer/>'), 'not an integer'],
    ['a bare 0x', doc('<integer>0x</integer>'), 'not an integer'],
    ['digit separators', doc('<integer>1_000</integer>'), 'not an integer'],
    [
      'an integer above UINT64_MAX',
      doc('<integer>18446744073709551616</integer>'),
      'out of the 64-bit integer range',
    ],
    [
      'an integer below INT64_MIN',
      doc('<integer>-9223372036854775809</integer>'),
      'out of the 64-bit integer range',
    ],
    ['a real that is not a number', doc('<real>abc</real>'), 'is not a number'],
    ['a real in hex', doc('<real>0x10</real>'), 'is not a number'],
    ['an empty real', doc('<real/>'), 'is not a number'],
    ['month 13', doc('<date>2020-13-01T00:00:00Z</date>'), 'is not a date'],
    ['February 30', doc('<date>2020-02-30T00:00:00Z</date>'), 'is not a date'],
    ['hour 24', doc('<date>2020-01-01T24:00:00Z</date>'), 'is not a date'],
    ['a date without time', doc('<date>2020-01-01</date>'), 'is not a date'],
    ['a date without Z', doc('<date>2020-01-01T00:00:00</date>'), 'is not a date'],
    ['an empty date', doc('<date/>'), 'is not a date'],
    ['base64 with a bad character', doc('<data>aGVs!G8=</data>'), 'invalid base64'],
    ['base64 of the wrong length', doc('<data>aGVsbG8</data>'), 'invalid base64'],
    ['base64 with padding inside', doc('<data>aG==bG8=</data>'), 'invalid base64'],
    ['text inside <true>', doc('<true>yes</true>'), '<true> must be empty'],
    [
      'a second DOCTYPE',
      '<!DOCTYPE plist><!DOCTYPE plist><plist><true/></plist>',
      'a second DOCTYPE',
    ],
    ['a DOCTYPE inside the root', '<plist><!DOCTYPE plist><true/></plist>', 'unexpected markup'],
    [
      'an XML declaration not at the start',
      ` ${doc('<true/>')}`,
      'XML declaration is only allowed at the very start',
    ],
    ['a malformed start tag', doc('<string"x">a</string>'), 'malformed tag'],
    ['a malformed attribute', '<plist version=1.0><true/></plist>', 'malformed attributes'],
    ['a binary plist given as a string', 'bplist00xyz', 'must be given as bytes'],
    [
      'an unsupported encoding',
      utf8('<?xml version="1.0" encoding="x-no-such"?><plist/>'),
      'unsupported encoding',
    ],
  ])('rejects %s', (_name, input, message) => {
    const e = plistErrorOf(() => parsePlist(input));
    expect(e.message).toContain(message);
    expect(e.code).toBe('PLIST_INVALID');
  });

  it('names the source and the line in the message', () => {
    const xml = doc('<dict>\n\t<key>a</key>\n\t<integer>x</integer>\n</dict>');
    const e = plistErrorOf(() => parsePlist(xml, { source: 'pkgsinfo/Foo-1.0.plist' }));
    expect(e.line).toBe(6);
    expect(e.source).toBe('pkgsinfo/Foo-1.0.plist');
    expect(e.message).toMatch(/^pkgsinfo\/Foo-1\.0\.plist \(line 6\): /);
  });

  it('counts lines from bytes the same as from a string', () => {
    const xml = doc('<array>\n\t<string>Å</string>\n\toops\n</array>');
    expect(plistErrorOf(() => parsePlist(utf8(xml))).line).toBe(6);
    expect(plistErrorOf(() => parsePlist(xml)).line).toBe(6);
  });

  it('reports the line of an error inside a multi-line text', () => {
    const xml = doc('<string>one\ntwo &bogus; three</string>');
    expect(plistErrorOf(() => parsePlist(xml)).line).toBe(5);
  });

  it('reports a git merge conflict inside an array with the line of its marker', () => {
    const xml = doc(
      '<dict>\n\t<key>catalogs</key>\n\t<array>\n<<<<<<< HEAD\n\t\t<string>testing</string>\n' +
        '=======\n>>>>>>> 8f4c309... other\n\t\t<string>production</string>\n\t</array>\n</dict>',
    );
    const e = plistErrorOf(() => parsePlist(xml, { source: 'GitHub Desktop-210.plist' }));
    expect(e.line).toBe(7);
    expect(e.message).toContain('<<<<<<< HEAD');
  });

  it('says where an unclosed element was opened when the input ends', () => {
    const e = plistErrorOf(() => parsePlist(doc('<dict>\n<key>a</key>\n<array>').slice(0, -10)));
    expect(e.message).toMatch(/unexpected end of input: <array> opened on line 6 is not closed/);
  });
});

describe('parsePlist on truncated input', () => {
  const full =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    '<plist version="1.0">\n<dict>\n' +
    '\t<key>name</key>\n\t<string>Å &amp; 😀<![CDATA[<x>]]><!-- c --></string>\n' +
    '\t<key>n</key>\n\t<integer>-12</integer>\n' +
    '\t<key>big</key>\n\t<integer>18446744073709551615</integer>\n' +
    '\t<key>r</key>\n\t<real>1.5</real>\n' +
    '\t<key>d</key>\n\t<date>2020-01-01T00:00:00Z</date>\n' +
    '\t<key>b</key>\n\t<data>\n\taGVsbG8=\n\t</data>\n' +
    '\t<key>t</key>\n\t<true/>\n\t<key>f</key>\n\t<false></false>\n' +
    '\t<key>e</key>\n\t<string/>\n\t<key>a</key>\n\t<array>\n\t\t<array/>\n\t\t<dict/>\n\t</array>\n' +
    '</dict>\n</plist>';

  it('parses the whole document', () => {
    expect(parsePlist(full)).toMatchObject({ name: 'Å & 😀<x>', n: -12, t: true });
  });

  it('throws a PlistError for every proper prefix of a string, never a value', () => {
    for (let len = 0; len < full.length; len++) {
      expect(() => parsePlist(full.slice(0, len)), `prefix of ${len} chars`).toThrow(PlistError);
    }
  });

  it('throws a PlistError for every proper prefix of the bytes, never a value', () => {
    const bytes = utf8(full);
    for (let len = 0; len < bytes.length; len++) {
      expect(() => parsePlist(bytes.subarray(0, len)), `prefix of ${len} bytes`).toThrow(
        PlistError,
      );
    }
  });

  it('throws a PlistError for every proper prefix of a bare-root document', () => {
    const bare = '<dict><key>a</key><array><string>x</string><integer>1</integer></array></dict>';
    for (let len = 0; len < bare.length; len++) {
      expect(() => parsePlist(bare.slice(0, len)), `prefix of ${len} chars`).toThrow(PlistError);
    }
  });
});

describe('parsePlist nesting bound', () => {
  it('rejects a depth bomb with a PlistError, not a stack overflow', () => {
    const bomb = '<plist>' + '<array>'.repeat(200_000);
    const e = plistErrorOf(() => parsePlist(bomb));
    expect(e.message).toContain('nesting deeper than 512');
  });

  it('accepts nesting up to maxDepth', () => {
    const xml = '<array>'.repeat(512) + '</array>'.repeat(512);
    let v = parsePlist(xml);
    let depth = 0;
    while (Array.isArray(v) && v.length > 0) {
      v = v[0] as PlistValue;
      depth++;
    }
    expect(depth).toBe(511);
  });

  it('rejects one level beyond maxDepth', () => {
    const xml = '<array>'.repeat(513) + '</array>'.repeat(513);
    expect(() => parsePlist(xml)).toThrow(/nesting deeper than 512/);
  });

  it('honours a smaller maxDepth', () => {
    expect(() => parsePlist('<array><array><dict/></array></array>', { maxDepth: 2 })).toThrow(
      /nesting deeper than 2/,
    );
  });
});

describe('parsePlist agrees with the plist npm package', () => {
  it.each<[string, Record<string, unknown> | unknown[]]>([
    [
      'a flat pkginfo',
      {
        name: 'Firefox',
        version: '115.0',
        installer_item_size: 81234,
        uninstallable: true,
        autoremove: false,
      },
    ],
    [
      'nested arrays and dicts',
      {
        catalogs: ['testing', 'production'],
        installs: [
          {
            CFBundleIdentifier: 'org.mozilla.firefox',
            path: '/Applications/Firefox.app',
            type: 'application',
          },
        ],
        receipts: [],
      },
    ],
    [
      'escaped text',
      {
        postinstall_script: '#!/bin/sh\n[ -d "$x" ] && echo "<ok>" > /dev/null 2>&1\n',
        display_name: 'A & B',
      },
    ],
    ['non-ASCII text', { developer: 'Dag Ågren', description: 'Läs mer – 😀' }],
    ['an array root', ['a', 1, -2, true, false, '']],
  ])('reads what plist.build writes for %s', (_name, value) => {
    const xml = plist.build(value as plist.PlistValue);
    expect(parsePlist(xml)).toEqual(value);
  });

  it.each<[string, PlistValue]>([
    [
      'a pkginfo',
      {
        name: 'Firefox',
        version: '115.0',
        installer_item_size: 81234,
        uninstallable: true,
        catalogs: ['testing'],
      },
    ],
    ['escaped and non-ASCII text', { s: 'a < b && c > d', t: 'Å 😀', e: '' }],
    ['nested containers', { a: [{ b: [[], {}] }] }],
  ])('writes what plist.parse reads for %s', (_name, value) => {
    expect(plist.parse(buildPlist(value))).toEqual(value);
  });
});

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/real-world', import.meta.url));
const CONFLICTED = 'pkgsinfo/AaronBurchfield__munkirepo__GitHub Desktop-210.plist';

function fixtureFiles(): string[] {
  if (!existsSync(FIXTURES)) return [];
  return ['pkgsinfo', 'manifests', 'catalogs'].flatMap((dir) =>
    readdirSync(`${FIXTURES}/${dir}`).map((f) => `${dir}/${f}`),
  );
}

function fixture(name: string): PlistDict {
  const v = parsePlist(readFileSync(`${FIXTURES}/${name}`), { source: name });
  if (!isPlistDict(v)) throw new Error(`${name} is not a dict`);
  return v;
}

describe.skipIf(!existsSync(FIXTURES))('parsePlist on real-world Munki repo files', () => {
  const files = fixtureFiles().filter((f) => f !== CONFLICTED);

  it.each(files)('parses %s', (name) => {
    const v = parsePlist(readFileSync(`${FIXTURES}/${name}`), { source: name });
    expect(isPlistDict(v) || Array.isArray(v)).toBe(true);
  });

  it('rejects the file with committed merge-conflict markers, naming line 20', () => {
    const e = plistErrorOf(() =>
      parsePlist(readFileSync(`${FIXTURES}/${CONFLICTED}`), { source: CONFLICTED }),
    );
    expect(e.line).toBe(20);
    expect(e.message).toContain('GitHub Desktop-210.plist (line 20)');
  });

  it('reads the bare-<dict> Cengage manifest as a dict', () => {
    const v = fixture(
      'manifests/bruienne__Cengage-Munki-Repo__cengage_munki_testing_desktop+adobecs5_5dp+office2011',
    );
    expect(v['catalogs']).toEqual(['testing']);
    expect(v['included_manifests']).toHaveLength(3);
  });

  it('keeps the two trailing spaces of the Flip4Mac version', () => {
    expect(fixture('pkgsinfo/talentum__munki__Flip4Mac-3.2.0.16  .plist')['version']).toBe(
      '3.2.0.16  ',
    );
  });

  it('decodes the non-ASCII developer of The Unarchiver', () => {
    const v = fixture('pkgsinfo/Crestwood-Preparatory-College__Munki__TheUnarchiver-3.10.1.plist');
    expect(v['developer']).toContain('Dag Ågren');
  });

  it('reads the CRLF 7-Zip pkginfo, whose creation_date is a string', () => {
    const v = fixture('pkgsinfo/umeditor__munki__7z920-x64.plist');
    expect(v['installer_type']).toBe('msi');
    const metadata = v['_metadata'] as PlistDict;
    expect(typeof metadata['creation_date']).toBe('string');
    expect(JSON.stringify(v)).not.toContain('\\r');
  });

  it('reads the Premiere pkginfo with an XML comment inside its dict', () => {
    const v = fixture('pkgsinfo/bruienne__Cengage-Munki-Repo__AdobePremiereProCS5-5.0.3.0.0.plist');
    expect(v['installer_type']).toBe('AdobeCS5PatchInstaller');
  });

  it('reads the High Sierra installable_condition written with &quot; and &lt;', () => {
    const v = fixture('pkgsinfo/sphen13__munki-scripts__Install macOS High Sierra-10.13.6.plist');
    expect(v['installable_condition']).toContain('"');
    expect(JSON.stringify(v)).not.toMatch(/&quot;|&lt;|&apos;/);
  });

  it('reads dates as Date objects', () => {
    const v = fixture('pkgsinfo/AaronBurchfield__munkirepo__OS X El Capitan Public Beta-5');
    const metadata = v['_metadata'] as PlistDict;
    expect(metadata['creation_date']).toBeInstanceOf(Date);
  });
});
