import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { bufferSource } from '../../formats/byte-source.js';
import { CpioParser, type CpioEntry } from '../../formats/cpio.js';
import {
  parseDistribution,
  parsePackageInfo,
  readFlatPackage,
  type FlatPackage,
} from '../../formats/flat-package.js';
import {
  buildFlatPackage,
  writeXar,
  type FlatPackageSpec,
  flipByte,
} from '../helpers/flat-package.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const FOO: Omit<FlatPackageSpec, 'kind'> = {
  identifier: 'com.example.foo',
  version: '1.2.3',
  files: [
    { path: 'usr/local/bin/foo', contents: '#!/bin/sh\necho foo\n', mode: 0o755 },
    { path: 'usr/local/bin/foo-link', symlink: 'foo' },
    { path: 'usr/local/share/foo', dir: true, mode: 0o700 },
    { path: 'Library/Foo/config.txt', contents: 'key=value\n', mode: 0o600 },
  ],
  apps: [
    {
      path: 'Applications/Foo.app',
      bundleId: 'com.example.Foo',
      shortVersion: '1.2.3',
      bundleVersion: '123',
      minOS: '12.0',
    },
  ],
  scripts: { preinstall: '#!/bin/sh\nexit 0\n', postinstall: '#!/bin/sh\ntouch /tmp/done\n' },
};

async function read(spec: FlatPackageSpec): Promise<FlatPackage> {
  return readFlatPackage(bufferSource(await buildFlatPackage(spec)));
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected a rejection');
}

function byPath(entries: readonly CpioEntry[]): Map<string, CpioEntry> {
  return new Map(entries.map((e) => [e.path, e]));
}

describe.each(['gzip', 'pbzx'] as const)(
  'a component package with a %s payload',
  (payloadEncoding) => {
    const spec: FlatPackageSpec = {
      kind: 'component',
      ...FOO,
      payloadEncoding,
      pbzxChunkSize: 512,
    };

    it('is a component with one top-level component', async () => {
      const pkg = await read(spec);
      expect(pkg.kind).toBe('component');
      expect(pkg.distribution).toBeUndefined();
      expect(pkg.components.map((c) => [c.path, c.hasPayload, c.hasScripts])).toEqual([
        ['', true, true],
      ]);
    });

    it('parses PackageInfo', async () => {
      const pkg = await read(spec);
      const info = pkg.components[0]?.packageInfo;
      expect(info).toMatchObject({
        identifier: 'com.example.foo',
        version: '1.2.3',
        installLocation: '/',
        auth: 'root',
        postinstallAction: 'none',
        scripts: { preinstall: './preinstall', postinstall: './postinstall' },
      });
      const component = pkg.components[0];
      if (component === undefined) throw new Error('no component');
      expect(info?.payload?.numberOfFiles).toBe((await pkg.readPayload(component)).length);
      expect(info?.payload?.installKBytes).toBeGreaterThan(0);
      expect(info?.bundles).toEqual([
        {
          id: 'com.example.Foo',
          CFBundleShortVersionString: '1.2.3',
          CFBundleVersion: '123',
          path: './Applications/Foo.app',
        },
      ]);
    });

    it('reads payload files, folders and symlinks with their modes', async () => {
      const pkg = await read(spec);
      const component = pkg.components[0];
      if (component === undefined) throw new Error('no component');
      const entries = byPath(await pkg.readPayload(component));
      expect(entries.get('.')?.type).toBe('directory');
      expect(entries.get('usr/local/bin/foo')).toMatchObject({ type: 'file', mode: 0o100755 });
      expect(text(entries.get('usr/local/bin/foo')?.data ?? new Uint8Array())).toBe(
        '#!/bin/sh\necho foo\n',
      );
      expect(entries.get('usr/local/bin/foo-link')).toMatchObject({
        type: 'symlink',
        linkTarget: 'foo',
      });
      expect(entries.get('usr/local/share/foo')).toMatchObject({
        type: 'directory',
        mode: 0o040700,
      });
      expect(entries.get('Library/Foo/config.txt')?.mode).toBe(0o100600);
    });

    it('puts a real Info.plist in the app bundle', async () => {
      const pkg = await read(spec);
      const component = pkg.components[0];
      if (component === undefined) throw new Error('no component');
      const plist = byPath(await pkg.readPayload(component)).get(
        'Applications/Foo.app/Contents/Info.plist',
      );
      const xml = text(plist?.data ?? new Uint8Array());
      expect(xml).toContain('<key>CFBundleIdentifier</key>\n\t<string>com.example.Foo</string>');
      expect(xml).toContain('<key>LSMinimumSystemVersion</key>\n\t<string>12.0</string>');
    });

    it('reads the scripts archive', async () => {
      const pkg = await read(spec);
      const component = pkg.components[0];
      if (component === undefined) throw new Error('no component');
      const scripts = byPath(await pkg.readScripts(component));
      expect(scripts.get('postinstall')?.mode).toBe(0o100755);
      expect(text(scripts.get('preinstall')?.data ?? new Uint8Array())).toBe('#!/bin/sh\nexit 0\n');
    });

    it('streams the same payload as it reads', async () => {
      const pkg = await read(spec);
      const component = pkg.components[0];
      if (component === undefined) throw new Error('no component');
      const parser = new CpioParser();
      const paths: string[] = [];
      for await (const chunk of pkg.streamPayload(component)) {
        for (const ev of parser.push(chunk)) if (ev.kind === 'entry') paths.push(ev.entry.path);
      }
      parser.end();
      expect(paths).toEqual((await pkg.readPayload(component)).map((e) => e.path));
    });
  },
);

