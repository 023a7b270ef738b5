/**
 * Reads property lists: XML (hand-written, strict, fast) and binary (`bplist00`, see plist-binary.ts).
 *
 * The XML reader follows Apple's CoreFoundation where it differs from Python's plistlib:
 * - the first element is the root, so a bare `<dict>…</dict>` with no `<plist>` wrapper is accepted
 *   (real 2011 repos write manifests that way);
 * - `<integer>` accepts `0x` hex, with an optional sign.
 * It is stricter than CoreFoundation elsewhere, because a half-read pkginfo is worse than none:
 * anything after the root other than whitespace, comments and processing instructions is an error,
 * as are text between elements, unknown elements, entities other than the five predefined ones
 * and character references, and any truncation.
 *
 * Callers must know:
 * - Duplicate keys in a `<dict>`: the last value wins and the key keeps the position of its first
 *   occurrence (what CoreFoundation and plistlib both end up with).
 * - Line ends inside text are normalised to `\n` as XML requires (`&#13;` keeps a real CR).
 * - A DOCTYPE is skipped, never interpreted: entities it declares are not defined.
 * - Dicts are plain objects, so integer-like keys ("10") enumerate before the others, whatever
 *   the file order (a JavaScript rule the value model accepts).
 */

import { PlistError } from '../lib/errors.js';
import { parseBinaryPlist } from './plist-binary.js';
import { PlistReal, setDictKey, type PlistDict, type PlistValue } from './plist-value.js';

/** Options for `parsePlist`. */
export interface ParsePlistOptions {
  /** Names the file or URL in error messages. */
  source?: string | undefined;
  /** Deepest nesting of arrays and dicts accepted; deeper input is an error (default 512). */
  maxDepth?: number | undefined;
}

/** Default bound on array/dict nesting, far beyond any real pkginfo and far below the stack limit. */
export const DEFAULT_MAX_DEPTH = 512;

const BPLIST_MAGIC = [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74]; // "bplist"

/** Parses an XML or binary property list; throws PlistError naming `source` and the line/offset. */
export function parsePlist(
  input: Uint8Array | string,
  options: ParsePlistOptions = {},
): PlistValue {
  const source = options.source;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (typeof input === 'string') {
    if (input.startsWith('bplist')) {
      throw new PlistError('a binary plist must be given as bytes, not as a string', {
        source,
        offset: 0,
      });
    }
    const start = input.charCodeAt(0) === 0xfeff ? 1 : 0;
    return new XmlPlistParser(input, undefined, start, source, maxDepth).parseDocument();
  }
  if (isBinaryPlist(input)) return parseBinaryPlist(input, { source, maxDepth });
  return xmlPlistParserFor(input, source, maxDepth).parseDocument();
}

/** True when `bytes` start with the binary plist magic (`bplist`). */
export function isBinaryPlist(bytes: Uint8Array): boolean {
  return BPLIST_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * A parser positioned at the start of an XML plist given as bytes (not a binary one: check
 * isBinaryPlist first). Shared with plist-catalog-fragment.ts so both read bytes identically.
 */
export function xmlPlistParserFor(
  input: Uint8Array,
  source: string | undefined,
  maxDepth: number,
): XmlPlistParser {
  const encoding = sniffEncoding(input);
  if (encoding === 'utf-8') {
    // UTF-8 is read as latin1 text, one char per byte, which is several times faster to make
    // than a decoded string; markup is ASCII either way, and only the text segments that hold
    // bytes ≥ 0x80 are decoded (and validated) as UTF-8 when they are read.
    const text = latin1(input);
    const start = input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? 3 : 0;
    return new XmlPlistParser(text, input, start, source, maxDepth);
  }
  const text = decodeWhole(input, encoding, source);
  return new XmlPlistParser(text, undefined, 0, source, maxDepth);
}

// ---------------------------------------------------------------------------------------------
// Bytes to text

/** UTF-8 unless a UTF-16 BOM or the XML declaration says otherwise. */
function sniffEncoding(bytes: Uint8Array): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0x3c && bytes[1] === 0x3f) {
    // `<?xml … encoding="…"?>` is ASCII by definition, so a latin1 look at the start is safe.
    const head = latin1(bytes.subarray(0, 200));
    const declared = /^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head)?.[1];
    if (declared !== undefined && !/^utf-?8$/i.test(declared)) return declared.toLowerCase();
  }
  return 'utf-8';
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Decodes a document in an encoding other than UTF-8 (rare: UTF-16, ISO-8859-1, MacRoman…). */
function decodeWhole(bytes: Uint8Array, encoding: string, source: string | undefined): string {
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(encoding, { fatal: true });
  } catch {
    throw new PlistError(`unsupported encoding "${encoding}"`, { source, line: 1 });
  }
  try {
    return decoder.decode(bytes); // drops a leading BOM
  } catch {
    throw new PlistError(`the document is not valid ${encoding}`, { source, line: 1 });
  }
}

