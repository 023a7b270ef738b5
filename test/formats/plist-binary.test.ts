// plist 5 is ESM with named exports only, hence the namespace import.
import * as plist from 'plist';
import { describe, expect, it } from 'vitest';
import { PlistError } from '../../lib/errors.js';
import {
  buildBinaryPlist,
  parsePlist,
  PlistReal,
  setDictKey,
  type PlistDict,
  type PlistValue,
} from '../../formats/index.js';

const MAGIC = [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30]; // "bplist00"

/**
 * Lays raw objects out as a bplist00 file: the magic, the objects in order, a table of 1-byte
 * offsets and a trailer (1-byte offsets and refs, `top` as the root). For hand-made corruptions.
 */
function assemble(objects: number[][], top = 0): Uint8Array {
  const body: number[] = [...MAGIC];
  const offsets: number[] = [];
  for (const o of objects) {
    offsets.push(body.length);
    body.push(...o);
  }
  const tableAt = body.length;
  body.push(...offsets);
  body.push(0, 0, 0, 0, 0, 0, 0, 1, 1);
  body.push(...u64(objects.length), ...u64(top), ...u64(tableAt));
  return new Uint8Array(body);
}

function u64(n: number): number[] {
  const out = new Array<number>(8).fill(0);
  for (let i = 7; i >= 0 && n > 0; i--) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return out;
}

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

