/**
 * Transcodes a pkginfo's bytes straight into its catalog fragment, without building the object
 * tree that parsePlist + buildPlistFragment would make and throw away.
 *
 * The contract is an equivalence, held byte for byte:
 * - if `parsePlist(input)` throws, this throws an error with the same message;
 * - otherwise, when the root is a dict D, `fragment` is
 *   `buildPlistFragment(strip(D), 1, { sortKeys: true })`, strip removing the top-level keys
 *   `stripKey` accepts, and `picked[k]` deep-equals `D[k]` for each pick key present and kept;
 * - when the root is not a dict, the result is `parsePlist(input)` itself.
 *
 * Every value is handled in one of three modes: EMIT writes its canonical text at once; SKIP
 * (values of stripped keys) only checks it, e.g. a date's syntax and calendar without making a
 * Date; VALUE (the picked keys) materialises it as the parser does. Dicts are written in file
 * order and reordered only when their keys turn out not to be strictly increasing, which also
 * drops duplicates (the last value wins, as in the parser; its position is moot once sorted).
 *
 * Two walks share that output side:
 * - the fast walk reads the shape plistlib and Apple write (the standard header, plain tags,
 *   text with at most the usual entities) with its own tight scanning, refusing to guess: at the
 *   first thing outside that shape it gives up, whatever has been written so far is dropped, and
 * - the exact walk starts over. It is XmlPlistParser.parseTree step for step, on the parser's
 *   own scanner, so every error is the parser's error, found in the same place.
 * The fast walk never throws on bad input; an error only ever comes from the exact walk.
 */

import { buildPlistFragment, formatReal } from './plist-build.js';
import {
  CLOSE_TAG,
  DEFAULT_MAX_DEPTH,
  isBinaryPlist,
  isXmlChar,
  parseDate,
  parsePlist,
  trimXmlSpace,
  xmlPlistParserFor,
  type ElementKind,
  type OpenContainer,
  type XmlPlistParser,
} from './plist-parse.js';
import {
  isPlistDict,
  PlistReal,
  setDictKey,
  type PlistDict,
  type PlistValue,
} from './plist-value.js';

/** Options for `transcodeCatalogFragment`. */
export interface TranscodeCatalogFragmentOptions {
  /** Names the file or URL in error messages, as parsePlist's `source`. */
  source?: string | undefined;
  /** Top-level keys to leave out of the fragment (their values are still validated). */
  stripKey: (key: string) => boolean;
  /**
   * Top-level keys whose values are also returned as PlistValues (when present and not stripped).
   * Pass one fixed array for every file: its lookup set is made once per array and kept.
   */
  pickKeys: readonly string[];
}

/** A dict root's fragment and picked values, or any other root as parsePlist reads it. */
export type CatalogFragmentResult =
  { root: 'dict'; fragment: string; picked: PlistDict } | { root: 'other'; value: PlistValue };

/** Parses `input` once and writes its catalog fragment; see the file comment for the contract. */
export function transcodeCatalogFragment(
  input: Uint8Array,
  options: TranscodeCatalogFragmentOptions,
): CatalogFragmentResult {
  return transcodeFast(input, options) ?? transcodeExact(input, options);
}

/**
 * The exact route alone: the parser's walk (or parsePlist for binary plists and non-dict roots).
 * Exported so tests can hold each walk to the contract; callers want transcodeCatalogFragment.
 */
export function transcodeExact(
  input: Uint8Array,
  options: TranscodeCatalogFragmentOptions,
): CatalogFragmentResult {
  const source = options.source;
  if (isBinaryPlist(input)) return fromValue(parsePlist(input, { source }), options);
  const writer = new FragmentWriter(options);
  if (new ExactWalk(xmlPlistParserFor(input, source, DEFAULT_MAX_DEPTH), writer).run()) {
    return writer.result();
  }
  // A root that is not a dict is rare (a catalog, a stray file): parsePlist reads it from scratch,
  // which also reports any later error exactly as parsePlist words it.
  return { root: 'other', value: parsePlist(input, { source }) };
}

/** The slow but plainly equivalent route, for binary plists. */
function fromValue(
  value: PlistValue,
  options: TranscodeCatalogFragmentOptions,
): CatalogFragmentResult {
  if (!isPlistDict(value)) return { root: 'other', value };
  const kept: PlistDict = {};
  const picked: PlistDict = {};
  for (const key of Object.keys(value)) {
    if (options.stripKey(key)) continue;
    const v = value[key]!;
    setDictKey(kept, key, v);
    if (options.pickKeys.includes(key)) setDictKey(picked, key, v);
  }
  return { root: 'dict', fragment: buildPlistFragment(kept, 1, SORTED), picked };
}

const SORTED = { sortKeys: true } as const;

// ---------------------------------------------------------------------------------------------
// The output side, shared by both walks

/** How a value is handled: written out, only checked, or materialised. */
const EMIT = 0;
const SKIP = 1;
const VALUE = 2;
type Mode = typeof EMIT | typeof SKIP | typeof VALUE;

