import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import {
  attribute,
  child,
  children,
  descendants,
  parseXml,
  textOf,
  type XmlElement,
} from '../../formats/xml.js';

/** Runs `fn` and returns the AppError it throws (failing the test if it does not). */
function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** A plain-object view of a tree, for comparisons. */
function plain(el: XmlElement): unknown {
  return {
    name: el.name,
    attributes: { ...el.attributes },
    text: el.text,
    children: el.children.map(plain),
  };
}

describe('parseXml', () => {
  it('builds the element tree with attributes, children and direct text', () => {
    const root = parseXml('<a x="1" y=\'two\'>hi<b/>there<c k="v">inner</c></a>');
    expect(plain(root)).toEqual({
      name: 'a',
      attributes: { x: '1', y: 'two' },
      text: 'hithere',
      children: [
        { name: 'b', attributes: {}, text: '', children: [] },
        { name: 'c', attributes: { k: 'v' }, text: 'inner', children: [] },
      ],
    });
  });

  it.each([
    ['&lt;&gt;&amp;&quot;&apos;', '<>&"\''],
    ['&#65;&#x42;&#x1F600;', 'AB😀'],
    ['a &amp;amp; b', 'a &amp; b'],
  ])('decodes entities in text: %s', (raw, decoded) => {
    expect(parseXml(`<t>${raw}</t>`).text).toBe(decoded);
  });

  it('decodes entities in attribute values', () => {
    expect(parseXml('<t v="a&amp;b &lt;c&gt; &#x41;"/>').attributes.v).toBe('a&b <c> A');
  });

  it('normalises literal whitespace in attribute values to spaces', () => {
    expect(parseXml('<t v="a\tb\nc"/>').attributes.v).toBe('a b c');
  });

  it('appends CDATA sections to the text verbatim', () => {
    expect(parseXml('<t>a<![CDATA[<b>&amp;]]>c</t>').text).toBe('a<b>&amp;c');
  });

  it('skips the XML declaration, comments and processing instructions', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<!-- c1 --><r><!-- <x/> --><?pi data?><k/></r>\n<!-- end -->\n',
    );
    expect(root.children.map((c) => c.name)).toEqual(['k']);
  });

  it('tolerates an external DOCTYPE', () => {
    const root = parseXml(
      '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist/>',
    );
    expect(root.name).toBe('plist');
  });

  it('keeps an attribute called __proto__ as plain data', () => {
    const root = parseXml('<t __proto__="x" constructor="y"/>');
    expect(attribute(root, '__proto__')).toBe('x');
    expect(Object.getPrototypeOf(root.attributes)).toBeNull();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['<!DOCTYPE r [<!ENTITY e "boom">]><r>&e;</r>', /DTD internal subsets are not supported/],
    ['<r>&e;</r>', /unknown entity &e;/],
    ['<r>a & b</r>', /"&" that does not start an entity/],
    ['<r>&#0;</r>', /not an XML character/],
    ['<r>&#xD800;</r>', /not an XML character/],
    ['<r></s>', /end tag <\/s> does not match <r>/],
    ['<r a="1" a="2"/>', /duplicate attribute a/],
    ['<r a=1/>', /not quoted/],
    ['<r a="<"/>', /"<" inside attribute/],
    ['<r a="1"b="2"/>', /expected whitespace before an attribute/],
    ['text<r/>', /text before the root element/],
    ['<r/>text', /text after the root element/],
    ['<r/><s/>', /second root element <s>/],
    ['</r>', /without a start tag/],
    ['', /no root element/],
    ['<r><!-- open</r>', /unterminated comment/],
    ['<r><![CDATA[open</r>', /unterminated CDATA/],
    ['<r>\0</r>', /NUL character/],
    ['<!ELEMENT r ANY><r/>', /unexpected markup declaration/],
  ])('refuses %j', (doc, message) => {
    const e = errorOf(() => parseXml(doc));
    expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
    expect(e.message).toMatch(message);
  });

  it('rejects every truncation of a document', () => {
    const doc =
      '<?xml version="1.0"?>\n<pkg-info a="1" b=\'x &amp; y\'>\n  <payload n="3"/>\n  <t><![CDATA[z]]>&lt;</t><!-- c -->\n</pkg-info>';
    expect(() => parseXml(doc)).not.toThrow();
    for (let cut = 0; cut < doc.length; cut++) {
      expect(() => parseXml(doc.slice(0, cut)), `cut at ${cut}`).toThrow(/XML document/);
    }
  });

  it('refuses nesting deeper than maxDepth', () => {
    const deep = '<a>'.repeat(20) + '</a>'.repeat(20);
    expect(() => parseXml(deep, { maxDepth: 19 })).toThrow(/nested deeper than 19/);
    expect(parseXml(deep, { maxDepth: 20 }).name).toBe('a');
  });

  it('refuses the default depth bound of 256', () => {
    const deep = '<a>'.repeat(300) + '</a>'.repeat(300);
    expect(() => parseXml(deep)).toThrow(/nested deeper than 256/);
  });

  it('names the document and the line in errors', () => {
    expect(() => parseXml('<r>\n\n<x></r>', { what: 'PackageInfo' })).toThrow(
      /^PackageInfo: end tag <\/r> does not match <x> \(line 3, column 4\)$/,
    );
  });

  it('uses the error code it is given', () => {
    expect(
      isAppError(
        errorOf(() => parseXml('<r>', { errorCode: 'PLIST_INVALID' })),
        'PLIST_INVALID',
      ),
    ).toBe(true);
  });
});

