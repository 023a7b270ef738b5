/**
 * Writes XML property lists byte-for-byte as Python's plistlib does (which matches Apple's layout):
 * the standard header, tab indentation, `<true/>`, `<array/>`/`<dict/>` when empty, `&`, `<`, `>`
 * escaped, dates as `YYYY-MM-DDTHH:MM:SSZ`, `<data>` as base64 lines of 76 columns minus the
 * indentation (a tab counted as 8), reals as Python's `repr(float)` (`1.0`, `1e+16`, `nan`).
 *
 * Callers must know:
 * - Keys keep the dict's own order unless `sortKeys` (then UTF-16 code-unit order, as CF sorts).
 * - A JS number is `<integer>` when integral, `<real>` otherwise; `PlistReal` is always `<real>`.
 *   NaN and ±Infinity as plain numbers are refused (almost always a bug); wrap them in PlistReal.
 * - A CR in text is written `&#13;` so it survives a re-read (plistlib turns it into LF).
 * - Date milliseconds are dropped: the format has whole seconds.
 * - Text XML 1.0 cannot hold (control characters other than tab/LF/CR, lone surrogates,
 *   U+FFFE/U+FFFF) is an AppError PLIST_INVALID: it is data, not a programming mistake.
 *   Values of the wrong type (undefined, null, functions, Maps, cycles) are a plain Error.
 */

import { AppError } from '../lib/errors.js';
import { PlistReal, type PlistDict, type PlistValue } from './plist-value.js';

/** Options for `buildPlist` and `buildPlistFragment`. */
export interface BuildPlistOptions {
  /** Sort dict keys by UTF-16 code units instead of keeping their order. */
  sortKeys?: boolean | undefined;
}

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

/** Writes a whole XML plist document (header, `<plist>`, the value at level 0, `</plist>\n`). */
export function buildPlist(value: PlistValue, options: BuildPlistOptions = {}): string {
  return HEADER + buildPlistFragment(value, 0, options) + '</plist>\n';
}

/** Writes just `value`'s element, each line prefixed by `indentLevel` tabs and ended by `\n`. */
export function buildPlistFragment(
  value: PlistValue,
  indentLevel: number,
  options: BuildPlistOptions = {},
): string {
  if (!Number.isInteger(indentLevel) || indentLevel < 0) {
    throw new Error(
      `buildPlistFragment: indentLevel must be a whole number ≥ 0, not ${indentLevel}`,
    );
  }
  const writer = new XmlWriter(options.sortKeys === true);
  writer.value(value, indentLevel);
  return writer.finish();
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

const indents: string[] = [];
function indent(level: number): string {
  return (indents[level] ??= '\t'.repeat(level));
}

class XmlWriter {
  /**
   * Output pieces, joined into `chunks` every few thousand: `+=` on one string builds a rope of
   * millions of cons cells for the GC to trace, and one join over millions of pieces is slower
   * than joining small batches and then the batches.
   */
  private parts: string[] = [];
  private readonly chunks: string[] = [];

  /** The whole output as one flat string. */
  finish(): string {
    this.chunks.push(this.parts.join(''));
    this.parts = [];
    return this.chunks.join('');
  }

  /** Containers being written, to refuse cycles instead of overflowing the stack. */
  private readonly path = new Set<object>();

  constructor(private readonly sortKeys: boolean) {}

  value(v: PlistValue, level: number): void {
    const ind = indent(level);
    switch (typeof v) {
      case 'string':
        this.parts.push(ind, '<string>', escapeText(v), '</string>\n');
        return;
      case 'number':
        if (Number.isSafeInteger(v)) this.parts.push(ind, '<integer>', String(v), '</integer>\n');
        else if (Number.isInteger(v)) this.integer(BigInt(v), ind);
        else if (Number.isFinite(v)) this.parts.push(ind, '<real>', formatReal(v), '</real>\n');
        else throw new Error(`buildPlist: ${v} is not an integer; use new PlistReal(${v})`);
        return;
      case 'bigint':
        this.integer(v, ind);
        return;
      case 'boolean':
        this.parts.push(ind, v ? '<true/>\n' : '<false/>\n');
        return;
      case 'object':
        if (v === null) throw new Error('buildPlist: cannot write null');
        break;
      default:
        throw new Error(`buildPlist: cannot write a value of type ${typeof v}`);
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        this.parts.push(ind, '<array/>\n');
        return;
      }
      this.enter(v);
      this.parts.push(ind, '<array>\n');
      for (const item of v) this.value(item, level + 1);
      this.parts.push(ind, '</array>\n');
      this.path.delete(v);
    } else if (v instanceof PlistReal) {
      this.parts.push(ind, '<real>', formatReal(v.value), '</real>\n');
    } else if (v instanceof Date) {
      this.parts.push(ind, '<date>', formatDate(v), '</date>\n');
    } else if (v instanceof Uint8Array) {
      this.data(v, ind, level);
    } else if (isPlainObject(v)) {
      this.dict(v, ind, level);
    } else {
      throw new Error(`buildPlist: cannot write ${describe(v)}`);
    }
  }

  private dict(d: PlistDict, ind: string, level: number): void {
    const keys = Object.keys(d);
    if (keys.length === 0) {
      this.parts.push(ind, '<dict/>\n');
      return;
    }
    if (this.sortKeys) keys.sort();
    this.enter(d);
    this.parts.push(ind, '<dict>\n');
    const inner = indent(level + 1);
    for (const k of keys) {
      const item = d[k];
      if (item === undefined) throw new Error(`buildPlist: key "${k}" has the value undefined`);
      this.parts.push(inner, '<key>', escapeText(k), '</key>\n');
      this.value(item, level + 1);
    }
    this.parts.push(ind, '</dict>\n');
    this.path.delete(d);
    if (this.parts.length > 8192) {
      this.chunks.push(this.parts.join(''));
      this.parts = [];
    }
  }

  private enter(container: object): void {
    if (this.path.has(container)) throw new Error('buildPlist: the value contains a cycle');
    this.path.add(container);
  }

  private integer(v: bigint, ind: string): void {
    if (v < INT64_MIN || v > UINT64_MAX) {
      throw new Error(`buildPlist: integer ${v} is outside the 64-bit range`);
    }
    this.parts.push(ind, '<integer>', v.toString(), '</integer>\n');
  }

  /** plistlib's layout: base64 lines at the element's own indentation, 76 columns minus it. */
  private data(bytes: Uint8Array, ind: string, level: number): void {
    const lineChars = Math.max(16, 76 - 8 * level);
    const chunk = Math.floor(lineChars / 4) * 3;
    this.parts.push(ind, '<data>\n');
    for (let i = 0; i < bytes.length; i += chunk) {
      this.parts.push(ind, encodeBase64(bytes.subarray(i, i + chunk)), '\n');
    }
    this.parts.push(ind, '</data>\n');
  }
}

