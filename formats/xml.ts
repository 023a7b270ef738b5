/**
 * A small, deliberately limited XML reader for the documents inside flat packages: the xar TOC,
 * PackageInfo and Distribution. It builds a light element tree and refuses everything a package
 * has no business using: DTD internal subsets, entities beyond the five predefined ones and numeric
 * references, and nesting deeper than a bound. Truncated documents are errors, never partial trees.
 * (Property lists have their own specialised parser in `plist-*.ts`.)
 */
import { AppError, type ErrorCode } from '../lib/errors.js';

/** One element: its attributes, child elements in document order, and its own text (CDATA included). */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's direct character data, entities decoded, not trimmed. */
  readonly text: string;
}

/** Options for `parseXml`. */
export interface XmlParseOptions {
  /** Names the document in error messages, e.g. `PackageInfo` or `xar TOC`. */
  what?: string;
  /** Deepest element nesting accepted (default 256). */
  maxDepth?: number;
  /** Error code thrown on malformed input (default ARCHIVE_INVALID, as every caller reads archives). */
  errorCode?: ErrorCode;
}

interface MutableElement {
  name: string;
  attributes: Record<string, string>;
  children: MutableElement[];
  text: string;
}

const DEFAULT_MAX_DEPTH = 256;
// Permissive on purpose: any non-ASCII character may appear in a name, as XML 1.0 allows most.
const NAME = /[A-Za-z_:\u0080-\uffff][\w.:\-\u0080-\uffff]*/y;
const WHITESPACE = /[ \t\r\n]*/y;
const PREDEFINED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

/** Parses an XML document (string, or bytes in UTF-8/UTF-16/a declared encoding) into its root element. */
export function parseXml(input: string | Uint8Array, options: XmlParseOptions = {}): XmlElement {
  const what = options.what ?? 'XML document';
  const code = options.errorCode ?? 'ARCHIVE_INVALID';
  const text = typeof input === 'string' ? input : decodeXmlBytes(input, what, code);
  return new XmlParser(text, what, code, options.maxDepth ?? DEFAULT_MAX_DEPTH).parse();
}

/** The first child element called `name`, if any. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** All child elements called `name`, in document order. */
export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el === undefined ? [] : el.children.filter((c) => c.name === name);
}

/** All descendant elements called `name` at any depth, in document order (the element itself excluded). */
export function descendants(el: XmlElement | undefined, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const visit = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.name === name) found.push(c);
      visit(c);
    }
  };
  if (el !== undefined) visit(el);
  return found;
}

/** The element's text with surrounding whitespace trimmed; undefined when the element is absent. */
export function textOf(el: XmlElement | undefined): string | undefined {
  return el === undefined ? undefined : el.text.trim();
}

/** The value of attribute `name`, if present. */
export function attribute(el: XmlElement | undefined, name: string): string | undefined {
  if (el === undefined || !Object.hasOwn(el.attributes, name)) return undefined;
  return el.attributes[name];
}

/** Turns document bytes into text: BOMs first, then the declared encoding, UTF-8 by default. */
function decodeXmlBytes(bytes: Uint8Array, what: string, code: ErrorCode): string {
  let label = 'utf-8';
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    start = 3;
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    label = 'utf-16be';
    start = 2;
  } else if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    label = 'utf-16le';
    start = 2;
  } else {
    // The declaration is ASCII by construction, so peek at it as latin1 before choosing a decoder.
    const head = new TextDecoder('latin1').decode(bytes.subarray(0, 256));
    const declared = /^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1];
    if (declared !== undefined && !/^(utf-?8|us-ascii|ascii)$/i.test(declared)) label = declared;
  }
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new AppError(code, `${what}: unsupported character encoding "${label}"`);
  }
  try {
    return decoder.decode(bytes.subarray(start));
  } catch {
    throw new AppError(code, `${what}: the bytes are not valid ${label}`);
  }
}