describe('binary plist reader', () => {
  it('reads a hand-annotated bplist00 (the bytes CPython plistlib writes for it)', () => {
    // plistlib.dumps({'a': 1, 'b': [True, 'é']}, fmt=FMT_BINARY, sort_keys=False), which
    // follows CoreFoundation's layout; annotated byte by byte.
    const bytes = new Uint8Array([
      ...MAGIC, // offset 0: "bplist00"
      0xd2,
      0x01,
      0x02,
      0x03,
      0x04, // 8, object 0: dict of 2; key refs 1, 2; value refs 3, 4
      0x51,
      0x61, // 13, object 1: ASCII string of 1, "a"
      0x51,
      0x62, // 15, object 2: ASCII string of 1, "b"
      0x10,
      0x01, // 17, object 3: int of 2^0 = 1 byte, 1
      0xa2,
      0x05,
      0x06, // 19, object 4: array of 2; refs 5, 6
      0x09, // 22, object 5: true
      0x61,
      0x00,
      0xe9, // 23, object 6: UTF-16BE string of 1 unit, U+00E9 "é"
      0x08,
      0x0d,
      0x0f,
      0x11,
      0x13,
      0x16,
      0x17, // 26: offset table, one byte per object
      0,
      0,
      0,
      0,
      0,
      0, // 33: trailer; 6 unused bytes
      0x00, // sort version
      0x01, // offset size: 1 byte
      0x01, // object ref size: 1 byte
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x07, // 7 objects
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x00, // top object: 0
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x1a, // offset table at 26
    ]);
    expect(parsePlist(bytes)).toEqual({ a: 1, b: [true, 'é'] });
  });

  it('reads UIDs, dates, reals, negative and 16-byte integers and data as plistlib writes them', () => {
    // plistlib.dumps({'u': UID(7), 'd': datetime(2001, 1, 1, 0, 0, 1), 'r': 0.5, 'n': -1,
    //                 'big': 2**64 - 1, 'data': b'\x01\x02'}, fmt=FMT_BINARY, sort_keys=False)
    const bytes = new Uint8Array([
      ...MAGIC,
      0xd6,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      11,
      12, // dict of 6: key refs 1–6, value refs 7–12
      0x51,
      0x75,
      0x51,
      0x64,
      0x51,
      0x72,
      0x51,
      0x6e, // "u" "d" "r" "n"
      0x53,
      0x62,
      0x69,
      0x67,
      0x54,
      0x64,
      0x61,
      0x74,
      0x61, // "big" "data"
      0x80,
      0x07, // UID of 1 byte: 7
      0x33,
      0x3f,
      0xf0,
      0,
      0,
      0,
      0,
      0,
      0, // date: 1.0 s after 2001-01-01
      0x23,
      0x3f,
      0xe0,
      0,
      0,
      0,
      0,
      0,
      0, // real of 8 bytes: 0.5
      0x13,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // int of 8 bytes (signed): -1
      0x14,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // 16 bytes: 2^64-1
      0x42,
      0x01,
      0x02, // data of 2
      0x08,
      0x15,
      0x17,
      0x19,
      0x1b,
      0x1d,
      0x21,
      0x26,
      0x28,
      0x31,
      0x3a,
      0x43,
      0x54, // offsets
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      1,
      ...u64(13),
      ...u64(0),
      ...u64(0x57),
    ]);
    expect(parsePlist(bytes)).toEqual({
      u: 7,
      d: new Date(Date.UTC(2001, 0, 1, 0, 0, 1)),
      r: new PlistReal(0.5),
      n: -1,
      big: 2n ** 64n - 1n,
      data: new Uint8Array([1, 2]),
    });
  });

  it('returns data as a plain, unshared Uint8Array when the input is a Buffer', () => {
    const input = Buffer.from(buildBinaryPlist(new Uint8Array([1, 2, 3])));
    const data = parsePlist(input) as Uint8Array;
    expect(Object.getPrototypeOf(data)).toBe(Uint8Array.prototype);
    input.fill(0);
    expect(Array.from(data)).toEqual([1, 2, 3]);
  });

  it('reads a set as an array', () => {
    expect(
      parsePlist(
        assemble([
          [0xc1, 0x01],
          [0x10, 0x05],
        ]),
      ),
    ).toEqual([5]);
  });

  it('reads a 4-byte real', () => {
    expect(parsePlist(assemble([[0x22, 0x3f, 0xc0, 0x00, 0x00]]))).toEqual(new PlistReal(1.5));
  });

  it('reads 2- and 4-byte unsigned integers', () => {
    expect(
      parsePlist(
        assemble([
          [0xa2, 1, 2],
          [0x11, 0xff, 0xfe],
          [0x12, 0xff, 0xff, 0xff, 0xff],
        ]),
      ),
    ).toEqual([65534, 4294967295]);
  });

  it('reads 8-byte integers beyond 2^53 as bigint', () => {
    expect(parsePlist(assemble([[0x13, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]))).toBe(
      2n ** 63n - 1n,
    );
  });

  it('reads a string whose length follows as an int object', () => {
    const text = 'a string longer than fifteen';
    const obj = [0x5f, 0x10, text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
    expect(parsePlist(assemble([obj]))).toBe(text);
  });

  it('shares one value for an object referenced twice, keeping shared graphs linear', () => {
    // Each level is an array holding the next level twice: 2^40 paths, 41 objects.
    const objects: number[][] = [];
    for (let i = 0; i < 40; i++) objects.push([0xa2, i + 1, i + 1]);
    objects.push([0x09]);
    const v = parsePlist(assemble(objects)) as PlistValue[];
    expect(v[0]).toBe(v[1]);
  });

  it('keeps a __proto__ key as an own data property', () => {
    const dict: PlistDict = {};
    setDictKey(dict, '__proto__', { polluted: true });
    const back = parsePlist(buildBinaryPlist(dict)) as PlistDict;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('binary plist reader on corrupt input', () => {
  const good = buildBinaryPlist({ name: 'Firefox', list: [1, 'two', true], n: 2n ** 63n - 1n });

  it('throws a PlistError for every proper prefix, never a value', () => {
    for (let len = 0; len < good.length; len++) {
      expect(() => parsePlist(good.subarray(0, len)), `prefix of ${len} bytes`).toThrow(PlistError);
    }
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['a file too short for a trailer', new Uint8Array([...MAGIC, 0x09]), /truncated/],
    [
      'an unsupported version',
      new Uint8Array([...MAGIC.slice(0, 6), 0x31, 0x35, ...new Array<number>(40).fill(0)]),
      /only bplist00/,
    ],
    ['a self-referencing array', assemble([[0xa1, 0x00]]), /reference cycle/],
    [
      'a two-object cycle through a dict',
      assemble([
        [0xd1, 0x01, 0x02],
        [0x51, 0x61],
        [0xa1, 0x00],
      ]),
      /reference cycle/,
    ],
    ['a reference past the last object', assemble([[0xa1, 0x05]]), /reference 5 is out of range/],
    [
      'an offset outside the object data',
      patch(assemble([[0xa1, 0x01], [0x08]]), 12, 0x30),
      /outside the object data/,
    ],
    ['a top object past the end', assemble([[0x09]], 3), /top object 3/],
    ['an offset table past the end', patchTrailer(assemble([[0x09]]), 31, 0xff), /offset table/],
    ['an offset size of 0', patchTrailer(assemble([[0x09]]), 6, 0), /invalid offset size/],
    [
      'an object ref size of 9',
      patchTrailer(assemble([[0x09]]), 7, 9),
      /invalid object reference size/,
    ],
    ['an object count of 0', patchTrailer(assemble([[0x09]]), 15, 0), /invalid object count/],
    ['a string longer than the data', assemble([[0x5f, 0x10, 0x64, 0x61, 0x62]]), /truncated/],
    ['an array longer than the data', assemble([[0xaf, 0x10, 0x64, 0x00]]), /truncated/],
    ['a length that is not an int', assemble([[0x5f, 0x51, 0x61]]), /expected an integer length/],
    ['a null object', assemble([[0x00]]), /null is not a property-list value/],
    ['an unknown marker', assemble([[0x70]]), /unknown object marker 0x70/],
    ['a real of 2 bytes', assemble([[0x21, 0x00, 0x00]]), /invalid real size/],
    [
      'a dict key that is not a string',
      assemble([
        [0xd1, 0x01, 0x01],
        [0x10, 0x01],
      ]),
      /dict key is not a string/,
    ],
    [
      'an integer wider than 16 bytes',
      assemble([[0x15, ...new Array<number>(32).fill(0)]]),
      /invalid integer size/,
    ],
  ])('rejects %s', (_name, bytes, message) => {
    const e = plistErrorOf(() => parsePlist(bytes, { source: 'receipt.plist' }));
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^receipt\.plist \(offset \d+\): /);
    expect(e.offset).toBeTypeOf('number');
    expect(e.code).toBe('PLIST_INVALID');
  });

  it('rejects nesting beyond maxDepth without overflowing the stack', () => {
    let v: PlistValue = [];
    for (let i = 0; i < 600; i++) v = [v];
    expect(() => parsePlist(buildBinaryPlist(v))).toThrow(/nesting deeper than 512/);
  });
});

/** A copy of `bytes` with the byte at `at` replaced. */
function patch(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = value;
  return copy;
}

/** A copy with byte `at` of the 32-byte trailer replaced. */
function patchTrailer(bytes: Uint8Array, at: number, value: number): Uint8Array {
  return patch(bytes, bytes.length - 32 + at, value);
}

describe('buildBinaryPlist', () => {
  const withProto: PlistDict = {};
  setDictKey(withProto, '__proto__', 'x');
  const many = Array.from({ length: 70_000 }, (_, i) => i);

  it.each<[string, PlistValue]>([
    ['strings', ['', 'a', 'fifteen chars!!', 'sixteen chars!!!', 'x'.repeat(70_000)]],
    [
      'Unicode strings',
      ['Å', 'Dag Ågren', '😀', '👍🏽 mixed ascii', '\u0000\u0001 controls are fine in binary'],
    ],
    [
      'integers of every width',
      [
        0,
        1,
        255,
        256,
        65535,
        65536,
        2 ** 32 - 1,
        2 ** 32,
        2 ** 53 - 1,
        -1,
        -(2 ** 31),
        -(2 ** 53 - 1),
      ],
    ],
    ['bigint extremes', [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 63n]],
    [
      'reals',
      [
        new PlistReal(0.5),
        new PlistReal(1),
        new PlistReal(-0),
        new PlistReal(NaN),
        new PlistReal(Infinity),
        new PlistReal(-Infinity),
        new PlistReal(5e-324),
      ],
    ],
    ['booleans', [true, false]],
    [
      'dates',
      [
        new Date(Date.UTC(2001, 0, 1)),
        new Date(0),
        new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 123)),
        new Date(Date.UTC(1900, 0, 1)),
      ],
    ],
    ['data', [new Uint8Array(), new Uint8Array([0, 255]), new Uint8Array(300).fill(7)]],
    ['empty containers', { a: [], d: {}, nested: [[], [{}]] }],
    ['a __proto__ key', withProto],
    [
      'a receipt-like dict',
      {
        PackageIdentifier: 'com.example.pkg',
        PackageVersion: '1.0',
        InstallDate: new Date(Date.UTC(2024, 4, 1, 10, 0, 0)),
        InstallPrefixPath: '/',
        InstallProcessName: 'installer',
      },
    ],
    ['more than 65,535 objects (4-byte refs and offsets)', many],
  ])('parse(build(x)) deep-equals x for %s', (_name, value) => {
    expect(parsePlist(buildBinaryPlist(value))).toEqual(value);
  });

  it('writes a non-integral number as a real', () => {
    expect(parsePlist(buildBinaryPlist(1.5))).toEqual(new PlistReal(1.5));
  });

  it('starts with bplist00 and ends with a 32-byte trailer naming object 0 as the root', () => {
    const bytes = buildBinaryPlist(['a']);
    expect(Array.from(bytes.subarray(0, 8))).toEqual(MAGIC);
    expect(Array.from(bytes.subarray(bytes.length - 16, bytes.length - 8))).toEqual(u64(0));
  });

  it.each<[string, unknown, RegExp]>([
    ['undefined', undefined, /cannot write undefined/],
    ['null', null, /cannot write null/],
    ['a Map', new Map(), /cannot write an object of type Map/],
    ['a plain NaN', NaN, /use new PlistReal/],
    ['a bigint above UINT64_MAX', 2n ** 64n, /outside 64 bits/],
    ['an invalid Date', new Date(NaN), /invalid Date/],
  ])('refuses %s with a plain Error', (_name, value, message) => {
    expect(() => buildBinaryPlist(value as PlistValue)).toThrow(message);
  });

  it('refuses a cyclic value', () => {
    const a: PlistValue[] = [];
    a.push(a);
    expect(() => buildBinaryPlist(a)).toThrow(/cycle/);
  });
});

describe('binary plists agree with the plist npm package', () => {
  const values: [string, plist.PlistValue][] = [
    [
      'a receipt',
      { PackageIdentifier: 'com.example.pkg', PackageVersion: '1.0', InstallPrefixPath: '/' },
    ],
    ['nested containers', { a: [1, 2, { b: ['x', true, false] }], c: {} }],
    ['non-ASCII strings', ['Å', 'Dag Ågren', '😀']],
    ['integers', [0, 1, 300, 70_000, -5]],
  ];

  it.each(values)('reads what plist.buildBinary writes for %s', (_name, value) => {
    expect(parsePlist(plist.buildBinary(value))).toEqual(value);
  });

  it.each(values)('writes what plist.parseBinary reads for %s', (_name, value) => {
    expect(plist.parseBinary(buildBinaryPlist(value as PlistValue))).toEqual(value);
  });
});
