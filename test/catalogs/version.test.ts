import { describe, expect, it } from 'vitest';

import { compareVersions, trimVersionString } from 'abbot/catalogs';

describe('compareVersions', () => {
  it.each([
    // padding: missing components count as 0
    ['1.0', '1.0.0.0', 0],
    ['1.0', '1.0.0', 0],
    ['5', '5.0', 0],
    ['10.15', '10.15.1', -1],
    ['10.0', '9.9.9', 1],
    // digit runs compare by value
    ['1.2', '1.10', -1],
    ['1.9', '1.10', -1],
    ['1.8.77.03', '1.8.77.3', 0],
    ['007', '7', 0],
    ['2016.08.09', '2016.8.9', 0],
    ['2016.08.09', '2016.08.10', -1],
    ['20151207', '20151206', 1],
    ['0.2026.04.15.08.45.02', '0.2026.04.15.08.45.01', 1],
    ['0.2026.04.15.08.45.02', '0.2026.4.15', 1],
    ['1.2026.098', '1.2026.98', 0],
    ['12345678901234567890123', '12345678901234567890124', -1],
    ['99999999999999999999', '100000000000000000000', -1],
    // letters sort above the "." of the padding, "-" "+" and space below it
    ['1.0b1', '1.0', 1],
    ['1.0rc1', '1.0', 1],
    ['1.0a1', '1.0b1', -1],
    ['1.0~beta', '1.0', 1],
    ['1.0_1', '1.0', 1],
    ['1.0-1', '1.0', -1],
    ['1.0+1', '1.0', -1],
    ['10.0.0-abc1', '10.0.0', -1],
    ['10.0.0-abc1', '10.0.0-abc2', -1],
    // case-sensitive: "B" (0x42) sorts before "b" (0x62)
    ['1.0B1', '1.0b1', -1],
    // spaces are ordinary characters
    ['0.10.2 x86_64', '0.10.2', -1],
    ['0.10.2 x86_64', '0.10.1', 1],
    ['3.2.0.16  ', '3.2.0.16', -1],
    ['3.2.0.16  ', '3.2.0.15', 1],
    ['1.0 ', '1.0', -1],
    // empty components are dropped before padding
    ['1..2', '1.2', 0],
    ['1.0.0.', '1.0', 0],
    ['.1', '1', 0],
    ['', '0', 0],
    ['', '0.0.0', 0],
    ['', '1', -1],
    // non-ASCII: canonically equivalent forms are equal; astral characters sort by code point
    ['1.0\u00e9', '1.0e\u0301', 0],
    ['1.0\u{1F600}', '1.0\uFFFD', 1],
  ] as const)('compares %j with %j as %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('treats 1.10 as newer than 1.9', () => {
    expect(compareVersions('1.10', '1.9')).toBe(1);
  });

  // Versions chosen to hit every rule at once: padding, digit runs, letters, punctuation either
  // side of ".", spaces, leading zeros, empty components, very long digit runs.
  const tricky = [
    '',
    '0',
    '0.0',
    '0.1',
    '1',
    '1.0',
    '1.0.0.0',
    '1.0-1',
    '1.0+1',
    '1.0 ',
    '1.0a1',
    '1.0b1',
    '1.0B1',
    '1.0b2',
    '1.0b10',
    '1.0rc1',
    '1.0_1',
    '1.0~1',
    '1.0.1',
    '1.01',
    '1.1',
    '1.2',
    '1.10',
    '1..2',
    '1.8.77.03',
    '1.8.77.3',
    '2',
    '2016.08.09',
    '20151207',
    '0.2026.04.15.08.45.02',
    '0.10.2 x86_64',
    '0.10.2',
    '3.2.0.16  ',
    '3.2.0.16',
    '10.0.0-abc1',
    '10.0.0',
    '10.15',
    '10.15.1',
    'abc',
    'ABC',
    '12345678901234567890123',
  ];

  /**
   * Munki's algorithm transcribed literally, for ASCII input: pad to N = max(character length)
   * components, then walk both strings comparing digit runs by value and other characters by
   * code. compareVersions pads differently (components + 1); this checks that it cannot matter.
   */
  function munkiReference(a: string, b: string): number {
    const n = Math.max(a.length, b.length);
    const pad = (s: string): string => {
      const parts = s.split('.').filter((p) => p !== '');
      while (parts.length < n) parts.push('0');
      return parts.join('.');
    };
    const x = pad(a);
    const y = pad(b);
    let i = 0;
    let j = 0;
    while (i < x.length && j < y.length) {
      const runX = /^[0-9]+/.exec(x.slice(i))?.[0];
      const runY = /^[0-9]+/.exec(y.slice(j))?.[0];
      if (runX !== undefined && runY !== undefined) {
        const diff = BigInt(runX) - BigInt(runY);
        if (diff !== 0n) return diff < 0n ? -1 : 1;
        i += runX.length;
        j += runY.length;
      } else if (x[i] !== y[j]) {
        return x.charCodeAt(i) < y.charCodeAt(j) ? -1 : 1;
      } else {
        i += 1;
        j += 1;
      }
    }
    return i < x.length ? 1 : j < y.length ? -1 : 0;
  }

  it("agrees with Munki's own padding on every pair of tricky versions", () => {
    for (const a of tricky) {
      for (const b of tricky) {
        expect(compareVersions(a, b), `${a} vs ${b}`).toBe(munkiReference(a, b));
      }
    }
  });

  it('is reflexive and antisymmetric over tricky versions', () => {
    for (const a of tricky) {
      expect(compareVersions(a, a)).toBe(0);
      for (const b of tricky) {
        expect(compareVersions(a, b), `${a} vs ${b}`).toBe(-compareVersions(b, a) || 0);
      }
    }
  });

  it('is transitive over tricky versions', () => {
    for (const a of tricky) {
      for (const b of tricky) {
        if (compareVersions(a, b) > 0) continue;
        for (const c of tricky) {
          if (compareVersions(b, c) > 0) continue;
          // a <= b <= c must give a <= c, and equal only if all three are equal
          const ac = compareVersions(a, c);
          expect(ac, `${a} <= ${b} <= ${c}`).toBeLessThanOrEqual(0);
          if (ac === 0) expect(compareVersions(a, b), `${a} = ${c}`).toBe(0);
        }
      }
    }
  });

  it('sorts consistently whatever the starting order', () => {
    const sorted = [...tricky].sort(compareVersions);
    const reversed = [...tricky].reverse().sort(compareVersions);
    for (let i = 0; i < sorted.length; i += 1) {
      for (let j = i + 1; j < sorted.length; j += 1) {
        expect(compareVersions(sorted[i] ?? '', sorted[j] ?? '')).toBeLessThanOrEqual(0);
      }
      // equal versions may swap places, nothing else may
      expect(compareVersions(sorted[i] ?? '', reversed[i] ?? '')).toBe(0);
    }
  });
});

describe('trimVersionString', () => {
  it.each([
    ['1.0.0', '1.0'],
    ['10.0.0.0', '10.0'],
    ['0.0.0', '0.0'],
    ['1.0.1', '1.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['10.0.0-abc1', '10.0.0-abc1'],
    ['10.0.0-abc1.0', '10.0.0-abc1'],
    ['1.0', '1.0'],
    ['1', '1'],
    ['0', '0'],
    ['', ''],
    // only components exactly "0" go, and empty components are kept (Munki splits without dropping)
    ['1.00.0', '1.00'],
    ['1.0.00', '1.0.00'],
    ['1.0.0.', '1.0.0.'],
    ['5.0.0 ', '5.0.0 '],
    ['1.8.77.03', '1.8.77.03'],
  ])('trims %j to %j', (version, trimmed) => {
    expect(trimVersionString(version)).toBe(trimmed);
  });
});
