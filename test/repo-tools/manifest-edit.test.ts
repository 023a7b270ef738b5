/**
 * Editing plist text in place: each edit changes only the lines it must, in the file's own
 * indentation and line endings, and the result always parses to the intended value.
 */
import { describe, expect, it } from 'vitest';
import { buildBinaryPlist, buildPlist, parsePlist } from '../../formats/index.js';
import { EditablePlist } from '../../repo-tools/manifest-edit/editable-plist.js';

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

const open = (text: string): EditablePlist =>
  EditablePlist.open(new TextEncoder().encode(text), 'test');

function edited(text: string, edit: (doc: EditablePlist) => void): string {
  const doc = open(text);
  edit(doc);
  const out = doc.serialize();
  expect(out.isFormattingKept).toBe(true);
  expect(parsePlist(out.text)).toEqual(doc.value);
  return out.text;
}

const plistlib = buildPlist({ catalogs: ['production'], managed_installs: ['Firefox'] });

describe('EditablePlist', () => {
  it('appends an array item as one new line in the siblings indentation', () => {
    const out = edited(plistlib, (d) => d.insertItem(['managed_installs'], 'Chrome'));
    expect(out).toBe(
      plistlib.replace(
        '\t\t<string>Firefox</string>\n',
        '\t\t<string>Firefox</string>\n\t\t<string>Chrome</string>\n',
      ),
    );
  });

  it('inserts at the top of an array', () => {
    const out = edited(plistlib, (d) => d.insertItem(['catalogs'], 'testing', 0));
    expect(out).toBe(
      plistlib.replace(
        '\t\t<string>production</string>',
        '\t\t<string>testing</string>\n\t\t<string>production</string>',
      ),
    );
  });

  it('removes an item by deleting exactly its line', () => {
    const text =
      HEADER +
      '<dict>\n\t<key>managed_installs</key>\n\t<array>\n\t\t<string>A</string>\n\t\t<string>B</string>\n\t</array>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.removeItem(['managed_installs'], 0))).toBe(
      text.replace('\t\t<string>A</string>\n', ''),
    );
  });

  it('keeps two-space indentation written by hand', () => {
    const text =
      HEADER +
      '<dict>\n  <key>managed_installs</key>\n  <array>\n    <string>A</string>\n  </array>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.insertItem(['managed_installs'], 'B'))).toBe(
      text.replace('    <string>A</string>\n', '    <string>A</string>\n    <string>B</string>\n'),
    );
  });

  it('keeps CRLF line endings', () => {
    const text = (
      HEADER +
      '<dict>\n\t<key>managed_installs</key>\n\t<array>\n\t\t<string>A</string>\n\t</array>\n</dict>\n</plist>\n'
    ).replace(/\n/g, '\r\n');
    const out = edited(text, (d) => d.insertItem(['managed_installs'], 'B'));
    expect(out).toBe(
      text.replace('<string>A</string>\r\n', '<string>A</string>\r\n\t\t<string>B</string>\r\n'),
    );
  });

  it('opens up an empty <array/> in the file layout', () => {
    const text =
      HEADER + '<dict>\n    <key>managed_installs</key>\n    <array/>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.insertItem(['managed_installs'], 'A'))).toBe(
      HEADER +
        '<dict>\n    <key>managed_installs</key>\n    <array>\n        <string>A</string>\n    </array>\n</dict>\n</plist>\n',
    );
  });

  it('fills an empty <array></array> split over lines without touching its close tag', () => {
    const text =
      HEADER + '<dict>\n\t<key>catalogs</key>\n\t<array>\n\t</array>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.insertItem(['catalogs'], 'testing'))).toBe(
      text.replace('\t<array>\n', '\t<array>\n\t\t<string>testing</string>\n'),
    );
  });

  it('keeps an array written on one line on one line', () => {
    const text =
      HEADER +
      '<dict><key>catalogs</key><array><string>a</string> <string>b</string></array></dict>\n</plist>\n';
    expect(edited(text, (d) => d.insertItem(['catalogs'], 'c'))).toBe(
      text.replace('<string>b</string>', '<string>b</string> <string>c</string>'),
    );
  });

  it('adds a missing key at the end of a dict whose keys are not sorted', () => {
    const text =
      HEADER +
      '<dict>\n\t<key>managed_installs</key>\n\t<array/>\n\t<key>catalogs</key>\n\t<array/>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.addKey([], 'optional_installs', ['X']))).toBe(
      text.replace(
        '\t<key>catalogs</key>\n\t<array/>\n',
        '\t<key>catalogs</key>\n\t<array/>\n\t<key>optional_installs</key>\n\t<array>\n\t\t<string>X</string>\n\t</array>\n',
      ),
    );
  });

  it('adds a missing key in sorted position when the keys are sorted', () => {
    const text =
      HEADER +
      '<dict>\n\t<key>catalogs</key>\n\t<array/>\n\t<key>managed_installs</key>\n\t<array/>\n</dict>\n</plist>\n';
    const doc = open(text);
    doc.addKey([], 'included_manifests', ['base']);
    expect(Object.keys(doc.value as object)).toEqual([
      'catalogs',
      'included_manifests',
      'managed_installs',
    ]);
    expect(doc.serialize().text).toBe(
      text.replace(
        '\t<key>managed_installs</key>',
        '\t<key>included_manifests</key>\n\t<array>\n\t\t<string>base</string>\n\t</array>\n\t<key>managed_installs</key>',
      ),
    );
  });

  it('appends a dict (a conditional item) with nested indentation', () => {
    const text =
      HEADER +
      '<dict>\n  <key>conditional_items</key>\n  <array>\n    <dict>\n      <key>condition</key>\n      <string>a == 1</string>\n    </dict>\n  </array>\n</dict>\n</plist>\n';
    expect(
      edited(text, (d) =>
        d.insertItem(['conditional_items'], { condition: 'b == 2', managed_installs: ['X'] }),
      ),
    ).toBe(
      text.replace(
        '    </dict>\n',
        '    </dict>\n    <dict>\n      <key>condition</key>\n      <string>b == 2</string>\n      <key>managed_installs</key>\n      <array>\n        <string>X</string>\n      </array>\n    </dict>\n',
      ),
    );
  });

  it('escapes markup characters in new items and leaves comments where they are', () => {
    const text =
      HEADER +
      '<dict>\n\t<!-- site apps -->\n\t<key>managed_installs</key>\n\t<array>\n\t\t<string>A</string> <!-- the first -->\n\t</array>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.insertItem(['managed_installs'], 'Tom & Jerry <2>'))).toBe(
      text.replace(
        '<!-- the first -->\n',
        '<!-- the first -->\n\t\t<string>Tom &amp; Jerry &lt;2&gt;</string>\n',
      ),
    );
  });

  it('edits a bare <dict> root without a <plist> element, as old repos wrote them', () => {
    const text =
      '<dict>\n\t\t<key>managed_installs</key>\n\t\t<array>\n\t\t\t<string>A</string>\n\t\t</array>\n</dict>\n';
    expect(edited(text, (d) => d.insertItem(['managed_installs'], 'B'))).toBe(
      text.replace(
        '\t\t\t<string>A</string>\n',
        '\t\t\t<string>A</string>\n\t\t\t<string>B</string>\n',
      ),
    );
  });

  it('rewrites a binary plist as XML and says the formatting was not kept', () => {
    const doc = EditablePlist.open(buildBinaryPlist({ managed_installs: ['A'] }), 'bin');
    doc.insertItem(['managed_installs'], 'B');
    const out = doc.serialize();
    expect(out.isFormattingKept).toBe(false);
    expect(out.text).toBe(buildPlist({ managed_installs: ['A', 'B'] }));
  });

  it('reads the value of the last of duplicate keys and edits that one', () => {
    const text =
      HEADER +
      '<dict>\n\t<key>k</key>\n\t<array/>\n\t<key>k</key>\n\t<array>\n\t\t<string>A</string>\n\t</array>\n</dict>\n</plist>\n';
    expect(edited(text, (d) => d.removeItem(['k'], 0))).toBe(
      text.replace('\t\t<string>A</string>\n', ''),
    );
  });
});