describe('a product package', () => {
  const spec: FlatPackageSpec = {
    kind: 'product',
    ...FOO,
    identifier: 'com.example.product',
    version: '2.0',
    title: 'Example & Co',
    minOsVersion: '11.0',
    hostArchitectures: ['x86_64', 'arm64'],
    components: [
      { ...FOO, payloadEncoding: 'pbzx' },
      {
        identifier: 'com.example.helper',
        version: '0.9',
        installLocation: '/Library/Helper',
        fileName: 'Foo Bar.pkg',
        files: [{ path: 'helper', contents: 'bin' }],
      },
    ],
  };

  it('lists each component folder', async () => {
    const pkg = await read(spec);
    expect(pkg.kind).toBe('product');
    expect(pkg.components.map((c) => [c.path, c.packageInfo.identifier, c.hasScripts])).toEqual([
      ['foo.pkg', 'com.example.foo', true],
      ['Foo Bar.pkg', 'com.example.helper', false],
    ]);
  });

  it('parses the Distribution', async () => {
    const dist = (await read(spec)).distribution;
    expect(dist).toMatchObject({
      title: 'Example & Co',
      productId: 'com.example.product',
      productVersion: '2.0',
      minOsVersion: '11.0',
      hostArchitectures: ['x86_64', 'arm64'],
      hasChoicesOutline: true,
    });
  });

  it('resolves pkg-refs, URL-encoded ones included, to component folders', async () => {
    const refs = (await read(spec)).distribution?.pkgRefs;
    expect(refs?.map((r) => [r.id, r.version, r.file, r.componentPath])).toEqual([
      ['com.example.foo', '1.2.3', '#foo.pkg', 'foo.pkg'],
      ['com.example.helper', '0.9', '#Foo%20Bar.pkg', 'Foo Bar.pkg'],
    ]);
    expect(refs?.[0]?.bundles).toEqual([
      {
        id: 'com.example.Foo',
        CFBundleShortVersionString: '1.2.3',
        CFBundleVersion: '123',
        path: 'Applications/Foo.app',
      },
    ]);
  });

  it('reads each component payload', async () => {
    const pkg = await read(spec);
    const [foo, helper] = pkg.components;
    if (foo === undefined || helper === undefined) throw new Error('components missing');
    expect(helper.packageInfo.installLocation).toBe('/Library/Helper');
    expect((await pkg.readPayload(helper)).map((e) => e.path)).toEqual(['.', 'helper']);
    expect(byPath(await pkg.readPayload(foo)).has('Applications/Foo.app/Contents/Info.plist')).toBe(
      true,
    );
  });

  it('wraps a single component when no components are given', async () => {
    const pkg = await read({ kind: 'product', ...FOO, title: 'Solo' });
    expect(pkg.components.map((c) => c.path)).toEqual(['foo.pkg']);
    expect(pkg.distribution?.pkgRefs[0]?.componentPath).toBe('foo.pkg');
  });
});