/** An open container; one class so that every frame has the same shape. */
class Frame implements OpenContainer {
  /** The pending key, as the parser tracks it (for its checks and messages). */
  key: string | undefined = undefined;
  keyAt: number;
  /** Mode of the value after the pending key (dicts), or of every item (arrays). */
  childMode: Mode;
  /** Where its opening line starts in `out` (EMIT), to take it back if it stays empty. */
  headAt = 0;
  /** Where its entries start in the writer's entryKeys/entryStarts (EMIT dicts). */
  entryBase = 0;
  /** Keys so far strictly increasing: the file order is then the sorted order, with no duplicate. */
  isSorted = true;
  lastKey: string | undefined = undefined;
  /** The `<plist>` wrapper has its value. */
  hasValue = false;
  dict: PlistDict | undefined = undefined;
  items: PlistValue[] | undefined = undefined;

  constructor(
    readonly kind: 'array' | 'dict' | 'plist',
    readonly openAt: number,
    readonly mode: Mode,
    /** Indentation of the container's own lines in the fragment. */
    readonly level: number,
    /** The root dict, whose keys are stripped and picked. */
    readonly isTop: boolean,
  ) {
    this.keyAt = openAt;
    this.childMode = mode;
  }
}

/** Collects the fragment and the picked values. */
class FragmentWriter {
  /**
   * The fragment so far. Appending to one string is cheaper than pushing pieces and joining
   * them: V8 keeps it as a rope, flattened once by whoever reads it (Buffer.from, a comparison).
   */
  out = '';
  /** Keys of the open EMIT dicts' entries and where each entry starts in `out` (one stack). */
  private readonly entryKeys: string[] = [];
  private readonly entryStarts: number[] = [];
  private readonly picked: PlistDict = {};
  private readonly stripKey: (key: string) => boolean;
  private readonly pickKeys: ReadonlySet<string>;

  constructor(options: TranscodeCatalogFragmentOptions) {
    this.stripKey = options.stripKey;
    this.pickKeys = pickSetOf(options.pickKeys);
  }

  result(): CatalogFragmentResult {
    return { root: 'dict', fragment: this.out, picked: this.picked };
  }

  open(kind: 'dict' | 'array', at: number, mode: Mode, level: number, isTop: boolean): Frame {
    const frame = new Frame(kind, at, mode, level, isTop);
    if (mode === EMIT) {
      // Written as if the container had content; closeEmpty() takes it back if not.
      frame.headAt = this.out.length;
      this.out += (kind === 'dict' ? DICT : ARRAY).at(level);
      frame.entryBase = this.entryKeys.length;
    } else if (mode === VALUE) {
      if (kind === 'dict') frame.dict = {};
      else frame.items = [];
    }
    return frame;
  }

  /** A key of an EMIT dict: decides its value's mode and writes the key line unless stripped. */
  key(top: Frame, key: string, escaped: string): void {
    top.key = key;
    if (top.isTop) {
      if (this.stripKey(key)) {
        top.childMode = SKIP;
        return;
      }
      top.childMode = this.pickKeys.has(key) ? VALUE : EMIT;
    }
    if (top.lastKey !== undefined && !isAfter(key, top.lastKey)) top.isSorted = false;
    top.lastKey = key;
    this.entryKeys.push(key);
    this.entryStarts.push(this.out.length);
    this.out += KEY.at(top.level + 1) + escaped + '</key>\n';
  }

  /** Hands a finished value to its container; EMIT values are already written, SKIP ones dropped. */
  handOff(parent: Frame, value: PlistValue | undefined): void {
    if (parent.kind === 'dict') {
      if (parent.childMode === VALUE) {
        const key = parent.key as string;
        if (parent.mode === VALUE) setDictKey(parent.dict!, key, value!);
        else {
          // A picked top-level value: kept, and written from the value.
          setDictKey(this.picked, key, value!);
          this.out += valueElement(value!, parent.level + 1);
        }
      }
      parent.key = undefined;
    } else if (parent.kind === 'array') {
      if (parent.mode === VALUE) parent.items!.push(value!);
    } else {
      parent.hasValue = true;
    }
  }

  closeArray(top: Frame): void {
    if (this.out.length === top.headAt + ARRAY.at(top.level).length) this.closeEmpty(top);
    else this.out += ARRAY_END.at(top.level);
  }

  closeDict(top: Frame): void {
    const base = top.entryBase;
    const count = this.entryKeys.length - base;
    if (count === 0) {
      this.closeEmpty(top);
      return;
    }
    if (!top.isSorted) this.sortEntries(base, count);
    this.out += DICT_END.at(top.level);
    this.entryKeys.length = base;
    this.entryStarts.length = base;
  }

  /** `<dict/>` or `<array/>` instead of the opening line: rare (hand-written, or all keys stripped). */
  private closeEmpty(top: Frame): void {
    const empty = top.kind === 'dict' ? EMPTY_DICT : EMPTY_ARRAY;
    this.out = this.out.slice(0, top.headAt) + empty.at(top.level);
  }