class XmlParser {
  private pos = 0;
  private readonly stack: MutableElement[] = [];
  private root: MutableElement | undefined;

  constructor(
    private readonly src: string,
    private readonly what: string,
    private readonly code: ErrorCode,
    private readonly maxDepth: number,
  ) {}

  parse(): XmlElement {
    const s = this.src;
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
    while (this.pos < s.length) {
      const lt = s.indexOf('<', this.pos);
      const end = lt === -1 ? s.length : lt;
      if (end > this.pos) this.characters(s.slice(this.pos, end), this.pos);
      if (lt === -1) break;
      this.pos = lt;
      if (s.startsWith('<!--', lt)) this.skipPast('-->', lt + 4, 'comment');
      else if (s.startsWith('<![CDATA[', lt)) this.cdata();
      else if (s.startsWith('<?', lt)) this.skipPast('?>', lt + 2, 'processing instruction');
      else if (s.startsWith('<!DOCTYPE', lt)) this.doctype();
      else if (s.startsWith('<!', lt)) this.fail('unexpected markup declaration', lt);
      else if (s.startsWith('</', lt)) this.endTag();
      else this.startTag();
    }
    const open = this.stack.at(-1);
    if (open !== undefined) {
      this.fail(`unexpected end of document: <${open.name}> is not closed`, s.length);
    }
    if (this.root === undefined) this.fail('no root element', s.length);
    return this.root;
  }

  private characters(raw: string, at: number): void {
    const top = this.stack.at(-1);
    if (top === undefined) {
      if (!/^[ \t\r\n]*$/.test(raw)) {
        this.fail(this.root ? 'text after the root element' : 'text before the root element', at);
      }
      return;
    }
    top.text += this.decodeEntities(raw, at);
  }

  private cdata(): void {
    const at = this.pos;
    const top = this.stack.at(-1);
    if (top === undefined) this.fail('CDATA section outside the root element', at);
    const end = this.src.indexOf(']]>', at + 9);
    if (end === -1) this.fail('unterminated CDATA section', at);
    top.text += this.src.slice(at + 9, end);
    this.pos = end + 3;
  }

  private skipPast(terminator: string, from: number, what: string): void {
    const end = this.src.indexOf(terminator, from);
    if (end === -1) this.fail(`unterminated ${what}`, this.pos);
    this.pos = end + terminator.length;
  }