describe('a payload-free package', () => {
  const spec: FlatPackageSpec = {
    kind: 'component',
    identifier: 'com.example.nopayload',
    version: '1.0',
    payloadFree: true,
    scripts: { postinstall: '#!/bin/sh\n' },
  };

  it('has no <payload> and no Payload member', async () => {
    const pkg = await read(spec);
    const c = pkg.components[0];
    expect(c?.packageInfo.payload).toBeUndefined();
    expect(c?.hasPayload).toBe(false);
    expect(c?.hasScripts).toBe(true);
  });

  it('reads an empty payload', async () => {
    const pkg = await read(spec);
    const c = pkg.components[0];
    if (c === undefined) throw new Error('no component');
    expect(await pkg.readPayload(c)).toEqual([]);
    const streamed: Uint8Array[] = [];
    for await (const p of pkg.streamPayload(c)) streamed.push(p);
    expect(streamed).toEqual([]);
  });
});

describe('damaged packages', () => {
  const spec: FlatPackageSpec = { kind: 'product', ...FOO, minOsVersion: '11.0' };

  it('rejects every truncation', async () => {
    const bytes = await buildFlatPackage(spec);
    for (let cut = 0; cut < bytes.length; cut += 7) {
      const e = await rejection(readFlatPackage(bufferSource(bytes.subarray(0, cut))));
      expect(isAppError(e, 'ARCHIVE_INVALID'), `cut at ${cut}: ${e.message}`).toBe(true);
    }
  });

  it('refuses a payload with a flipped byte', async () => {
    const bytes = await buildFlatPackage(spec);
    const range = (await readFlatPackage(bufferSource(bytes))).archive.dataRange('foo.pkg/Payload');
    flipByte(bytes, range.offset + Math.floor(range.length / 2), 0x10);
    const pkg = await readFlatPackage(bufferSource(bytes));
    const c = pkg.components[0];
    if (c === undefined) throw new Error('no component');
    await expect(pkg.readPayload(c)).rejects.toThrow(
      /archived-checksum of xar member foo.pkg\/Payload mismatch/,
    );
  });

  it('refuses a xar that is neither a component nor a product', async () => {
    const bytes = writeXar([{ path: 'README', contents: 'hi' }]);
    await expect(readFlatPackage(bufferSource(bytes))).rejects.toThrow(
      /neither PackageInfo nor Distribution/,
    );
  });

  it('names the component whose PackageInfo is malformed', async () => {
    const bytes = writeXar([
      { path: 'x.pkg/PackageInfo', contents: '<pkg-info identifier="a"', encoding: 'zlib' },
    ]);
    await expect(readFlatPackage(bufferSource(bytes))).rejects.toThrow(/^x.pkg\/PackageInfo: /);
  });
});