  /**
   * Reorders the entries [base, base+count) of the innermost dict, all written and last in `out`,
   * by key in UTF-16 code-unit order (what sort() does to Object.keys), keeping only the last
   * entry of each duplicated key, as the parser's object would.
   */
  private sortEntries(base: number, count: number): void {
    const out = this.out;
    const keys = this.entryKeys;
    const starts = this.entryStarts;
    const order = Array.from({ length: count }, (_, i) => i);
    order.sort((a, b) => {
      const ka = keys[base + a]!;
      const kb = keys[base + b]!;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
    const pieces: string[] = [out.slice(0, starts[base]!)];
    for (let j = 0; j < count; j++) {
      const i = order[j]!;
      const next = order[j + 1];
      if (next !== undefined && keys[base + next] === keys[base + i]) continue;
      pieces.push(out.slice(starts[base + i]!, i + 1 < count ? starts[base + i + 1]! : out.length));
    }
    this.out = pieces.join('');
  }
}

/** Callers pass the same pick list for every file: its Set is made once. */
const pickSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function pickSetOf(keys: readonly string[]): ReadonlySet<string> {
  let set = pickSets.get(keys);
  if (set === undefined) {
    set = new Set(keys);
    pickSets.set(keys, set);
  }
  return set;
}

/** `a > b` in UTF-16 code-unit order (sort()'s order), without the runtime call `>` makes. */
function isAfter(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const d = a.charCodeAt(k) - b.charCodeAt(k);
    if (d !== 0) return d > 0;
  }
  return a.length > b.length;
}

/** A picked value's element at `level`: strings and arrays of them (nearly all) without a builder. */
function valueElement(value: PlistValue, level: number): string {
  if (typeof value === 'string') return `${STRING.at(level)}${escapeText(value)}</string>\n`;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    let out = ARRAY.at(level);
    for (const v of value) out += `${STRING.at(level + 1)}${escapeText(v)}</string>\n`;
    return out + ARRAY_END.at(level);
  }
  return buildPlistFragment(value, level, SORTED);
}

/**
 * The builder's escaping. Its refusal of characters XML cannot hold is not repeated: text read by
 * either walk never holds them (the parser refuses them first, with its own message).
 */
function escapeText(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = s;
  if (out.includes('&')) out = out.replaceAll('&', '&amp;');
  if (out.includes('<')) out = out.replaceAll('<', '&lt;');
  if (out.includes('>')) out = out.replaceAll('>', '&gt;');
  if (out.includes('\r')) out = out.replaceAll('\r', '&#13;');
  return out;
}

const NEEDS_ESCAPE = /[&<>\r]/;

/** One kind of line start (indentation + tag), made once per indentation level. */
class TagLine {
  private readonly byLevel: string[] = [];
  constructor(private readonly tag: string) {}
  at(level: number): string {
    return this.byLevel[level] ?? (this.byLevel[level] = '\t'.repeat(level) + this.tag);
  }
}

const KEY = new TagLine('<key>');
const STRING = new TagLine('<string>');
const INTEGER = new TagLine('<integer>');
const DATE = new TagLine('<date>');
const REAL = new TagLine('<real>');
const DICT = new TagLine('<dict>\n');
const ARRAY = new TagLine('<array>\n');
const DICT_END = new TagLine('</dict>\n');
const ARRAY_END = new TagLine('</array>\n');
const TRUE = new TagLine('<true/>\n');
const FALSE = new TagLine('<false/>\n');
const EMPTY_DICT = new TagLine('<dict/>\n');
const EMPTY_ARRAY = new TagLine('<array/>\n');

// ---------------------------------------------------------------------------------------------
// The fast walk

/**
 * Markup the fast walk matches as big-endian 32-bit words of its bytes: a DataView read per four
 * bytes is several times cheaper than String.prototype.startsWith, which is never inlined.
 */
class ByteTag {
  readonly length: number;
  private readonly w0: number;
  private readonly w1: number;
  private readonly w2: number;
  private readonly m1: number;
  private readonly m2: number;

  /** `text` is 5 to 12 ASCII characters. */
  constructor(readonly text: string) {
    this.length = text.length;
    const { words, masks } = toWords(text);
    const [w0 = 0, w1 = 0, w2 = 0] = words;
    const [, m1 = 0, m2 = 0] = masks;
    this.w0 = w0;
    this.w1 = w1;
    this.w2 = w2;
    this.m1 = m1;
    this.m2 = m2;
  }

  /** True when `view` holds this tag at `at`; the caller makes sure 12 bytes can be read. */
  isAt(view: DataView, at: number): boolean {
    return (
      view.getInt32(at) === this.w0 &&
      (view.getInt32(at + 4) & this.m1) === this.w1 &&
      (view.getInt32(at + 8) & this.m2) === this.w2
    );
  }
}

/** ASCII `text` as big-endian int32 words, and masks of the bytes it covers in each. */
function toWords(text: string): { words: number[]; masks: number[] } {
  const count = Math.ceil(text.length / 4);
  const words = new Array<number>(count).fill(0);
  const masks = new Array<number>(count).fill(0);
  for (let k = 0; k < text.length; k++) {
    const shift = 24 - 8 * (k % 4);
    words[k >> 2] = words[k >> 2]! | (text.charCodeAt(k) << shift);
    masks[k >> 2] = masks[k >> 2]! | (0xff << shift);
  }
  return { words, masks };
}

/** Whether the document starts with `header`, a word at a time (headers are long). */
function hasHeader(view: DataView, header: { words: number[]; masks: number[] }): boolean {
  const { words, masks } = header;
  for (let k = 0; k < words.length; k++) {
    if ((view.getInt32(4 * k) & masks[k]!) !== words[k]) return false;
  }
  return true;
}