/** Fatal, and keeps a U+FEFF at the start of a segment: there it is content, not a BOM. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence (only called on failure). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    let need: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return b.length;
}

// ---------------------------------------------------------------------------------------------
// XML

/** What XML 1.0 forbids in a document: C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates. */
const FORBIDDEN_CHAR =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Characters that send a text segment down the slow path: '&', CR, anything XML may forbid, and
 * (reading UTF-8 as latin1) any byte ≥ 0x80. Text without them is taken as one slice.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL_IN_BYTES = /[&\r\x00-\x08\x0b\x0c\x0e-\x1f\x80-\xff]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL_IN_TEXT = /[&\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/g;
/** Within one segment, all but '&': for JS strings, latin1 text known to be ASCII, decoded UTF-8. */
const NON_ENTITY_SPECIAL_IN_TEXT =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NON_ENTITY_SPECIAL_IN_ASCII = /[\r\x00-\x08\x0b\x0c\x0e-\x1f]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NON_ENTITY_SPECIAL_IN_DECODED = /[\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;
/** Every special but high bytes, for a whole segment's general pass (ASCII or decoded UTF-8). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL_IN_DECODED = /[&\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;
const HIGH_BYTE = /[\x80-\xff]/;

const KEY_CACHE_SIZE = 1024;

/** The elements of a plist document. */
export type ElementKind =
  | 'plist'
  | 'dict'
  | 'array'
  | 'key'
  | 'string'
  | 'integer'
  | 'real'
  | 'date'
  | 'data'
  | 'true'
  | 'false';

/** What readStartTag needs of the innermost open container: its kind, for error messages. */
export interface OpenContainer {
  readonly kind: 'array' | 'dict' | 'plist';
}

type Frame =
  | { kind: 'array'; openAt: number; items: PlistValue[] }
  | { kind: 'dict'; openAt: number; dict: PlistDict; key: string | undefined; keyAt: number }
  | { kind: 'plist'; openAt: number; value: PlistValue | undefined };

/** The plain end tag of each element, which the fast paths look for first. */
export const CLOSE_TAG: Readonly<Record<ElementKind, string>> = {
  plist: '</plist>',
  dict: '</dict>',
  array: '</array>',
  key: '</key>',
  string: '</string>',
  integer: '</integer>',
  real: '</real>',
  date: '</date>',
  data: '</data>',
  true: '</true>',
  false: '</false>',
};

/**
 * One parse of one document; holds the scan position and the caches that keep the scan linear.
 * Exported (not from index.ts) so plist-catalog-fragment.ts walks documents with the very same
 * scanning and error reporting; members it uses are public, the rest stay private.
 */
export class XmlPlistParser {
  readonly n: number;
  /** Where the document starts (after a BOM): the only place an XML declaration may be. */
  private readonly start: number;
  pos: number;
  /** Set by readStartTag: the tag just read was `<name/>`. */
  isEmptyTag = false;
  /**
   * Offset of the next special character at or after an earlier scan point (n when none). Text
   * segments are read in document order, so one regex scan serves every segment up to there.
   */
  nextSpecial = -1;
  private readonly special: RegExp;
  /** Keys repeat endlessly in a catalog: reusing one string per key spares allocation and GC. */
  private readonly keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_CACHE_SIZE);

  /**
   * @param s the document as text; latin1 (one char per byte) when `bytes` is given
   * @param bytes the UTF-8 bytes `s` was made from, to decode non-ASCII text segments
   */
  constructor(
    readonly s: string,
    private readonly bytes: Uint8Array | undefined,
    start: number,
    private readonly source: string | undefined,
    readonly maxDepth: number,
  ) {
    this.n = s.length;
    this.pos = start;
    this.start = start;
    this.special = new RegExp(bytes ? SPECIAL_IN_BYTES : SPECIAL_IN_TEXT);
  }

  parseDocument(): PlistValue {
    this.skipProlog();
    if (this.pos >= this.n) throw this.fail(this.n, 'no root element (empty document)');
    const root = this.parseTree();
    this.skipMisc('epilog');
    if (this.pos < this.n) throw this.fail(this.pos, 'content after the root element');
    return root;
  }

  // -- errors ----------------------------------------------------------------------------------

  fail(offset: number, message: string, extraLines = 0): PlistError {
    return new PlistError(message, { source: this.source, line: this.lineAt(offset) + extraLines });
  }

  /** An error at `index` of decoded text that started at document offset `at`. */
  private failInText(at: number, text: string, index: number, message: string): PlistError {
    return this.fail(at, message, text.slice(0, index).split('\n').length - 1);
  }

  /** Computed only when an error is thrown, so the happy path never counts lines. */
  private lineAt(offset: number): number {
    let line = 1;
    let i = this.s.indexOf('\n');
    while (i !== -1 && i < offset) {
      line++;
      i = this.s.indexOf('\n', i + 1);
    }
    return line;
  }

  truncated(openAt: number, name: string): PlistError {
    return this.fail(
      this.n,
      `unexpected end of input: <${name}> opened on line ${this.lineAt(openAt)} is not closed`,
    );
  }

  /** A short quote of the document at `at`, for messages. */
  private snippet(at: number): string {
    const end = Math.min(this.n, at + 24);
    const raw = this.bytes
      ? new TextDecoder().decode(this.bytes.subarray(at, end))
      : this.s.slice(at, end);
    const line = raw.split(/\r?\n/)[0] ?? '';
    return JSON.stringify(line.length < raw.length || end === this.n ? line : `${raw}…`);
  }

  // -- prolog and misc -------------------------------------------------------------------------

  skipProlog(): void {
    const s = this.s;
    let seenDoctype = false;
    for (;;) {
      this.skipMisc('prolog');
      if (this.pos >= this.n) return;
      if (s.startsWith('<!DOCTYPE', this.pos)) {
        if (seenDoctype) throw this.fail(this.pos, 'a second DOCTYPE');
        seenDoctype = true;
        this.skipDoctype();
        continue;
      }
      return;
    }
  }

  /** Skips `<!DOCTYPE …>` including an internal subset; nothing in it is interpreted. */
  private skipDoctype(): void {
    const s = this.s;
    const start = this.pos;
    let quote = 0;
    let brackets = 0;
    for (let i = start + 9; i < this.n; i++) {
      const c = s.charCodeAt(i);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === 0x5b) brackets++;
      else if (c === 0x5d) brackets--;
      else if (c === 0x3e && brackets <= 0) {
        this.checkChars(start, i);
        this.pos = i + 1;
        return;
      }
    }
    throw this.fail(this.n, 'unexpected end of input in the DOCTYPE');
  }

  /**
   * Skips whitespace, comments and processing instructions; stops at the next other '<' (or the
   * end). Any other text is an error: only <string>, <key> and scalars hold text.
   */
  skipMisc(within: ElementKind | 'prolog' | 'epilog'): void {
    const s = this.s;
    const n = this.n;
    let i = this.pos;
    for (;;) {
      let c = s.charCodeAt(i);
      while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = s.charCodeAt(++i);
      if (i >= n) break;
      if (c !== 0x3c) {
        throw this.fail(i, `text ${this.snippet(i)} is not allowed ${describePlace(within)}`);
      }
      const c1 = s.charCodeAt(i + 1);
      if (c1 === 0x21 && s.startsWith('<!--', i)) i = this.skipComment(i);
      else if (c1 === 0x3f) i = this.skipPi(i);
      else break;
    }
    this.pos = i;
  }

  /** Returns the offset after `-->`. Like CoreFoundation, `--` inside a comment is tolerated. */
  private skipComment(at: number): number {
    const end = this.s.indexOf('-->', at + 4);
    if (end === -1) throw this.fail(this.n, 'unexpected end of input inside a comment');
    this.checkChars(at, end);
    return end + 3;
  }

  /** Returns the offset after `?>`; an XML declaration anywhere but the start is an error. */
  private skipPi(at: number): number {
    const s = this.s;
    const isDeclaration = /^<\?xml(?:[ \t\r\n?]|$)/i.test(s.slice(at, at + 6));
    if (isDeclaration && at !== this.start) {
      throw this.fail(at, 'an XML declaration is only allowed at the very start');
    }
    const end = s.indexOf('?>', at + 2);
    if (end === -1)
      throw this.fail(this.n, 'unexpected end of input inside a processing instruction');
    this.checkChars(at, end);
    return end + 2;
  }

  /** Markup we skip (comments, DOCTYPE, PIs) must still hold only characters XML allows. */
  private checkChars(start: number, end: number): void {
    const text = this.s.slice(start, end);
    const bad = FORBIDDEN_CHAR.exec(text);
    if (bad !== null) throw this.forbidden(start, text, bad.index);
  }

  private forbidden(at: number, text: string, index: number): PlistError {
    const code = text.charCodeAt(index).toString(16).toUpperCase().padStart(4, '0');
    return this.failInText(at, text, index, `character U+${code} is not allowed in XML`);
  }

  // -- elements --------------------------------------------------------------------------------

  /**
   * Parses the root element and everything inside it, iteratively, so depth costs no stack.
   * plist-catalog-fragment.ts (ExactWalk) repeats this loop check for check: keep them in step.
   */
  private parseTree(): PlistValue {
    const s = this.s;
    const n = this.n;
    const stack: Frame[] = [];
    let depth = 0; // open arrays and dicts; the <plist> wrapper does not count
    for (;;) {
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        this.skipMisc(top.kind);
        if (this.pos >= n) throw this.truncated(top.openAt, top.kind);
      }
      const lt = this.pos;

      let value: PlistValue;
      if (s.charCodeAt(lt + 1) === 0x2f /* / */) {
        // An end tag: it must close the innermost open container.
        if (top === undefined) throw this.fail(lt, 'a closing tag before any element');
        const closeTag = CLOSE_TAG[top.kind];
        if (s.startsWith(closeTag, lt)) this.pos = lt + closeTag.length;
        else this.endTagSlow(lt, top.kind, top.openAt);
        stack.pop();
        if (top.kind === 'array') {
          depth--;
          value = top.items;
        } else if (top.kind === 'dict') {
          depth--;
          if (top.key !== undefined)
            throw this.fail(top.keyAt, `<key>${top.key}</key> has no value`);
          value = top.dict;
        } else {
          if (top.value === undefined) throw this.fail(lt, '<plist> holds no value');
          value = top.value;
        }
      } else {
        const kind = this.readStartTag(lt, top);
        const isEmpty = this.isEmptyTag;
        if (kind === 'key') {
          if (top?.kind !== 'dict') throw this.fail(lt, '<key> is only allowed inside <dict>');
          if (top.key !== undefined)
            throw this.fail(top.keyAt, `<key>${top.key}</key> has no value`);
          top.key = isEmpty ? '' : this.readText('key', lt);
          top.keyAt = lt;
          continue;
        }
        if (top !== undefined) {
          if (top.kind === 'dict' && top.key === undefined) {
            throw this.fail(lt, `<${kind}> inside <dict> has no <key> before it`);
          }
          if (top.kind === 'plist' && top.value !== undefined) {
            throw this.fail(lt, '<plist> holds more than one value');
          }
        }
        switch (kind) {
          case 'dict':
          case 'array':
            if (depth >= this.maxDepth) {
              throw this.fail(lt, `nesting deeper than ${this.maxDepth} arrays/dicts`);
            }
            if (!isEmpty) {
              depth++;
              stack.push(
                kind === 'dict'
                  ? { kind, openAt: lt, dict: {}, key: undefined, keyAt: lt }
                  : { kind, openAt: lt, items: [] },
              );
              continue;
            }
            value = kind === 'dict' ? {} : [];
            break;
          case 'plist':
            if (top !== undefined) throw this.fail(lt, '<plist> is only allowed as the root');
            if (isEmpty) throw this.fail(lt, '<plist> holds no value');
            stack.push({ kind, openAt: lt, value: undefined });
            continue;
          case 'string':
            value = isEmpty ? '' : this.readText('string', lt);
            break;
          case 'integer':
            value = (isEmpty ? undefined : this.readIntegerFast()) ?? this.readScalar(kind, lt);
            break;
          default:
            value = this.readScalar(kind, lt);
        }
      }

      // Hand the finished value to its container, or return it as the root.
      const parent = stack[stack.length - 1];
      if (parent === undefined) return value;
      if (parent.kind === 'array') parent.items.push(value);
      else if (parent.kind === 'dict') {
        // Duplicate keys: the last value wins (CoreFoundation's rule too).
        setDictKey(parent.dict, parent.key as string, value);
        parent.key = undefined;
      } else parent.value = value;
    }
  }

  /** Reads `<name …>` or `<name …/>` at `lt`, leaving pos after it and setting isEmptyTag. */
  readStartTag(lt: number, top: OpenContainer | undefined): ElementKind {
    const s = this.s;
    const kind = elementAt(s, lt + 1);
    if (kind !== undefined) {
      const j = lt + 1 + kind.length;
      const c = s.charCodeAt(j);
      if (c === 0x3e /* > */) {
        this.pos = j + 1;
        this.isEmptyTag = false;
        return kind;
      }
      if (c === 0x2f /* / */ && s.charCodeAt(j + 1) === 0x3e) {
        this.pos = j + 2;
        this.isEmptyTag = true;
        return kind;
      }
    }
    return this.readStartTagSlow(lt, top);
  }

  /** Start tags with attributes, and every malformed or unknown one (for the error message). */
  private readStartTagSlow(lt: number, top: OpenContainer | undefined): ElementKind {
    const s = this.s;
    let j = lt + 1;
    for (;;) {
      const c = s.charCodeAt(j);
      // Letters, digits, '_', '-', '.', ':': enough to take a whole name for the error message.
      if (
        (c >= 0x61 && c <= 0x7a) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x30 && c <= 0x39) ||
        c === 0x5f ||
        c === 0x2d ||
        c === 0x2e ||
        c === 0x3a
      ) {
        j++;
      } else break;
    }
    if (j >= this.n) throw this.fail(this.n, 'unexpected end of input inside a tag');
    if (j === lt + 1) {
      if (s.startsWith('<![CDATA[', lt)) {
        throw this.fail(lt, 'a CDATA section is only allowed inside <string> or <key>');
      }
      const where = describePlace(top?.kind ?? 'prolog');
      throw this.fail(lt, `unexpected markup ${this.snippet(lt)} ${where}`);
    }
    const kind = elementKind(s, lt + 1, j);
    if (kind === undefined) throw this.fail(lt, `unknown element <${s.slice(lt + 1, j)}>`);
    const c = s.charCodeAt(j);
    if (c === 0x3e /* > */) {
      this.pos = j + 1;
      this.isEmptyTag = false;
    } else if (c === 0x2f /* / */ && s.charCodeAt(j + 1) === 0x3e) {
      this.pos = j + 2;
      this.isEmptyTag = true;
    } else if (isXmlSpace(c)) {
      this.isEmptyTag = this.skipAttributes(j, lt, kind);
    } else {
      throw this.fail(j, `malformed tag <${kind}`);
    }
    return kind;
  }

  /** Skips well-formed attributes (only `<plist version>` is expected; all are ignored). */
  private skipAttributes(from: number, lt: number, kind: ElementKind): boolean {
    const s = this.s;
    const attr =
      /[ \t\r\n]*(?:([A-Za-z_:][A-Za-z0-9_:.-]*)[ \t\r\n]*=[ \t\r\n]*("[^"<]*"|'[^'<]*')|(\/?>))/y;
    let i = from;
    for (;;) {
      attr.lastIndex = i;
      const m = attr.exec(s);
      if (m === null) {
        if (s.indexOf('>', i) === -1) throw this.truncated(lt, kind);
        throw this.fail(i, `malformed attributes in <${kind}>`);
      }
      i = attr.lastIndex;
      if (m[3] !== undefined) {
        this.pos = i;
        return m[3] === '/>';
      }
      const value = m[2] ?? '';
      this.checkChars(i - value.length, i);
      if (value.includes('&')) this.checkEntities(value, i - value.length);
      // XML wants whitespace between attributes.
      const c = s.charCodeAt(i);
      if (i >= this.n) throw this.truncated(lt, kind);
      if (!isXmlSpace(c) && c !== 0x2f && c !== 0x3e) {
        throw this.fail(i, `malformed attributes in <${kind}>`);
      }
    }
  }

  /** An end tag that is not the plain `</name>`: `</name >` is fine, anything else is an error. */
  endTagSlow(lt: number, expected: ElementKind, openAt: number): void {
    const re = /<\/([A-Za-z0-9_:.-]*)[ \t\r\n]*(>)?/y;
    re.lastIndex = lt;
    const r = re.exec(this.s);
    const name = r?.[1] ?? '';
    const isClosed = r?.[2] !== undefined;
    if (name === expected && isClosed) {
      this.pos = re.lastIndex;
      return;
    }
    if (!isClosed && re.lastIndex >= this.n) throw this.truncated(openAt, expected);
    throw this.fail(
      lt,
      `mismatched tag: ${this.snippet(lt)} where </${expected}> (opened on line ${this.lineAt(openAt)}) was expected`,
    );
  }

  // -- text ------------------------------------------------------------------------------------

  /**
   * Reads the text content of `<kind>` (pos is just after the start tag) up to its end tag and
   * returns it decoded. The common case, plain text then `</kind>`, is one indexOf and one slice.
   */
  readText(kind: ElementKind, openAt: number): string {
    const s = this.s;
    const start = this.pos;
    const lt = s.indexOf('<', start);
    if (lt === -1) throw this.truncated(openAt, kind);
    const closeTag = CLOSE_TAG[kind];
    if (s.startsWith(closeTag, lt)) {
      this.pos = lt + closeTag.length;
      if (this.nextSpecial < start) this.findNextSpecial(start);
      if (this.nextSpecial >= lt)
        return kind === 'key' ? this.cachedSlice(start, lt) : s.slice(start, lt);
      return this.decodeSpecial(start, lt);
    }
    return this.readTextSlow(kind, openAt, start);
  }

  findNextSpecial(from: number): void {
    this.special.lastIndex = from;
    const m = this.special.exec(this.s);
    this.nextSpecial = m === null ? this.n : m.index;
  }

  /** s.slice(start, end), reusing an earlier identical string when the cache has one. */
  cachedSlice(start: number, end: number): string {
    const s = this.s;
    const len = end - start;
    if (len === 0 || len > 48) return s.slice(start, end);
    const h =
      (len * 61 +
        s.charCodeAt(start) * 31 +
        s.charCodeAt(end - 1) * 7 +
        s.charCodeAt(start + (len >> 1))) &
      (KEY_CACHE_SIZE - 1);
    const cached = this.keyCache[h];
    if (cached !== undefined && cached.length === len && s.startsWith(cached, start)) return cached;
    const fresh = s.slice(start, end);
    this.keyCache[h] = fresh;
    return fresh;
  }

  /** Text with comments, CDATA sections, processing instructions or a spaced end tag. */
  readTextSlow(kind: ElementKind, openAt: number, start: number): string {
    const s = this.s;
    let out = '';
    let i = start;
    for (;;) {
      const lt = s.indexOf('<', i);
      if (lt === -1) throw this.truncated(openAt, kind);
      out += this.decodeSpecial(i, lt);
      const c1 = s.charCodeAt(lt + 1);
      if (c1 === 0x2f) {
        this.endTagSlow(lt, kind, openAt);
        return out;
      }
      if (c1 === 0x21 && s.startsWith('<!--', lt)) {
        i = this.skipComment(lt);
      } else if (c1 === 0x21 && s.startsWith('<![CDATA[', lt)) {
        const end = s.indexOf(']]>', lt + 9);
        if (end === -1) throw this.fail(this.n, 'unexpected end of input inside a CDATA section');
        // CDATA is literal: no entities, but still characters to check and newlines to normalise.
        out += normaliseNewlines(this.textAt(lt + 9, end));
        i = end + 3;
      } else if (c1 === 0x3f) {
        i = this.skipPi(lt);
      } else if (lt + 1 >= this.n) {
        throw this.truncated(openAt, kind);
      } else {
        throw this.fail(lt, `unexpected markup ${this.snippet(lt)} inside <${kind}>`);
      }
    }
  }

  /** The characters of [start, end): UTF-8-decoded when reading bytes, checked against XML's rules. */
  private textAt(start: number, end: number): string {
    let text: string;
    if (this.bytes !== undefined && HIGH_BYTE.test(this.s.slice(start, end))) {
      const raw = this.bytes.subarray(start, end);
      try {
        text = UTF8.decode(raw);
      } catch {
        throw this.fail(start + firstInvalidUtf8(raw), 'invalid UTF-8 byte sequence');
      }
    } else {
      text = this.s.slice(start, end);
    }
    const bad = FORBIDDEN_CHAR.exec(text);
    if (bad !== null) throw this.forbidden(start, text, bad.index);
    return text;
  }

  /**
   * Character data [start, end) that holds something special. One regex-driven pass over it
   * normalises CR/CRLF, replaces entity references and refuses characters XML forbids; pieces are
   * joined once, so the result is a flat string.
   */
  decodeSpecial(start: number, end: number): string {
    let text = this.s.slice(start, end);
    // The '&'-free variants of the special characters, to tell the hot case from the rest.
    let re = this.bytes === undefined ? NON_ENTITY_SPECIAL_IN_TEXT : NON_ENTITY_SPECIAL_IN_ASCII;
    if (this.bytes !== undefined && HIGH_BYTE.test(text)) {
      const raw = this.bytes.subarray(start, end);
      try {
        text = UTF8.decode(raw);
      } catch {
        throw this.fail(start + firstInvalidUtf8(raw), 'invalid UTF-8 byte sequence');
      }
      re = NON_ENTITY_SPECIAL_IN_DECODED;
    }
    if (!re.test(text)) return this.unescapeEntities(text, start);
    const general = re === NON_ENTITY_SPECIAL_IN_TEXT ? SPECIAL_IN_TEXT : SPECIAL_IN_DECODED;
    return this.unescapeGeneral(text, start, general);
  }

  /** Text whose only specials are '&': the hot path for scripts full of `&amp;&amp;` and `&gt;`. */
  private unescapeEntities(text: string, at: number): string {
    let amp = text.indexOf('&');
    if (amp === -1) return text;
    const parts: string[] = [];
    let last = 0;
    while (amp !== -1) {
      let ch: string | undefined;
      let end: number;
      const c1 = text.charCodeAt(amp + 1);
      if (c1 === 0x61 /* a */ && text.startsWith('amp;', amp + 1)) {
        ch = '&';
        end = amp + 5;
      } else if (c1 === 0x6c /* l */ && text.startsWith('lt;', amp + 1)) {
        ch = '<';
        end = amp + 4;
      } else if (c1 === 0x67 /* g */ && text.startsWith('gt;', amp + 1)) {
        ch = '>';
        end = amp + 4;
      } else {
        const semi = text.indexOf(';', amp + 1);
        if (semi !== -1 && semi - amp <= 12) ch = decodeEntity(text.slice(amp + 1, semi));
        if (ch === undefined || ch === '') throw this.entityError(at, text, amp);
        end = semi + 1;
      }
      parts.push(text.slice(last, amp), ch);
      last = end;
      amp = text.indexOf('&', last);
    }
    parts.push(text.slice(last));
    return parts.join('');
  }

  /** Text with CRs or characters to refuse as well as entities: one regex-driven pass. */
  private unescapeGeneral(text: string, start: number, re: RegExp): string {
    re.lastIndex = 0;
    let m = re.exec(text);
    const parts: string[] = [];
    let last = 0;
    while (m !== null) {
      const i = m.index;
      const c = text.charCodeAt(i);
      if (c === 0x26 /* & */) {
        const semi = text.indexOf(';', i + 1);
        const ch = semi === -1 || semi - i > 12 ? undefined : decodeEntity(text.slice(i + 1, semi));
        if (ch === undefined || ch === '') throw this.entityError(start, text, i);
        parts.push(text.slice(last, i), ch);
        last = semi + 1;
      } else if (c === 0x0d /* CR */) {
        parts.push(text.slice(last, i), '\n');
        last = text.charCodeAt(i + 1) === 0x0a ? i + 2 : i + 1;
      } else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
        re.lastIndex = i + 2; // a well-formed pair, only met when reading a JS string
        m = re.exec(text);
        continue;
      } else {
        throw this.forbidden(start, text, i);
      }
      re.lastIndex = last;
      m = re.exec(text);
    }
    parts.push(text.slice(last));
    return parts.join('');
  }

  private entityError(at: number, text: string, index: number): PlistError {
    const m = /^&(#?[0-9A-Za-z]+);/.exec(text.slice(index, index + 12));
    const name = m?.[1];
    if (name === undefined) {
      const quote = JSON.stringify(text.slice(index, index + 12));
      return this.failInText(at, text, index, `"&" must be written "&amp;" (at ${quote})`);
    }
    return this.failInText(
      at,
      text,
      index,
      name.startsWith('#') ? `&${name}; is not a character XML allows` : `unknown entity &${name};`,
    );
  }

  /** Checks entity references in an attribute value (attributes are otherwise ignored). */
  private checkEntities(text: string, at: number): void {
    const re = /&([^&;<]{0,11})(;?)/g;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const name = m[1] ?? '';
      if (m[2] === '' || decodeEntity(name) === undefined || decodeEntity(name) === '') {
        throw this.entityError(at, text, m.index);
      }
    }
  }

  // -- scalars ---------------------------------------------------------------------------------

  /** `<integer>` of plain decimal digits directly followed by `</integer>`, without a slice. */
  readIntegerFast(): number | undefined {
    const s = this.s;
    let i = this.pos;
    const isNegative = s.charCodeAt(i) === 0x2d;
    if (isNegative) i++;
    const first = i;
    let v = 0;
    for (;;) {
      const d = s.charCodeAt(i) - 0x30;
      if (!(d >= 0 && d <= 9)) break; // NaN past the end stops it too
      v = v * 10 + d;
      i++;
    }
    // Up to 15 digits always fits a double exactly; anything else takes the general path.
    if (i === first || i - first > 15 || !s.startsWith('</integer>', i)) return undefined;
    this.pos = i + 10;
    return isNegative && v !== 0 ? -v : v;
  }

  readScalar(kind: ElementKind, at: number): PlistValue {
    const text = this.isEmptyTag ? '' : this.readText(kind, at);
    switch (kind) {
      case 'integer': {
        const v = parseInteger(text);
        if (typeof v === 'string') throw this.fail(at, `<integer>${text}</integer>: ${v}`);
        return v;
      }
      case 'real': {
        const v = parseReal(text);
        if (v === undefined) throw this.fail(at, `<real>${text}</real> is not a number`);
        return new PlistReal(v);
      }
      case 'date': {
        const v = parseDate(text);
        if (v === undefined) {
          throw this.fail(at, `<date>${text}</date> is not a date like 2020-01-31T12:00:00Z`);
        }
        return v;
      }
      case 'data': {
        const v = decodeBase64(text);
        if (v === undefined) throw this.fail(at, '<data> holds invalid base64');
        return v;
      }
      case 'true':
      case 'false':
        if (trimXmlSpace(text) !== '') throw this.fail(at, `<${kind}> must be empty`);
        return kind === 'true';
      default:
        // dict/array/plist/key/string never reach here.
        throw new Error(`readScalar called for <${kind}>`);
    }
  }
}