describe('parsePackageInfo', () => {
  it('reads Munki’s own PackageInfo', () => {
    const info = parsePackageInfo(
      `<pkg-info format-version="2" install-location="/" identifier="com.googlecode.munki.core" version="7.0.0.5096"
          generator-version="InstallCmds-860 (24E263)" auth="root">
    <payload numberOfFiles="39" installKBytes="39393"/>
    <bundle-version/> <upgrade-bundle/> <update-bundle/> <atomic-update-bundle/> <strict-identifier/> <relocate/>
</pkg-info>`,
    );
    expect(info).toEqual({
      identifier: 'com.googlecode.munki.core',
      version: '7.0.0.5096',
      installLocation: '/',
      auth: 'root',
      formatVersion: '2',
      payload: { numberOfFiles: 39, installKBytes: 39393 },
      bundles: [],
      scripts: {},
      relocate: [],
    });
  });

  it('reads bundle attributes given inside bundle-version', () => {
    const info = parsePackageInfo(
      `<pkg-info identifier="a" version="1"><bundle-version>
         <bundle id="com.x" CFBundleIdentifier="com.x" path="./Applications/X.app" CFBundleShortVersionString="2.1" CFBundleVersion="210"/>
       </bundle-version></pkg-info>`,
    );
    expect(info.bundles).toEqual([
      {
        id: 'com.x',
        CFBundleIdentifier: 'com.x',
        path: './Applications/X.app',
        CFBundleShortVersionString: '2.1',
        CFBundleVersion: '210',
      },
    ]);
  });

  it('joins nested bundle paths onto their parent and merges ids', () => {
    const info = parsePackageInfo(
      `<pkg-info identifier="a" version="1">
         <bundle path="./Applications/X.app" id="com.x" CFBundleShortVersionString="1">
           <bundle path="./Contents/Helpers/H.app" id="com.x.helper" CFBundleVersion="5"/>
         </bundle>
         <bundle-version><bundle id="com.x"/><bundle id="com.x.helper"/></bundle-version>
         <relocate><bundle id="com.x"/></relocate>
       </pkg-info>`,
    );
    expect(info.bundles).toEqual([
      { id: 'com.x', CFBundleShortVersionString: '1', path: './Applications/X.app' },
      {
        id: 'com.x.helper',
        CFBundleVersion: '5',
        path: './Applications/X.app/Contents/Helpers/H.app',
      },
    ]);
    expect(info.relocate).toEqual(['com.x']);
  });

  it.each([
    ['<pkg-info version="1"/>', /has no identifier/],
    ['<pkg-info identifier="a"/>', /has no version/],
    ['<installer-gui-script/>', /root element is <installer-gui-script>, not <pkg-info>/],
  ])('refuses %s', (xml, message) => {
    expect(() => parsePackageInfo(xml)).toThrow(message);
  });

  it('keeps postinstall-action and minimumSystemVersion', () => {
    expect(
      parsePackageInfo(
        '<pkg-info identifier="a" version="1" postinstall-action="restart" minimumSystemVersion="10.13"/>',
      ),
    ).toMatchObject({ postinstallAction: 'restart', minimumSystemVersion: '10.13' });
  });
});

