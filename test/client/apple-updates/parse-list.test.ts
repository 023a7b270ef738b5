import { describe, expect, it } from 'vitest';
import {
  parseDetailFields,
  parseSizeKb,
  parseSoftwareUpdateList,
} from '../../../client/apple-updates/parse-list.js';
import { fixture } from './fake-softwareupdate.js';

const parse = async (name: string) => parseSoftwareUpdateList(await fixture(name), name);

describe('parseSoftwareUpdateList on recorded output', () => {
  it('reads the Mojave format (tab-indented "Title (Version), SizeK [recommended]")', async () => {
    const r = await parse('list-mojave-10.14.6.txt');
    expect(r.updates).toEqual([
      {
        label: 'Safari14.0MojaveAuto-14.0',
        title: 'Safari',
        version: '14.0',
        sizeKb: 67309,
        recommended: true,
        restartRequired: false,
      },
    ]);
  });

  it('reads the Catalina format with sizes in K', async () => {
    const r = await parse('list-catalina-10.15.6.txt');
    expect(r.updates).toEqual([
      {
        label: 'Safari14.0CatalinaAuto-14.0',
        title: 'Safari',
        version: '14.0',
        sizeKb: 65417,
        recommended: true,
        restartRequired: false,
      },
    ]);
  });

  it('reads two Command Line Tools entries from Catalina', async () => {
    const r = await parse('list-catalina-clt.txt');
    expect(r.updates.map((u) => [u.label, u.title, u.version, u.sizeKb])).toEqual([
      ['Command Line Tools for Xcode-11.2', 'Command Line Tools for Xcode', '11.2', 224942],
      ['Command Line Tools for Xcode-11.3', 'Command Line Tools for Xcode', '11.3', 224878],
    ]);
  });

  it('reads Big Sur without the banner, with Action: restart and a trailing ", "', async () => {
    const r = await parse('list-bigsur-11.0.1.txt');
    expect(r.updates).toEqual([
      {
        label: 'macOS Big Sur 11.1 Beta 2-20C5061b',
        title: 'macOS Big Sur 11.1 Beta 2',
        version: '11.1',
        sizeKb: 2746951,
        recommended: true,
        restartRequired: true,
      },
    ]);
  });

  it('reads KiB sizes and keeps three Ventura entries in order', async () => {
    const r = await parse('list-ventura-with-sonoma.txt');
    expect(r.updates.map((u) => [u.label, u.sizeKb, u.restartRequired])).toEqual([
      ['Safari17.0VenturaAuto-17.0', 161835, false],
      ['macOS Ventura 13.6-22G120', 594108, true],
      ['macOS Sonoma 14.0-23A344', 4404034, true],
    ]);
  });

  it('keeps an "XType: Using static font registry." line as a note, not an update', async () => {
    const r = await parse('list-ventura-xtype.txt');
    expect(r.updates.map((u) => u.label)).toEqual(['Safari17.3.1VenturaAuto-17.3.1']);
    expect(r.notes).toEqual([
      '2024-02-12 07:12:07.968 softwareupdate[91464:9805959] XType: Using static font registry.',
    ]);
  });

  it('reads past "XType: com.apple.fonts is not accessible." and mixed K/KiB sizes', async () => {
    const r = await parse('list-monterey-xtype-not-accessible.txt');
    expect(r.updates.map((u) => [u.title, u.version, u.sizeKb])).toEqual([
      ['Safari', '17.6', 152370],
      ['macOS Monterey 12.7.6', '12.7.6', 1765616],
      ['macOS Sonoma 14.6.1', '14.6.1', 6327722],
    ]);
    expect(r.notes.some((n) => n.endsWith('XType: com.apple.fonts is not accessible.'))).toBe(true);
  });

  it('reads Sequoia and Tahoe listings', async () => {
    expect((await parse('list-sequoia-15.3.txt')).updates[0]?.label).toBe(
      'macOS Sequoia 15.3-24D60',
    );
    const tahoe = await parse('list-tahoe-26.5.txt');
    expect(tahoe.updates.map((u) => u.title)).toEqual([
      'Command Line Tools for Xcode 26.5',
      'macOS Tahoe 26.5',
    ]);
  });

  it('reads "No new software available." as an empty listing', async () => {
    const r = await parse('list-no-new-software.txt');
    expect(r).toMatchObject({ updates: [], noUpdates: true });
  });
});

describe('parseSoftwareUpdateList on bad output', () => {
  it.each([
    ['garbage', 'segmentation fault: 11\n'],
    ['nothing at all', ''],
    ['an HTML error page', '<html><body>503</body></html>\n'],
  ])('refuses %s, naming the source', (_what, text) => {
    expect(() => parseSoftwareUpdateList(text, '/usr/sbin/softwareupdate --list')).toThrow(
      /^\/usr\/sbin\/softwareupdate --list: output is not a software update listing/,
    );
  });

  it('refuses an entry whose detail line it cannot read', () => {
    const text =
      'Software Update found the following new or updated software:\n* Label: Foo-1.0\n\tsomething else\n';
    expect(() => parseSoftwareUpdateList(text)).toThrow(
      /cannot read the update entry "\* Label: Foo-1.0/,
    );
  });

  it('takes "No updates are available." (Sierra and earlier) as empty too', () => {
    const text =
      'Software Update Tool\nCopyright 2002-2015 Apple Inc.\n\nFinding available software\nNo updates are available.\n';
    expect(parseSoftwareUpdateList(text).noUpdates).toBe(true);
  });
});

describe('parseDetailFields', () => {
  it.each([
    [
      'a title with a comma and colons',
      'Title: Pro Video Formats, Codecs: 2.2, Version: 2.2.5, Size: 67584K, Recommended: YES, ',
      {
        Title: 'Pro Video Formats, Codecs: 2.2',
        Version: '2.2.5',
        Size: '67584K',
        Recommended: 'YES',
      },
    ],
    [
      'a title with parentheses',
      '\tTitle: Command Line Tools (macOS High Sierra version 10.13) for Xcode, Version: 10.1, Size: 190520K, Recommended: YES,',
      {
        Title: 'Command Line Tools (macOS High Sierra version 10.13) for Xcode',
        Version: '10.1',
        Size: '190520K',
        Recommended: 'YES',
      },
    ],
    [
      'an Action field',
      'Title: macOS Ventura 13.6, Version: 13.6, Size: 594108KiB, Recommended: YES, Action: restart, ',
      {
        Title: 'macOS Ventura 13.6',
        Version: '13.6',
        Size: '594108KiB',
        Recommended: 'YES',
        Action: 'restart',
      },
    ],
  ])('splits %s on the field names only', (_what, line, expected) => {
    expect(parseDetailFields(line)).toEqual(expected);
  });
});

describe('parseSizeKb', () => {
  it.each([
    ['123K', 123],
    ['152370KiB', 152370],
    ['42 KB', 42],
    ['lots', undefined],
  ])('%s is %s KB', (text, kb) => {
    expect(parseSizeKb(text)).toBe(kb);
  });
});