/** Bytes always readable as whole words after a tag's start (the longest tag, rounded up). */
const TAG_READ = 12;

const T_KEY = new ByteTag('<key>');
const T_KEY_END = new ByteTag('</key>');
const T_STRING = new ByteTag('<string>');
const T_STRING_EMPTY = new ByteTag('<string/>');
const T_STRING_END = new ByteTag('</string>');
const T_INTEGER = new ByteTag('<integer>');
const T_INTEGER_END = new ByteTag('</integer>');
const T_DICT = new ByteTag('<dict>');
const T_DICT_EMPTY = new ByteTag('<dict/>');
const T_DICT_END = new ByteTag('</dict>');
const T_ARRAY = new ByteTag('<array>');
const T_ARRAY_EMPTY = new ByteTag('<array/>');
const T_ARRAY_END = new ByteTag('</array>');
const T_DATE = new ByteTag('<date>');
const T_DATE_END = new ByteTag('</date>');
const T_REAL = new ByteTag('<real>');
const T_REAL_END = new ByteTag('</real>');
const T_TRUE = new ByteTag('<true/>');
const T_FALSE = new ByteTag('<false/>');
const T_PLIST_END = new ByteTag('</plist>');

/** Headers the fast walk accepts verbatim: plistlib's and Apple's, and Apple's older DOCTYPE. */
const KNOWN_HEADERS = [
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">',
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">',
].map((text) => ({ length: text.length, ...toWords(text) }));