/** One regex test decides the common case: nothing to escape and nothing to refuse. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NEEDS_ESCAPE_OR_CHECK = /[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/;

/** What XML 1.0 cannot hold: C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates. */
const FORBIDDEN_CHAR =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function escapeText(s: string): string {
  if (!NEEDS_ESCAPE_OR_CHECK.test(s)) return s;
  const bad = FORBIDDEN_CHAR.exec(s);
  if (bad !== null) {
    const code = s.charCodeAt(bad.index).toString(16).toUpperCase().padStart(4, '0');
    const shown = JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
    throw new AppError(
      'PLIST_INVALID',
      `text ${shown} holds U+${code}, which an XML plist cannot contain`,
      { hint: 'remove the character, or store the value as <data>' },
    );
  }
  // Native replaceAll per character beats one replace with a callback; '&' must go first.
  let out = s;
  if (out.includes('&')) out = out.replaceAll('&', '&amp;');
  if (out.includes('<')) out = out.replaceAll('<', '&lt;');
  if (out.includes('>')) out = out.replaceAll('>', '&gt;');
  if (out.includes('\r')) out = out.replaceAll('\r', '&#13;');
  return out;
}

/** Python's `repr(float)`: shortest round-trip digits, fixed for 1e-4 ≤ |x| < 1e16, else `1e+16`. */
export function formatReal(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  // toExponential() with no argument gives the shortest digits that round-trip.
  const [mantissa = '', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${digits[0] ?? ''}${rest}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fraction = digits.slice(exp + 1);
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
}

function formatDate(d: Date): string {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new Error('buildPlist: invalid Date');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new Error(`buildPlist: year ${y} cannot be written as YYYY`);
  const p2 = (v: number): string => (v < 10 ? '0' : '') + v;
  return (
    `${y.toString().padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}` +
    `T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}Z`
  );
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function encodeBase64(b: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = ((b[i] ?? 0) << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out +=
      BASE64_ALPHABET.charAt(v >> 18) +
      BASE64_ALPHABET.charAt((v >> 12) & 63) +
      BASE64_ALPHABET.charAt((v >> 6) & 63) +
      BASE64_ALPHABET.charAt(v & 63);
  }
  const left = b.length - i;
  if (left > 0) {
    const v = ((b[i] ?? 0) << 16) | (left === 2 ? (b[i + 1] ?? 0) << 8 : 0);
    out += BASE64_ALPHABET.charAt(v >> 18) + BASE64_ALPHABET.charAt((v >> 12) & 63);
    out += left === 2 ? BASE64_ALPHABET.charAt((v >> 6) & 63) + '=' : '==';
  }
  return out;
}

function isPlainObject(v: object): v is PlistDict {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object of type ${v.constructor?.name ?? 'unknown'}`;
  return typeof v;
}