  /** Skips an external DOCTYPE; refuses an internal subset, whose entities we will not expand. */
  private doctype(): void {
    const at = this.pos;
    if (this.root !== undefined || this.stack.length > 0)
      this.fail('DOCTYPE after the root element', at);
    let quote = '';
    for (let i = at + 9; i < this.src.length; i++) {
      const c = this.src[i];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === '[') {
        this.fail('DTD internal subsets are not supported', i);
      } else if (c === '>') {
        this.pos = i + 1;
        return;
      }
    }
    this.fail('unterminated DOCTYPE', at);
  }

  private startTag(): void {
    const at = this.pos;
    this.pos++;
    const name = this.name('element name');
    if (this.root !== undefined && this.stack.length === 0) {
      this.fail(`second root element <${name}>`, at);
    }
    if (this.stack.length >= this.maxDepth) {
      this.fail(`elements nested deeper than ${this.maxDepth}`, at);
    }
    // Null prototype: an attribute called __proto__ must stay data, never reach Object.prototype.
    const attributes = Object.create(null) as Record<string, string>;
    for (;;) {
      const hadSpace = this.whitespace();
      const c = this.src[this.pos];
      if (c === undefined) this.fail(`unexpected end of document inside <${name}>`, this.pos);
      if (c === '>' || (c === '/' && this.src[this.pos + 1] === '>')) break;
      if (!hadSpace) this.fail(`expected whitespace before an attribute in <${name}>`, this.pos);
      const attrAt = this.pos;
      const attr = this.name('attribute name');
      this.whitespace();
      if (this.src[this.pos] !== '=')
        this.fail(`attribute ${attr} in <${name}> has no value`, this.pos);
      this.pos++;
      this.whitespace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") {
        this.fail(`attribute ${attr} in <${name}> is not quoted`, this.pos);
      }
      const close = this.src.indexOf(quote, this.pos + 1);
      if (close === -1) this.fail(`unterminated value of attribute ${attr} in <${name}>`, this.pos);
      const raw = this.src.slice(this.pos + 1, close);
      if (raw.includes('<')) this.fail(`"<" inside attribute ${attr} of <${name}>`, this.pos);
      if (Object.hasOwn(attributes, attr)) {
        this.fail(`duplicate attribute ${attr} in <${name}>`, attrAt);
      }
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal whitespace becomes a space.
      attributes[attr] = this.decodeEntities(raw.replace(/[\t\r\n]/g, ' '), this.pos + 1);
      this.pos = close + 1;
    }
    const element: MutableElement = { name, attributes, children: [], text: '' };
    const parent = this.stack.at(-1);
    if (parent === undefined) this.root = element;
    else parent.children.push(element);
    if (this.src[this.pos] === '/') {
      this.pos += 2;
    } else {
      this.pos += 1;
      this.stack.push(element);
    }
  }

  private endTag(): void {
    const at = this.pos;
    this.pos += 2;
    const name = this.name('end tag name');
    this.whitespace();
    if (this.src[this.pos] !== '>') {
      this.fail(
        this.pos >= this.src.length ? 'unexpected end of document' : `malformed end tag </${name}>`,
        this.pos,
      );
    }
    this.pos++;
    const open = this.stack.pop();
    if (open === undefined) this.fail(`end tag </${name}> without a start tag`, at);
    if (open.name !== name) this.fail(`end tag </${name}> does not match <${open.name}>`, at);
  }

  private name(what: string): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.src);
    if (m === null) {
      this.fail(
        this.pos >= this.src.length ? 'unexpected end of document' : `bad ${what}`,
        this.pos,
      );
    }
    this.pos = NAME.lastIndex;
    return m[0];
  }

  /** Skips whitespace; reports whether there was any. */
  private whitespace(): boolean {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.src);
    const moved = WHITESPACE.lastIndex > this.pos;
    this.pos = WHITESPACE.lastIndex;
    return moved;
  }

  private decodeEntities(raw: string, at: number): string {
    if (raw.includes('\0')) this.fail('NUL character in document', at + raw.indexOf('\0'));
    let amp = raw.indexOf('&');
    if (amp === -1) return raw;
    let out = '';
    let last = 0;
    while (amp !== -1) {
      const semi = raw.indexOf(';', amp + 1);
      if (semi === -1 || semi - amp > 12) this.fail('"&" that does not start an entity', at + amp);
      const ref = raw.slice(amp + 1, semi);
      out += raw.slice(last, amp) + this.entity(ref, at + amp);
      last = semi + 1;
      amp = raw.indexOf('&', last);
    }
    return out + raw.slice(last);
  }

  private entity(ref: string, at: number): string {
    const named = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
    if (named !== undefined) return named;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (m === null) this.fail(`unknown entity &${ref};`, at);
    const cp = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
    const valid =
      cp === 0x9 ||
      cp === 0xa ||
      cp === 0xd ||
      (cp >= 0x20 && cp <= 0xd7ff) ||
      (cp >= 0xe000 && cp <= 0xfffd) ||
      (cp >= 0x10000 && cp <= 0x10ffff);
    if (!valid) this.fail(`character reference &${ref}; is not an XML character`, at);
    return String.fromCodePoint(cp);
  }

  private fail(message: string, at: number): never {
    const before = this.src.slice(0, Math.min(at, this.src.length));
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new AppError(this.code, `${this.what}: ${message} (line ${line}, column ${column})`);
  }
}