/** The character an entity reference stands for; undefined if unknown, '' if XML forbids it. */
function decodeEntity(name: string): string | undefined {
  switch (name) {
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'amp':
      return '&';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
  }
  const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(name);
  if (m === null) return undefined;
  const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2] ?? '', 10);
  return isXmlChar(code) ? String.fromCodePoint(code) : '';
}

function describePlace(within: ElementKind | 'prolog' | 'epilog'): string {
  if (within === 'prolog') return 'before the root element';
  if (within === 'epilog') return 'after the root element';
  return `inside <${within}>`;
}

/** The plist element whose name starts at `at` (the name may continue: the caller checks). */
function elementAt(s: string, at: number): ElementKind | undefined {
  let kind: ElementKind;
  switch (s.charCodeAt(at)) {
    case 0x6b: // k
      kind = 'key';
      break;
    case 0x73: // s
      kind = 'string';
      break;
    case 0x69: // i
      kind = 'integer';
      break;
    case 0x64: // d
      kind =
        s.charCodeAt(at + 1) === 0x69 ? 'dict' : s.charCodeAt(at + 3) === 0x65 ? 'date' : 'data';
      break;
    case 0x61: // a
      kind = 'array';
      break;
    case 0x74: // t
      kind = 'true';
      break;
    case 0x66: // f
      kind = 'false';
      break;
    case 0x72: // r
      kind = 'real';
      break;
    case 0x70: // p
      kind = 'plist';
      break;
    default:
      return undefined;
  }
  return s.startsWith(kind, at) ? kind : undefined;
}