/** The parser's SPECIAL_IN_BYTES: text without these is plain ASCII with nothing to decode. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL = /[&\r\x00-\x08\x0b\x0c\x0e-\x1f\x80-\xff]/g;
const HIGH_BYTE = /[\x80-\xff]/;
/** What the fast walk leaves to the exact one in decoded text: CRs (normalised) and what XML forbids. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const LEFT_TO_EXACT = /[\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;
/** The references decodeEntity accepts, each up to its first ';'. */
const ENTITY = /&(?:(amp)|(lt)|(gt)|(quot)|(apos)|#x([0-9A-Fa-f]{1,6})|#([0-9]{1,7}));/y;
const NAMED_ENTITY = ['&', '<', '>', '"', "'"];
/** Fatal, and keeps a U+FEFF at the start of a segment, like the parser's decoder. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Far below the parser's 512, so the fast walk never meets the depth error. */
const FAST_MAX_DEPTH = 64;
/** parseReal's number syntax; the nan/inf spellings and surrounding spaces are left to the exact walk. */
const REAL_NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * The fast walk alone: the result, or undefined wherever it gives up (malformed input never makes
 * it throw). Exported so tests can hold each walk to the contract; callers want
 * transcodeCatalogFragment.
 */
export function transcodeFast(
  input: Uint8Array,
  options: TranscodeCatalogFragmentOptions,
): CatalogFragmentResult | undefined {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  for (const header of KNOWN_HEADERS) {
    if (input.length >= header.length + TAG_READ && hasHeader(view, header)) {
      const s = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
      const writer = new FragmentWriter(options);
      const walk = new FastWalk(s, input, view, header.length, writer);
      return walk.run() ? writer.result() : undefined;
    }
  }
  return undefined;
}

/**
 * A walk over UTF-8 read as latin1 (like the parser) that accepts only what it can check in a
 * line or two, and returns false at anything else: comments, CDATA, attributes, spaced or
 * self-closed text elements, `<data>`, padded scalars, CRs or control characters in text,
 * unusual entities, invalid UTF-8, deep nesting, any structural error, and markup so close to
 * the end that it cannot be read as whole words (only a broken document ends that way).
 */
class FastWalk {
  /** Where a tag may start and still be read as whole words. */
  private readonly tagLimit: number;
  /** Offset of the next special character at or after an earlier text start (as in the parser). */
  private nextSpecial = -1;
  /** Set by text(): the text just read, decoded and escaped. */
  private decoded = '';
  private escaped = '';

  constructor(
    private readonly s: string,
    private readonly bytes: Uint8Array,
    private readonly view: DataView,
    /** Where the root element's markup may start: just after the header. */
    private readonly from: number,
    private readonly w: FragmentWriter,
  ) {
    this.tagLimit = s.length - TAG_READ;
  }

  run(): boolean {
    const s = this.s;
    const view = this.view;
    const bytes = this.bytes;
    const w = this.w;
    const stack: Frame[] = [];
    let top: Frame | undefined;
    let i = this.from;
    for (;;) {
      // Bytes, not the string: typed-array reads are the cheapest per character.
      let c = bytes[i];
      while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = bytes[++i];
      if (c !== 0x3c /* < */ || i > this.tagLimit) return false;
      let value: PlistValue | undefined;
      const c1 = s.charCodeAt(i + 1);
      if (c1 === 0x2f /* / */) {
        if (top === undefined) return false;
        if (top.kind === 'dict') {
          if (top.key !== undefined || !T_DICT_END.isAt(view, i)) return false;
          i += 7;
          if (top.mode === EMIT) w.closeDict(top);
          else value = top.dict;
        } else {
          if (!T_ARRAY_END.isAt(view, i)) return false;
          i += 8;
          if (top.mode === EMIT) w.closeArray(top);
          else value = top.items;
        }
        stack.pop();
      } else if (c1 === 0x6b /* k */) {
        if (top?.kind !== 'dict' || top.key !== undefined || !T_KEY.isAt(view, i)) return false;
        i = this.text(i + 5, T_KEY_END, BOTH);
        if (i < 0) return false;
        if (top.mode === EMIT) w.key(top, this.decoded, this.escaped);
        else top.key = this.decoded;
        continue;
      } else if (top === undefined) {
        // The root: only a dict takes this walk.
        if (T_DICT.isAt(view, i)) {
          top = w.open('dict', i, EMIT, 1, true);
          stack.push(top);
          i += 6;
          continue;
        }
        if (!T_DICT_EMPTY.isAt(view, i)) return false;
        w.out += EMPTY_DICT.at(1);
        return this.epilog(i + 7);
      } else {
        if (top.kind === 'dict' && top.key === undefined) return false;
        const mode = top.childMode;
        const level = top.level + 1;
        switch (c1) {
          case 0x73 /* s */:
            if (T_STRING.isAt(view, i)) {
              i = this.text(
                i + 8,
                T_STRING_END,
                mode === EMIT ? ESCAPED : mode === SKIP ? CHECK : BOTH,
              );
              if (i < 0) return false;
              if (mode === EMIT) w.out += STRING.at(level) + this.escaped + '</string>\n';
              else if (mode === VALUE) value = this.decoded;
            } else if (T_STRING_EMPTY.isAt(view, i)) {
              i += 9;
              if (mode === EMIT) w.out += STRING.at(level) + '</string>\n';
              else if (mode === VALUE) value = '';
            } else return false;
            break;
          case 0x69 /* i */: {
            if (!T_INTEGER.isAt(view, i)) return false;
            let j = i + 9;
            const isNegative = s.charCodeAt(j) === 0x2d;
            if (isNegative) j++;
            const first = j;
            let v = 0;
            for (;;) {
              const d = s.charCodeAt(j) - 0x30;
              if (!(d >= 0 && d <= 9)) break;
              v = v * 10 + d;
              j++;
            }
            // Up to 15 digits fit a double exactly; longer ones and other spellings go the exact way.
            if (j === first || j - first > 15 || j > this.tagLimit) return false;
            if (!T_INTEGER_END.isAt(view, j)) return false;
            if (isNegative && v !== 0) v = -v;
            if (mode === EMIT) {
              // Leading zeros and "-0" are the only spellings that differ from the value's digits.
              const isCanonical = s.charCodeAt(first) !== 0x30 || (j === first + 1 && !isNegative);
              const digits = isCanonical ? s.slice(i + 9, j) : String(v);
              w.out += INTEGER.at(level) + digits + '</integer>\n';
            } else if (mode === VALUE) value = v;
            i = j + 10;
            break;
          }
          case 0x64 /* d */:
            if (T_DICT.isAt(view, i)) {
              if (stack.length >= FAST_MAX_DEPTH) return false;
              top = w.open('dict', i, mode, level, false);
              stack.push(top);
              i += 6;
              continue;
            }
            if (T_DICT_EMPTY.isAt(view, i)) {
              i += 7;
              if (mode === EMIT) w.out += EMPTY_DICT.at(level);
              else if (mode === VALUE) value = {};
            } else if (T_DATE.isAt(view, i)) {
              const t = this.scalarText(i + 6, T_DATE_END);
              if (t === undefined || !isPlistDateText(t)) return false;
              i += 13 + t.length;
              // A valid date's text is exactly what the builder writes for it.
              if (mode === EMIT) w.out += DATE.at(level) + t + '</date>\n';
              else if (mode === VALUE) value = parseDate(t)!;
            } else return false;
            break;
          case 0x61 /* a */:
            if (T_ARRAY.isAt(view, i)) {
              if (stack.length >= FAST_MAX_DEPTH) return false;
              top = w.open('array', i, mode, level, false);
              stack.push(top);
              i += 7;
              continue;
            }
            if (!T_ARRAY_EMPTY.isAt(view, i)) return false;
            i += 8;
            if (mode === EMIT) w.out += EMPTY_ARRAY.at(level);
            else if (mode === VALUE) value = [];
            break;
          case 0x74 /* t */:
            if (!T_TRUE.isAt(view, i)) return false;
            i += 7;
            if (mode === EMIT) w.out += TRUE.at(level);
            else if (mode === VALUE) value = true;
            break;
          case 0x66 /* f */:
            if (!T_FALSE.isAt(view, i)) return false;
            i += 8;
            if (mode === EMIT) w.out += FALSE.at(level);
            else if (mode === VALUE) value = false;
            break;
          case 0x72 /* r */: {
            if (!T_REAL.isAt(view, i)) return false;
            const t = this.scalarText(i + 6, T_REAL_END);
            if (t === undefined || !REAL_NUMBER.test(t)) return false;
            i += 13 + t.length;
            if (mode === EMIT) w.out += REAL.at(level) + formatReal(Number(t)) + '</real>\n';
            else if (mode === VALUE) value = new PlistReal(Number(t));
            break;
          }
          default:
            return false;
        }
      }
      if (c1 === 0x2f) top = stack[stack.length - 1];
      if (top === undefined) return this.epilog(i);
      w.handOff(top, value);
    }
  }

  /** After the root dict: only whitespace, `</plist>`, whitespace. */
  private epilog(from: number): boolean {
    const s = this.s;
    let i = from;
    let c = s.charCodeAt(i);
    while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = s.charCodeAt(++i);
    if (!s.startsWith(T_PLIST_END.text, i)) return false;
    i += 8;
    c = s.charCodeAt(i);
    while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = s.charCodeAt(++i);
    return i === s.length;
  }

  /** The raw text from `start` to `close`, which must be the next markup; undefined if not. */
  private scalarText(start: number, close: ByteTag): string | undefined {
    const lt = this.s.indexOf('<', start);
    if (lt === -1 || lt > this.tagLimit || !close.isAt(this.view, lt)) return undefined;
    return this.s.slice(start, lt);
  }

  /**
   * Reads the text from `start` up to the end tag `close`, which must come next, into `escaped`
   * and `decoded` as `want` asks; the offset after the end tag, or -1.
   */
  private text(start: number, close: ByteTag, want: TextWanted): number {
    const s = this.s;
    const lt = s.indexOf('<', start);
    if (lt === -1 || lt > this.tagLimit || !close.isAt(this.view, lt)) return -1;
    let k = this.nextSpecial < start ? nextSpecialFrom(s, start) : this.nextSpecial;
    // '&amp;', '&lt;' and '&gt;' are already what the builder writes for the character they stand
    // for, so text whose only specials are those is its own escaped form.
    let hasEntity = false;
    while (k < lt && isBasicEntityAt(s, k)) {
      hasEntity = true;
      k = nextSpecialFrom(s, k + 1);
    }
    this.nextSpecial = k;
    if (k >= lt) {
      if (want !== CHECK) {
        const t = s.slice(start, lt);
        // No '<' or other specials: a raw '>' is all there is to escape; the end tag's '>'
        // bounds the search.
        this.escaped = s.indexOf('>', start) < lt ? t.replaceAll('>', '&gt;') : t;
        if (want === BOTH) this.decoded = hasEntity ? decodeEntities(t)! : t;
      }
    } else if (!this.decodeSpecial(start, lt, want)) {
      return -1;
    }
    return lt + close.length;
  }

  /** Text with other entities or non-ASCII: decoded as the parser would, or false to leave it to it. */
  private decodeSpecial(start: number, end: number, want: TextWanted): boolean {
    let text = this.s.slice(start, end);
    if (HIGH_BYTE.test(text)) {
      try {
        text = UTF8.decode(this.bytes.subarray(start, end));
      } catch {
        return false;
      }
    }
    if (LEFT_TO_EXACT.test(text)) return false;
    const decoded = text.includes('&') ? decodeEntities(text) : text;
    if (decoded === undefined) return false;
    if (want !== CHECK) {
      this.decoded = decoded;
      this.escaped = escapeText(decoded);
    }
    return true;
  }
}

/** What FastWalk.text() must produce: nothing (a stripped value), the escaped form, or both. */
const CHECK = 0;
const ESCAPED = 1;
const BOTH = 2;
type TextWanted = typeof CHECK | typeof ESCAPED | typeof BOTH;

/** Offset of the first special character at or after `from` (the length when none). */
function nextSpecialFrom(s: string, from: number): number {
  SPECIAL.lastIndex = from;
  // test() rather than exec(): no match object to allocate; the match is one character long.
  return SPECIAL.test(s) ? SPECIAL.lastIndex - 1 : s.length;
}

/** `&amp;`, `&lt;` or `&gt;` at `at`. */
function isBasicEntityAt(s: string, at: number): boolean {
  if (s.charCodeAt(at) !== 0x26 /* & */) return false;
  const c1 = s.charCodeAt(at + 1);
  if (c1 === 0x61 /* a */) {
    return (
      s.charCodeAt(at + 2) === 0x6d &&
      s.charCodeAt(at + 3) === 0x70 &&
      s.charCodeAt(at + 4) === 0x3b
    );
  }
  return (
    (c1 === 0x6c /* l */ || c1 === 0x67) /* g */ &&
    s.charCodeAt(at + 2) === 0x74 &&
    s.charCodeAt(at + 3) === 0x3b
  );
}

/** Replaces the references decodeEntity accepts; undefined at any other '&' or a refused character. */
function decodeEntities(text: string): string | undefined {
  const parts: string[] = [];
  let last = 0;
  for (let amp = text.indexOf('&'); amp !== -1; amp = text.indexOf('&', last)) {
    ENTITY.lastIndex = amp;
    const m = ENTITY.exec(text);
    if (m === null) return undefined;
    let ch: string | undefined;
    for (let k = 0; k < 5 && ch === undefined; k++)
      if (m[k + 1] !== undefined) ch = NAMED_ENTITY[k];
    if (ch === undefined) {
      const code = m[6] !== undefined ? parseInt(m[6], 16) : parseInt(m[7] ?? '', 10);
      if (!isXmlChar(code)) return undefined;
      ch = String.fromCodePoint(code);
    }
    parts.push(text.slice(last, amp), ch);
    last = ENTITY.lastIndex;
  }
  parts.push(text.slice(last));
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// The exact walk

/**
 * XmlPlistParser.parseDocument and parseTree step for step (keep them in sync): every check and
 * message is the parser's, on its scanner; only what happens to values differs.
 */
class ExactWalk {
  /** Set by readText: the text just read, escaped as the builder escapes it. */
  private escaped = '';

  constructor(
    private readonly p: XmlPlistParser,
    private readonly w: FragmentWriter,
  ) {}

  /** False when the root is not a dict (found before anything after its start tag is read). */
  run(): boolean {
    const p = this.p;
    p.skipProlog();
    if (p.pos >= p.n) throw p.fail(p.n, 'no root element (empty document)');
    if (!this.walkTree()) return false;
    p.skipMisc('epilog');
    if (p.pos < p.n) throw p.fail(p.pos, 'content after the root element');
    return true;
  }

  private walkTree(): boolean {
    const p = this.p;
    const w = this.w;
    const s = p.s;
    const n = p.n;
    const stack: Frame[] = [];
    let depth = 0;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        p.skipMisc(top.kind);
        if (p.pos >= n) throw p.truncated(top.openAt, top.kind);
      }
      const lt = p.pos;

      /** The finished value, for a VALUE slot only. */
      let value: PlistValue | undefined;
      if (s.charCodeAt(lt + 1) === 0x2f /* / */) {
        if (top === undefined) throw p.fail(lt, 'a closing tag before any element');
        const closeTag = CLOSE_TAG[top.kind];
        if (s.startsWith(closeTag, lt)) p.pos = lt + closeTag.length;
        else p.endTagSlow(lt, top.kind, top.openAt);
        stack.pop();
        if (top.kind === 'array') {
          depth--;
          if (top.mode === EMIT) w.closeArray(top);
          else value = top.items;
        } else if (top.kind === 'dict') {
          depth--;
          if (top.key !== undefined) {
            throw p.fail(top.keyAt, `<key>${top.key}</key> has no value`);
          }
          if (top.mode === EMIT) w.closeDict(top);
          else value = top.dict;
        } else if (!top.hasValue) {
          throw p.fail(lt, '<plist> holds no value');
        }
      } else {
        const kind = p.readStartTag(lt, top);
        const isEmpty = p.isEmptyTag;
        if (kind === 'key') {
          if (top?.kind !== 'dict') throw p.fail(lt, '<key> is only allowed inside <dict>');
          if (top.key !== undefined) {
            throw p.fail(top.keyAt, `<key>${top.key}</key> has no value`);
          }
          if (top.mode === EMIT) {
            const key = isEmpty ? '' : this.readText('key', lt);
            w.key(top, key, isEmpty ? '' : this.escaped);
          } else {
            top.key = isEmpty ? '' : p.readText('key', lt);
          }
          top.keyAt = lt;
          continue;
        }
        if (top !== undefined) {
          if (top.kind === 'dict' && top.key === undefined) {
            throw p.fail(lt, `<${kind}> inside <dict> has no <key> before it`);
          }
          if (top.kind === 'plist' && top.hasValue) {
            throw p.fail(lt, '<plist> holds more than one value');
          }
        }
        const isRoot = top === undefined || top.kind === 'plist';
        const mode = top === undefined ? EMIT : top.childMode;
        const level = top === undefined ? 1 : top.level + 1;
        switch (kind) {
          case 'dict':
          case 'array':
            if (depth >= p.maxDepth) {
              throw p.fail(lt, `nesting deeper than ${p.maxDepth} arrays/dicts`);
            }
            if (isRoot && kind !== 'dict') return false;
            if (!isEmpty) {
              depth++;
              stack.push(w.open(kind, lt, mode, level, isRoot));
              continue;
            }
            if (mode === VALUE) value = kind === 'dict' ? {} : [];
            else if (mode === EMIT) w.out += (kind === 'dict' ? EMPTY_DICT : EMPTY_ARRAY).at(level);
            break;
          case 'plist':
            if (top !== undefined) throw p.fail(lt, '<plist> is only allowed as the root');
            if (isEmpty) throw p.fail(lt, '<plist> holds no value');
            // The wrapper is not written: its value, the root, is at level 0 + 1.
            stack.push(new Frame('plist', lt, EMIT, 0, false));
            continue;
          default:
            if (isRoot) return false;
            if (mode === EMIT) this.emitScalar(kind, lt, isEmpty, level);
            else if (mode === SKIP) this.skipScalar(kind, lt, isEmpty);
            else value = this.readValue(kind, lt, isEmpty);
        }
      }

      const parent = stack[stack.length - 1];
      if (parent === undefined) return true;
      w.handOff(parent, value);
    }
  }

  /** Writes a scalar's canonical element, reading and checking it as readScalar would. */
  private emitScalar(kind: ElementKind, lt: number, isEmpty: boolean, level: number): void {
    const p = this.p;
    const w = this.w;
    switch (kind) {
      case 'string':
        if (isEmpty) w.out += STRING.at(level) + '</string>\n';
        else {
          this.readText('string', lt);
          w.out += STRING.at(level) + this.escaped + '</string>\n';
        }
        return;
      case 'integer': {
        const v = (isEmpty ? undefined : p.readIntegerFast()) ?? p.readScalar(kind, lt);
        // Integers come back as safe-integer numbers or bigints: String() gives plistlib's digits.
        w.out += INTEGER.at(level) + String(v) + '</integer>\n';
        return;
      }
      case 'date':
        w.out += DATE.at(level) + this.readDateText(lt, isEmpty) + '</date>\n';
        return;
      case 'real':
        // A PlistReal: Number() unwraps it.
        w.out += REAL.at(level) + formatReal(Number(p.readScalar(kind, lt))) + '</real>\n';
        return;
      case 'true':
      case 'false':
        p.readScalar(kind, lt); // only to refuse text inside
        w.out += (kind === 'true' ? TRUE : FALSE).at(level);
        return;
      default:
        // <data> is rare in pkginfos: let the builder lay out its base64 lines.
        w.out += buildPlistFragment(p.readScalar(kind, lt), level);
    }
  }

  /** Reads and checks a scalar of a stripped value, making no object the check does not need. */
  private skipScalar(kind: ElementKind, lt: number, isEmpty: boolean): void {
    const p = this.p;
    if (kind === 'string') {
      if (!isEmpty) p.readText('string', lt);
    } else if (kind === 'integer') {
      if ((isEmpty ? undefined : p.readIntegerFast()) === undefined) p.readScalar(kind, lt);
    } else if (kind === 'date') {
      this.readDateText(lt, isEmpty);
    } else {
      p.readScalar(kind, lt);
    }
  }

  /** A scalar exactly as the parser makes it. */
  private readValue(kind: ElementKind, lt: number, isEmpty: boolean): PlistValue {
    const p = this.p;
    if (kind === 'string') return isEmpty ? '' : p.readText('string', lt);
    if (kind === 'integer') {
      return (isEmpty ? undefined : p.readIntegerFast()) ?? p.readScalar(kind, lt);
    }
    return p.readScalar(kind, lt);
  }

  /**
   * readScalar's date case without the Date: the trimmed text, checked as parseDate checks it.
   * For a valid date that text is also exactly what the builder writes back.
   */
  private readDateText(lt: number, isEmpty: boolean): string {
    const text = isEmpty ? '' : this.p.readText('date', lt);
    const t = trimXmlSpace(text);
    if (!isPlistDateText(t)) {
      throw this.p.fail(lt, `<date>${text}</date> is not a date like 2020-01-31T12:00:00Z`);
    }
    return t;
  }

  /**
   * XmlPlistParser.readText (keep in sync), also leaving the escaped form in `escaped`. On the
   * fast path the raw text has no '&', '<', CR or other special character, so a '>' is all there
   * is to escape, found with one indexOf that stops at the end tag's '>' at the latest.
   */
  private readText(kind: 'key' | 'string', openAt: number): string {
    const p = this.p;
    const s = p.s;
    const start = p.pos;
    const lt = s.indexOf('<', start);
    if (lt === -1) throw p.truncated(openAt, kind);
    const closeTag = CLOSE_TAG[kind];
    if (s.startsWith(closeTag, lt)) {
      p.pos = lt + closeTag.length;
      if (p.nextSpecial < start) p.findNextSpecial(start);
      if (p.nextSpecial >= lt) {
        const text = kind === 'key' ? p.cachedSlice(start, lt) : s.slice(start, lt);
        this.escaped = s.indexOf('>', start) < lt ? text.replaceAll('>', '&gt;') : text;
        return text;
      }
      const decoded = p.decodeSpecial(start, lt);
      this.escaped = escapeText(decoded);
      return decoded;
    }
    const decoded = p.readTextSlow(kind, openAt, start);
    this.escaped = escapeText(decoded);
    return decoded;
  }
}

