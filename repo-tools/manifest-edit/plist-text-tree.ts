/**
 * Where each element of an XML property list sits in its text: offsets of every dict entry and
 * array item, so an edit can splice the text instead of rewriting the file. It only locates; the
 * values themselves come from formats/ (parsePlist), and every edit is checked by parsing the
 * result again, so this scanner may be lenient: anything it does not understand makes it return
 * undefined and the caller falls back to writing the whole plist.
 */

/** A located element. `start` is its `<`, `end` just past its last `>`. */
interface NodeBase {
  start: number;
  end: number;
}

/** A `<dict>` or `<array>`: where its start tag ends and its end tag begins. */
interface ContainerBase extends NodeBase {
  /** Just past the start tag's `>`; equals `end` for `<dict/>`. */
  openEnd: number;
  /** The `<` of the end tag; equals `end` for `<dict/>`. */
  closeStart: number;
  isEmptyTag: boolean;
}

/** One `<key>` and the value after it. */
export interface DictEntryNode {
  key: string;
  keyNode: NodeBase;
  value: PlistTextNode;
}

/** A located `<dict>`. */
export interface DictNode extends ContainerBase {
  kind: 'dict';
  entries: DictEntryNode[];
}

/** A located `<array>`. */
export interface ArrayNode extends ContainerBase {
  kind: 'array';
  items: PlistTextNode[];
}

/** A located scalar; `text` is set for `<string>`. */
export interface ScalarNode extends NodeBase {
  kind: 'scalar';
  text?: string;
}

/** Any located element. */
export type PlistTextNode = DictNode | ArrayNode | ScalarNode;

const SCALARS = new Set(['string', 'integer', 'real', 'date', 'data', 'true', 'false']);
const ENTITIES: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

class Unlocatable extends Error {}

/** Locates the root value of an XML plist (`<plist>` wrapped or a bare root element). */
export function locatePlistText(text: string): PlistTextNode | undefined {
  try {
    return new Locator(text).document();
  } catch (e) {
    // A bad character reference (&#x110000;) is the parser's to report, not ours.
    if (e instanceof Unlocatable || e instanceof RangeError) return undefined;
    throw e;
  }
}

class Locator {
  private pos = 0;

  constructor(private readonly s: string) {
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  document(): PlistTextNode {
    this.misc();
    const { name, start, isEmptyTag } = this.startTag();
    if (name !== 'plist') return this.element(name, start, isEmptyTag);
    if (isEmptyTag) throw new Unlocatable();
    this.misc();
    const tag = this.startTag();
    const root = this.element(tag.name, tag.start, tag.isEmptyTag);
    this.misc();
    this.endTag('plist');
    return root;
  }

  /** Skips whitespace, comments, processing instructions and a DOCTYPE. */
  private misc(): void {
    const s = this.s;
    for (;;) {
      while (this.pos < s.length && ' \t\r\n'.includes(s[this.pos]!)) this.pos++;
      if (s.startsWith('<!--', this.pos)) this.pos = this.after('-->', this.pos + 4);
      else if (s.startsWith('<?', this.pos)) this.pos = this.after('?>', this.pos + 2);
      else if (s.startsWith('<!DOCTYPE', this.pos)) {
        // A DOCTYPE with an internal subset is beyond what manifests use.
        const close = s.indexOf('>', this.pos);
        if (close < 0 || s.slice(this.pos, close).includes('[')) throw new Unlocatable();
        this.pos = close + 1;
      } else return;
    }
  }

  private after(marker: string, from: number): number {
    const at = this.s.indexOf(marker, from);
    if (at < 0) throw new Unlocatable();
    return at + marker.length;
  }

  private startTag(): { name: string; start: number; isEmptyTag: boolean } {
    const m = /<([A-Za-z]+)(?:\s+[^<>]*?)?\s*(\/?)>/y;
    m.lastIndex = this.pos;
    const match = m.exec(this.s);
    if (!match) throw new Unlocatable();
    const start = this.pos;
    this.pos = m.lastIndex;
    return { name: match[1]!, start, isEmptyTag: match[2] === '/' };
  }

  private endTag(name: string): number {
    const m = new RegExp(`</${name}\\s*>`, 'y');
    m.lastIndex = this.pos;
    if (!m.exec(this.s)) throw new Unlocatable();
    const start = this.pos;
    this.pos = m.lastIndex;
    return start;
  }

  private element(name: string, start: number, isEmptyTag: boolean): PlistTextNode {
    if (name === 'dict' || name === 'array') return this.container(name, start, isEmptyTag);
    if (!SCALARS.has(name)) throw new Unlocatable();
    if (isEmptyTag) return { kind: 'scalar', start, end: this.pos, text: '' };
    const text = this.content(name);
    return { kind: 'scalar', start, end: this.pos, text };
  }

  private container(name: 'dict' | 'array', start: number, isEmptyTag: boolean): PlistTextNode {
    const openEnd = this.pos;
    const children: PlistTextNode[] = [];
    const keys: { key: string; node: NodeBase }[] = [];
    if (!isEmptyTag) {
      for (;;) {
        this.misc();
        if (this.s.startsWith('</', this.pos)) break;
        const tag = this.startTag();
        if (name === 'dict') {
          if (tag.name !== 'key') throw new Unlocatable();
          const key = tag.isEmptyTag ? '' : this.content('key');
          keys.push({ key, node: { start: tag.start, end: this.pos } });
          this.misc();
          const value = this.startTag();
          children.push(this.element(value.name, value.start, value.isEmptyTag));
        } else {
          children.push(this.element(tag.name, tag.start, tag.isEmptyTag));
        }
      }
    }
    const closeStart = isEmptyTag ? this.pos : this.endTag(name);
    const base = { start, end: this.pos, openEnd, closeStart, isEmptyTag };
    if (name === 'array') return { kind: 'array', ...base, items: children };
    return {
      kind: 'dict',
      ...base,
      entries: keys.map((k, i) => ({ key: k.key, keyNode: k.node, value: children[i]! })),
    };
  }

  /** Reads character data up to `</name>`, with CDATA, comments and entities. */
  private content(name: string): string {
    const s = this.s;
    let out = '';
    for (;;) {
      const lt = s.indexOf('<', this.pos);
      if (lt < 0) throw new Unlocatable();
      out += decodeEntities(s.slice(this.pos, lt));
      this.pos = lt;
      if (s.startsWith('<![CDATA[', lt)) {
        const end = this.after(']]>', lt + 9);
        out += s.slice(lt + 9, end - 3);
        this.pos = end;
      } else if (s.startsWith('<!--', lt)) {
        this.pos = this.after('-->', lt + 4);
      } else {
        this.endTag(name);
        return out.replace(/\r\n?/g, '\n');
      }
    }
  }
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}