describe('parseDistribution', () => {
  const MUNKI = `<?xml version="1.0" encoding="utf-8"?>
<installer-script minSpecVersion="2">
  <title>Munki - Software Management for macOS</title>
  <volume-check><allowed-os-versions><os-version min="10.15"/></allowed-os-versions></volume-check>
  <options hostArchitectures="x86_64,arm64" customize="allow" allow-external-scripts="no"/>
  <script><![CDATA[ function check() { system.run('/bin/rm', '-rf', '/'); } ]]></script>
  <choices-outline><line choice="core"/></choices-outline>
  <choice id="core"><pkg-ref id="com.googlecode.munki.core"/></choice>
  <pkg-ref id="com.googlecode.munki.core" auth="Root" version="7.0.0.5096" installKBytes="39393" updateKBytes="0">#munkitools_core.pkg</pkg-ref>
  <product id="com.googlecode.munki" version="7.0.0.5096"/>
  <pkg-ref id="com.googlecode.munki.app"><bundle-version><bundle CFBundleShortVersionString="6.6.3.4707"
     CFBundleVersion="4707" id="com.googlecode.munki.ManagedSoftwareCenter" path="Applications/Managed Software Center.app"/></bundle-version></pkg-ref>
</installer-script>`;

  it('reads Munki’s own Distribution without running its script', () => {
    const dist = parseDistribution(MUNKI, 'Distribution', (n) =>
      n === 'munkitools_core.pkg' ? n : undefined,
    );
    expect(dist).toMatchObject({
      title: 'Munki - Software Management for macOS',
      productId: 'com.googlecode.munki',
      productVersion: '7.0.0.5096',
      minOsVersion: '10.15',
      hostArchitectures: ['x86_64', 'arm64'],
      hasChoicesOutline: true,
    });
    expect(dist.pkgRefs).toEqual([
      {
        id: 'com.googlecode.munki.core',
        version: '7.0.0.5096',
        installKBytes: 39393,
        auth: 'Root',
        file: '#munkitools_core.pkg',
        componentPath: 'munkitools_core.pkg',
        bundles: [],
      },
      {
        id: 'com.googlecode.munki.app',
        bundles: [
          {
            id: 'com.googlecode.munki.ManagedSoftwareCenter',
            CFBundleShortVersionString: '6.6.3.4707',
            CFBundleVersion: '4707',
            path: 'Applications/Managed Software Center.app',
          },
        ],
      },
    ]);
  });

  it.each([
    [['10.9', '11.0', '10.15'], '11.0'],
    [['10.15.7', '10.15'], '10.15.7'],
    [['13'], '13'],
  ])('takes the highest of the minimum OS versions %j', (mins, expected) => {
    const xml = `<installer-gui-script><volume-check><allowed-os-versions>${mins
      .map((m) => `<os-version min="${m}"/>`)
      .join('')}</allowed-os-versions></volume-check></installer-gui-script>`;
    expect(parseDistribution(xml).minOsVersion).toBe(expected);
  });

  it.each([
    ['<os-version min="10.13" before="12.0"/><os-version min="12.1" before="14"/>', '14'],
    ['<os-version min="10.13" before="12.0"/><os-version min="12.1"/>', undefined],
    ['<os-version min="10.13"/>', undefined],
  ])('reports the upper bound only when every range has one: %s', (ranges, before) => {
    const dist = parseDistribution(
      `<installer-gui-script><volume-check><allowed-os-versions>${ranges}</allowed-os-versions></volume-check></installer-gui-script>`,
    );
    expect(dist.osVersionBefore).toBe(before);
  });

  it.each([
    ['x86_64,arm64', ['x86_64', 'arm64']],
    [' arm64 , x86_64 ,', ['arm64', 'x86_64']],
    ['i386', ['i386']],
  ])('splits hostArchitectures %j', (attr, archs) => {
    expect(
      parseDistribution(
        `<installer-gui-script><options hostArchitectures="${attr}"/></installer-gui-script>`,
      ).hostArchitectures,
    ).toEqual(archs);
  });

  it('reports no requirements when the Distribution states none', () => {
    const dist = parseDistribution('<installer-gui-script/>');
    expect(dist).toEqual({
      allowedOsVersions: [],
      hostArchitectures: [],
      pkgRefs: [],
      hasChoicesOutline: false,
    });
  });

  it.each([
    ['#Foo%20Bar.pkg', 'Foo Bar.pkg'],
    ['#plain.pkg', 'plain.pkg'],
    ['#100%.pkg', '100%.pkg'],
    ['file:./elsewhere.pkg', undefined],
    ['#missing.pkg', undefined],
  ])('resolves the pkg-ref %j', (ref, expected) => {
    const known = new Set(['Foo Bar.pkg', 'plain.pkg', '100%.pkg']);
    const dist = parseDistribution(
      `<installer-gui-script><pkg-ref id="a">${ref}</pkg-ref></installer-gui-script>`,
      'Distribution',
      (n) => (known.has(n) ? n : undefined),
    );
    expect(dist.pkgRefs[0]?.componentPath).toBe(expected);
  });

  it('refuses a document that is not a Distribution', () => {
    expect(() => parseDistribution('<pkg-info/>')).toThrow(/not <installer-gui-script>/);
  });
});