/** Which plist element the name at s[start, end) is, without allocating the name. */
function elementKind(s: string, start: number, end: number): ElementKind | undefined {
  let kind: ElementKind | undefined;
  switch (end - start) {
    case 3:
      kind = 'key';
      break;
    case 4:
      switch (s.charCodeAt(start)) {
        case 0x64: // d
          kind =
            s.charCodeAt(start + 1) === 0x69
              ? 'dict'
              : s.charCodeAt(start + 3) === 0x65
                ? 'date'
                : 'data';
          break;
        case 0x74: // t
          kind = 'true';
          break;
        case 0x72: // r
          kind = 'real';
          break;
      }
      break;
    case 5:
      switch (s.charCodeAt(start)) {
        case 0x61: // a
          kind = 'array';
          break;
        case 0x66: // f
          kind = 'false';
          break;
        case 0x70: // p
          kind = 'plist';
          break;
      }
      break;
    case 6:
      kind = 'string';
      break;
    case 7:
      kind = 'integer';
      break;
  }
  return kind !== undefined && s.startsWith(kind, start) ? kind : undefined;
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** True for a code point XML 1.0 allows in a document. */
export function isXmlChar(c: number): boolean {
  return (
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

/** XML end-of-line handling: CRLF and lone CR become LF. */
function normaliseNewlines(raw: string): string {
  return raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
}

/** `t` without leading and trailing XML whitespace (allocation-free when there is none). */
export function trimXmlSpace(t: string): string {
  if (t === '' || (!isXmlSpace(t.charCodeAt(0)) && !isXmlSpace(t.charCodeAt(t.length - 1)))) {
    return t;
  }
  return t.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * `<integer>` text → number, or bigint beyond 2^53; a string is the reason it is invalid.
 * Accepts an optional sign, decimal or `0x` hex, surrounding whitespace; range int64 ∪ uint64.
 */
function parseInteger(text: string): number | bigint | string {
  const t = trimXmlSpace(text);
  const len = t.length;
  let i = 0;
  const sign = t.charCodeAt(0);
  if (sign === 0x2d || sign === 0x2b) i = 1;
  const isNegative = sign === 0x2d;
  if (i === len) return 'not an integer';
  const x = t.charCodeAt(i + 1);
  if (t.charCodeAt(i) === 0x30 && (x === 0x78 || x === 0x58)) {
    const hex = t.slice(i + 2);
    if (!/^[0-9A-Fa-f]+$/.test(hex)) return 'not an integer';
    return toIntegerValue(isNegative ? -BigInt(`0x${hex}`) : BigInt(`0x${hex}`));
  }
  if (len - i <= 15) {
    // Fast path: at most 15 digits always fits a double exactly.
    let v = 0;
    for (; i < len; i++) {
      const d = t.charCodeAt(i) - 0x30;
      if (!(d >= 0 && d <= 9)) return 'not an integer';
      v = v * 10 + d;
    }
    return isNegative ? (v === 0 ? 0 : -v) : v;
  }
  if (!/^[0-9]+$/.test(t.slice(i))) return 'not an integer';
  const big = BigInt(t.slice(i));
  return toIntegerValue(isNegative ? -big : big);
}

function toIntegerValue(v: bigint): number | bigint | string {
  if (v < INT64_MIN || v > UINT64_MAX) return 'out of the 64-bit integer range';
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

/** `<real>` text → number, including nan/inf spellings of CF and Python; undefined if invalid. */
function parseReal(text: string): number | undefined {
  const t = trimXmlSpace(text);
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(t)) return Number(t);
  switch (t.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  return undefined;
}

/** `YYYY-MM-DDTHH:MM:SSZ` (UTC) → Date; undefined when malformed or not a real calendar time. */
export function parseDate(text: string): Date | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/.exec(
    trimXmlSpace(text),
  );
  if (m === null) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear keeps years 0–99 as written
  date.setUTCHours(h, mi, se, 0);
  // Day 31 of a 30-day month rolls over; refuse rather than silently move the date.
  return date.getUTCDate() === d ? date : undefined;
}

const BASE64_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Strict base64 → bytes: whitespace anywhere is ignored (plist writers wrap lines), other
 * characters outside the alphabet, misplaced '=' or a wrong length make it invalid (undefined).
 */
function decodeBase64(text: string): Uint8Array | undefined {
  const t = /[ \t\r\n]/.test(text) ? text.replace(/[ \t\r\n]+/g, '') : text;
  if (t.length % 4 !== 0) return undefined;
  let pad = 0;
  if (t.endsWith('==')) pad = 2;
  else if (t.endsWith('=')) pad = 1;
  const out = new Uint8Array((t.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < t.length; i += 4) {
    const isLast = i + 4 === t.length;
    const a = sextet(t, i);
    const b = sextet(t, i + 1);
    const c = isLast && pad === 2 ? 0 : sextet(t, i + 2);
    const d = isLast && pad >= 1 ? 0 : sextet(t, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = bits >> 16;
    if (o < out.length) out[o++] = (bits >> 8) & 0xff;
    if (o < out.length) out[o++] = bits & 0xff;
  }
  return out;
}

function sextet(t: string, i: number): number {
  const c = t.charCodeAt(i);
  return c < 128 ? (BASE64_VALUE[c] ?? -1) : -1;
}