// ---------------------------------------------------------------------------------------------
// Dates

/**
 * parseDate's acceptance test without making a Date: `YYYY-MM-DDTHH:MM:SSZ` exactly, month 1–12,
 * a day that exists in that month of the proleptic Gregorian calendar (as JS Date counts), hours
 * ≤ 23, minutes and seconds ≤ 59.
 */
export function isPlistDateText(t: string): boolean {
  if (
    t.length !== 20 ||
    t.charCodeAt(4) !== 0x2d /* - */ ||
    t.charCodeAt(7) !== 0x2d ||
    t.charCodeAt(10) !== 0x54 /* T */ ||
    t.charCodeAt(13) !== 0x3a /* : */ ||
    t.charCodeAt(16) !== 0x3a ||
    t.charCodeAt(19) !== 0x5a /* Z */
  ) {
    return false;
  }
  const y = digitsAt(t, 0, 4);
  const mo = digitsAt(t, 5, 2);
  const d = digitsAt(t, 8, 2);
  const h = digitsAt(t, 11, 2);
  const mi = digitsAt(t, 14, 2);
  const se = digitsAt(t, 17, 2);
  if ((y | mo | d | h | mi | se) < 0) return false;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return false;
  return d <= daysInMonth(y, mo);
}

/** The value of `count` ASCII digits at `at`, or -1 if any is not a digit. */
function digitsAt(t: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = t.charCodeAt(i) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}