describe('parseXml on bytes', () => {
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('decodes UTF-8 and strips a BOM', () => {
    const root = parseXml(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('<t>Café ☕</t>')]));
    expect(root.text).toBe('Café ☕');
  });

  it('decodes UTF-16LE with a BOM', () => {
    const body = Buffer.from('<t>Grüße</t>', 'utf16le');
    expect(parseXml(new Uint8Array([0xff, 0xfe, ...body])).text).toBe('Grüße');
  });

  it('honours a declared ISO-8859-1 encoding', () => {
    const bytes = Buffer.from(
      '<?xml version="1.0" encoding="ISO-8859-1"?><t>caf\xe9</t>',
      'latin1',
    );
    expect(parseXml(new Uint8Array(bytes)).text).toBe('café');
  });

  it('refuses bytes that are not valid UTF-8', () => {
    expect(() => parseXml(new Uint8Array([...utf8('<t>'), 0xc3, 0x28, ...utf8('</t>')]))).toThrow(
      /not valid utf-8/,
    );
  });

  it('refuses an unknown declared encoding', () => {
    expect(() => parseXml(utf8('<?xml version="1.0" encoding="x-klingon"?><t/>'))).toThrow(
      /unsupported character encoding "x-klingon"/,
    );
  });
});

describe('tree helpers', () => {
  const root = parseXml('<r><a id="1"> one </a><b><a id="2"/></b><a id="3"/><c/></r>');

  it('child finds the first direct child by name', () => {
    expect(attribute(child(root, 'a'), 'id')).toBe('1');
    expect(child(root, 'zzz')).toBeUndefined();
    expect(child(undefined, 'a')).toBeUndefined();
  });

  it('children lists direct children by name', () => {
    expect(children(root, 'a').map((a) => attribute(a, 'id'))).toEqual(['1', '3']);
    expect(children(undefined, 'a')).toEqual([]);
  });

  it('descendants searches every depth in document order', () => {
    expect(descendants(root, 'a').map((a) => attribute(a, 'id'))).toEqual(['1', '2', '3']);
  });

  it('textOf trims and passes undefined through', () => {
    expect(textOf(child(root, 'a'))).toBe('one');
    expect(textOf(child(root, 'zzz'))).toBeUndefined();
  });

  it('attribute returns undefined for a missing attribute', () => {
    expect(attribute(root, 'id')).toBeUndefined();
    expect(attribute(root, 'toString')).toBeUndefined();
  });
});
