/**
 * Munki 7's version comparison (`MunkiVersion` in code/cli/munki/shared/utils/versionutils.swift)
 * and its `trimVersionString`, reimplemented for Node.
 *
 * Munki 7 pads both strings with ".0" components to a common count and then compares them with
 * `NSString.compare(_:options: .numeric)`. That comparison is CoreFoundation's
 * `CFStringCompareWithOptionsAndLocale` with `kCFCompareNumerically | kCFCompareNonliteral`
 * (read in CoreFoundation's CFString.c):
 * - when both strings have an ASCII digit at the current position, the whole digit runs are read
 *   and compared by value ("03" equals "3", "10" is greater than "9");
 * - otherwise the two characters are compared by code unit, case-sensitively
 *   (so "-" < "." < digits < "A".."Z" < "a".."z");
 * - when one string runs out first it is the smaller ("abc" < "abcd"); if both run out together
 *   they are equal.
 * Consequences worth knowing: "1.0b1" is newer than "1.0" but "1.0-1" and "10.0.0-abc1" are
 * OLDER than "1.0" and "10.0.0" (because "-" sorts before the "." of the padding), and trailing
 * spaces make a version older ("3.2.0.16  " < "3.2.0.16").
 */

/** A three-way comparison result, as `Array.prototype.sort` expects. */
export type Ordering = -1 | 0 | 1;

/**
 * Compares two Munki version strings: "1.0" equals "1.0.0"; "1.10" is newer than "1.9".
 * Returns -1 when `a` is older, 0 when equal, 1 when `a` is newer.
 */
export function compareVersions(a: string, b: string): Ordering {
  const partsA = versionComponents(a);
  const partsB = versionComponents(b);
  // Munki pads both to N = max(character length) components. The exact N does not matter, only
  // that both get the same count and at least one ".0" of padding each: that padding is what makes
  // "1.0-1" meet the "." of "1.0.0" (and lose) instead of running out first (and win). With a
  // trailing ".0" on both, adding more ".0"s cannot change the result: a decision made before
  // either string ends is unaffected, and if the compare reaches the end of one it is inside the
  // final "0" component of both, so they are equal. N = max components + 1 always gives both a
  // ".0"; so does Munki's N whenever the longer string has 2+ characters (a component needs a
  // character and a separator), and two strings of at most one character are decided by that
  // character. So this count agrees with Munki on every input. [inf]
  const count = Math.max(partsA.length, partsB.length) + 1;
  return compareNumerically(pad(partsA, count), pad(partsB, count));
}

/**
 * Munki's index key for a version: trailing lone "0" components are dropped while more than two
 * components remain ("10.0.0.0" → "10.0", "1.0.1" unchanged, "1.0" unchanged, "" → "").
 */
export function trimVersionString(version: string): string {
  // Unlike MunkiVersion, Munki splits here WITHOUT dropping empty components, so "1.0.0." keeps
  // its trailing empty part and is not trimmed at all.
  const parts = version.split('.');
  while (parts.length > 2 && parts[parts.length - 1] === '0') {
    parts.pop();
  }
  return parts.join('.');
}

/** The `.`-separated components of a version, empty ones dropped ("1..2." → ["1", "2"]). */
function versionComponents(version: string): string[] {
  return version.split('.').filter((part) => part !== '');
}

function pad(parts: readonly string[], count: number): string {
  const padded = [...parts];
  while (padded.length < count) padded.push('0');
  return padded.join('.');
}

const NON_ASCII = /[^\p{ASCII}]/u;

/** NSString `.numeric` comparison (see the module comment for the rules). */
function compareNumerically(left: string, right: string): Ordering {
  // CF compares differing non-ASCII characters after canonical decomposition ("é" precomposed
  // equals "e" + combining acute). Decomposing up front gives the same answers. [inf]
  const a = NON_ASCII.test(left) ? left.normalize('NFD') : left;
  const b = NON_ASCII.test(right) ? right.normalize('NFD') : right;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      const endA = digitRunEnd(a, i);
      const endB = digitRunEnd(b, j);
      const byValue = compareDigitRuns(a.slice(i, endA), b.slice(j, endB));
      if (byValue !== 0) return byValue;
      i = endA;
      j = endB;
      continue;
    }
    if (ca !== cb) {
      // CF joins surrogate pairs before comparing differing characters, so astral characters
      // sort by code point (above all of the BMP), not by UTF-16 code unit. [inf]
      const pa = a.codePointAt(i) ?? ca;
      const pb = b.codePointAt(j) ?? cb;
      return pa < pb ? -1 : 1;
    }
    i += 1;
    j += 1;
  }
  if (i < a.length) return 1;
  if (j < b.length) return -1;
  return 0;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function digitRunEnd(s: string, start: number): number {
  let end = start;
  while (end < s.length && isDigit(s.charCodeAt(end))) end += 1;
  return end;
}

/**
 * Compares two runs of ASCII digits by numeric value, at any length. (CoreFoundation accumulates
 * runs in a uint64 that silently wraps past 20 digits; we deliberately compare true values.)
 */
function compareDigitRuns(x: string, y: string): Ordering {
  const sx = stripLeadingZeros(x);
  const sy = stripLeadingZeros(y);
  if (sx.length !== sy.length) return sx.length < sy.length ? -1 : 1;
  if (sx === sy) return 0;
  return sx < sy ? -1 : 1;
}

function stripLeadingZeros(digits: string): string {
  let k = 0;
  while (k < digits.length - 1 && digits.charCodeAt(k) === 0x30) k += 1;
  return digits.slice(k);
}
