import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { bufferSource } from '../../formats/byte-source.js';
import { openXar, type XarArchive } from '../../formats/xar.js';
import {
  writeXar,
  type XarMemberSpec,
  type XarWriteOptions,
  flipByte,
} from '../helpers/flat-package.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const PACKAGE_INFO = '<pkg-info identifier="com.example" version="1"/>\n';
const PAYLOAD = new Uint8Array(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));

const MEMBERS: XarMemberSpec[] = [
  { path: 'foo.pkg/Bom', contents: 'stub bom', encoding: 'zlib' },
  { path: 'foo.pkg/Payload', contents: PAYLOAD },
  { path: 'foo.pkg/PackageInfo', contents: PACKAGE_INFO, encoding: 'zlib', mode: 0o600 },
  { path: 'Resources/en.lproj', type: 'directory' },
  { path: 'Resources/link', linkTarget: 'en.lproj' },
  { path: 'Distribution', contents: '<installer-gui-script/>', encoding: 'zlib' },
];

const open = (bytes: Uint8Array): Promise<XarArchive> => openXar(bufferSource(bytes));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected a rejection');
}

/** Byte offset of a member's stored data in the archive. */
async function storedOffset(bytes: Uint8Array, path: string): Promise<number> {
  return (await open(bytes)).dataRange(path).offset;
}

describe('openXar on archives written like bsdtar/pkgbuild', () => {
  const bytes = writeXar(MEMBERS);

  it('flattens the file tree to full paths, parents first', async () => {
    const xar = await open(bytes);
    expect(xar.entries.map((e) => [e.path, e.type])).toEqual([
      ['foo.pkg', 'directory'],
      ['foo.pkg/Bom', 'file'],
      ['foo.pkg/Payload', 'file'],
      ['foo.pkg/PackageInfo', 'file'],
      ['Resources', 'directory'],
      ['Resources/en.lproj', 'directory'],
      ['Resources/link', 'symlink'],
      ['Distribution', 'file'],
    ]);
  });

  it('reads the header', async () => {
    expect((await open(bytes)).header).toMatchObject({
      headerSize: 28,
      version: 1,
      checksumAlgorithm: 'sha1',
    });
  });

  it.each([
    ['foo.pkg/PackageInfo', PACKAGE_INFO],
    ['foo.pkg/Bom', 'stub bom'],
    ['Distribution', '<installer-gui-script/>'],
  ])('inflates the zlib ("x-gzip") member %s', async (path, expected) => {
    expect(text(await (await open(bytes)).read(path))).toBe(expected);
  });

  it('reads a stored (octet-stream) member byte for byte', async () => {
    expect(Buffer.from(await (await open(bytes)).read('foo.pkg/Payload')).equals(PAYLOAD)).toBe(
      true,
    );
  });

  it('reports mode, owner, link target and data description', async () => {
    const xar = await open(bytes);
    expect(xar.entry('foo.pkg/PackageInfo')).toMatchObject({ mode: 0o600, uid: 0, gid: 0 });
    expect(xar.entry('Resources/link')?.linkTarget).toBe('en.lproj');
    expect(xar.entry('foo.pkg/Payload')?.data).toMatchObject({
      length: 3000,
      size: 3000,
      encoding: 'application/octet-stream',
      archivedChecksum: { algorithm: 'sha1' },
      extractedChecksum: { algorithm: 'sha1' },
    });
  });

  it('gives the absolute range of stored bytes for callers that stream them', async () => {
    const range = (await open(bytes)).dataRange('foo.pkg/Payload');
    expect(
      Buffer.from(bytes.subarray(range.offset, range.offset + range.length)).equals(PAYLOAD),
    ).toBe(true);
    expect(range.encoding).toBe('application/octet-stream');
  });

  it.each([1, 100, 1 << 20])('streams a member in %i-byte reads', async (chunk) => {
    const xar = await open(bytes);
    for (const path of ['foo.pkg/Payload', 'foo.pkg/PackageInfo']) {
      const parts: Uint8Array[] = [];
      for await (const p of xar.stream(path, chunk)) parts.push(p);
      expect(Buffer.concat(parts).equals(await xar.read(path))).toBe(true);
    }
  });

  it('answers NOT_FOUND for a missing member and refuses to read a folder', async () => {
    const xar = await open(bytes);
    expect(isAppError(await rejection(xar.read('nope')), 'NOT_FOUND')).toBe(true);
    await expect(xar.read('foo.pkg')).rejects.toThrow(/is a directory, not a file/);
  });
});

describe('openXar checksum algorithms', () => {
  it.each(['none', 'sha1', 'md5', 'sha256', 'sha512'] as const)(
    'verifies a TOC and members checksummed with %s',
    async (alg) => {
      const xar = await open(writeXar(MEMBERS, { tocChecksum: alg }));
      expect(xar.header.checksumAlgorithm).toBe(alg);
      expect(text(await xar.read('foo.pkg/PackageInfo'))).toBe(PACKAGE_INFO);
      expect(xar.entry('foo.pkg/Payload')?.data?.archivedChecksum?.algorithm).toBe(
        alg === 'none' ? undefined : alg,
      );
    },
  );

  it.each(['sha1', 'md5', 'sha256', 'sha512'] as const)(
    'detects a flipped TOC digest with %s',
    async (alg) => {
      const bytes = writeXar(MEMBERS, { tocChecksum: alg });
      const xar = await open(bytes);
      flipByte(bytes, xar.heapOffset, 0x01);
      const e = await rejection(open(bytes));
      expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
      expect(e.message).toMatch(new RegExp(`xar TOC checksum mismatch \\(${alg}\\)`));
    },
  );

  it.each(['sha1', 'md5', 'sha256'] as const)(
    'detects a flipped Payload byte with %s (archived-checksum)',
    async (alg) => {
      const bytes = writeXar(MEMBERS, { tocChecksum: alg });
      flipByte(bytes, (await storedOffset(bytes, 'foo.pkg/Payload')) + 1234, 0x80);
      const xar = await open(bytes);
      await expect(xar.read('foo.pkg/Payload')).rejects.toThrow(
        /archived-checksum of xar member foo.pkg\/Payload mismatch/,
      );
    },
  );

  it('detects a flipped byte while streaming, at the end of the stream', async () => {
    const bytes = writeXar(MEMBERS);
    flipByte(bytes, (await storedOffset(bytes, 'foo.pkg/Payload')) + 5, 0x80);
    const xar = await open(bytes);
    const drain = async (): Promise<void> => {
      for await (const _ of xar.stream('foo.pkg/Payload', 512)) void _;
    };
    await expect(drain()).rejects.toThrow(/archived-checksum .* mismatch/);
  });

  it('detects a flipped byte in a zlib member while streaming', async () => {
    const bytes = writeXar(MEMBERS);
    flipByte(bytes, (await storedOffset(bytes, 'foo.pkg/PackageInfo')) + 4, 0x80);
    const xar = await open(bytes);
    const drain = async (): Promise<void> => {
      for await (const _ of xar.stream('foo.pkg/PackageInfo', 8)) void _;
    };
    const e = await rejection(drain());
    expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
  });

  it('detects a wrong extracted-checksum of an inflated member', async () => {
    const bytes = writeXar([
      {
        path: 'PackageInfo',
        contents: PACKAGE_INFO,
        encoding: 'zlib',
        extractedChecksumOverride: '0'.repeat(40),
      },
    ]);
    await expect((await open(bytes)).read('PackageInfo')).rejects.toThrow(
      /extracted-checksum of xar member PackageInfo mismatch/,
    );
  });

  it('checks members with their own style when it differs from the TOC', async () => {
    const xar = await open(writeXar(MEMBERS, { tocChecksum: 'sha256', fileChecksum: 'md5' }));
    expect(xar.entry('foo.pkg/Bom')?.data?.extractedChecksum?.algorithm).toBe('md5');
    expect(text(await xar.read('foo.pkg/Bom'))).toBe('stub bom');
  });
});

describe('openXar header variants', () => {
  it.each([32, 64, 200])('seeks to a header size of %i', async (headerSize) => {
    const xar = await open(writeXar(MEMBERS, { headerSize }));
    expect(xar.header.headerSize).toBe(headerSize);
    expect(text(await xar.read('Distribution'))).toBe('<installer-gui-script/>');
  });

  it('reads the digest name after the header (mackyle xar, cksum_alg 3)', async () => {
    const options: XarWriteOptions = {
      tocChecksum: 'sha512',
      headerSize: 36,
      headerDigestName: 'sha512',
    };
    const xar = await open(writeXar(MEMBERS, options));
    expect(xar.header.checksumAlgorithm).toBe('sha512');
  });

  it('treats cksum_alg 3 in a 28-byte header as sha256 (Apple numbering)', async () => {
    const xar = await open(writeXar(MEMBERS, { tocChecksum: 'sha256' }));
    expect(xar.header.checksumAlgorithm).toBe('sha256');
  });

  it.each([
    [
      'bad magic',
      (b: Uint8Array) => b.set([0x50, 0x4b, 0x03, 0x04], 0),
      /not a xar archive \(bad magic/,
    ],
    [
      'header size below 28',
      (b: Uint8Array) => b.set([0, 20], 4),
      /header size 20 is smaller than 28/,
    ],
    ['version 2', (b: Uint8Array) => b.set([0, 2], 6), /unsupported xar version 2/],
    [
      'checksum algorithm 9',
      (b: Uint8Array) => b.set([0, 0, 0, 9], 24),
      /unknown checksum algorithm 9/,
    ],
    ['a lying TOC length', (b: Uint8Array) => b.set([0xff], 23), /TOC inflates to|TOC of/],
    ['a corrupt compressed TOC', (b: Uint8Array) => flipByte(b, 40), /TOC/],
  ])('refuses %s', async (_name, corrupt, message) => {
    const bytes = writeXar(MEMBERS);
    corrupt(bytes);
    const e = await rejection(open(bytes));
    expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
    expect(e.message).toMatch(message);
  });

  it('refuses an input shorter than a header', async () => {
    await expect(open(new TextEncoder().encode('xar!'))).rejects.toThrow(
      /shorter than a xar header/,
    );
  });

  it('rejects every truncation of an archive', async () => {
    const bytes = writeXar(MEMBERS);
    for (let cut = 0; cut < bytes.length; cut++) {
      const e = await rejection(open(bytes.subarray(0, cut)));
      expect(isAppError(e, 'ARCHIVE_INVALID'), `cut at ${cut}: ${e.message}`).toBe(true);
    }
  });
});

describe('openXar TOC tolerance and safety', () => {
  it('tolerates repeated <name> elements, taking the first', async () => {
    const xar = await open(
      writeXar([{ path: 'x', contents: 'hi', names: ['zoomus.pkg', 'zoomus.pkg'] }]),
    );
    expect(xar.entries.map((e) => e.path)).toEqual(['zoomus.pkg']);
  });

  it('tolerates and reports signatures whose blobs sit at the heap start', async () => {
    const xar = await open(writeXar(MEMBERS, { signature: true }));
    expect(xar.signatures.map((s) => [s.element, s.style, s.size])).toEqual([
      ['signature', 'RSA', 256],
      ['x-signature', 'CMS', 64],
    ]);
    expect(xar.signatures[0]?.certificates).toEqual(['TUlJQ0xlYWY=', 'TUlJQ0ludGVybWVkaWF0ZQ==']);
    expect(xar.signatures[0]?.offset).toBe(xar.heapOffset + 20);
    expect(Buffer.from(await xar.read('foo.pkg/Payload')).equals(PAYLOAD)).toBe(true);
  });

  it.each(['..', '.', 'a/b', '../../etc', '/etc', ''])(
    'refuses the member name %j',
    async (name) => {
      const e = await rejection(open(writeXar([{ path: 'x', contents: 'hi', names: [name] }])));
      expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
      expect(e.message).toMatch(/unsafe member name|has no name/);
    },
  );

  it('refuses a member name of ".." inside a folder', async () => {
    await expect(
      open(
        writeXar([
          { path: 'foo.pkg', type: 'directory' },
          { path: 'foo.pkg/x', contents: 'hi', names: ['..'] },
        ]),
      ),
    ).rejects.toThrow(/unsafe member name "\.\." \(file id 2 in foo.pkg\)/);
  });

  it('refuses two members with the same path', async () => {
    await expect(
      open(
        writeXar([
          { path: 'a', contents: '1' },
          { path: 'b', contents: '2', names: ['a'] },
        ]),
      ),
    ).rejects.toThrow(/duplicate member a/);
  });

  it('decodes a member stored as real gzip under the x-gzip label', async () => {
    const xar = await open(writeXar([{ path: 'f', contents: 'gzipped', encoding: 'gzip' }]));
    expect(text(await xar.read('f'))).toBe('gzipped');
  });

  it('opens an archive with a bzip2 member but refuses to decode that member', async () => {
    const xar = await open(writeXar([{ path: 'f', contents: 'BZh9', encoding: 'bzip2-label' }]));
    await expect(xar.read('f')).rejects.toThrow(/bzip2-encoded, which is not supported/);
  });

  it('refuses a TOC whose data lies beyond the end of the file', async () => {
    const toc =
      '<xar><toc><file id="1"><name>f</name><type>file</type><data><offset>0</offset><length>99</length><size>99</size></data></file></toc></xar>';
    const z = deflateSync(toc);
    const header = new Uint8Array(28);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0x78617221);
    view.setUint16(4, 28);
    view.setUint16(6, 1);
    view.setBigUint64(8, BigInt(z.length));
    view.setBigUint64(16, BigInt(toc.length));
    await expect(open(Buffer.concat([header, z, Buffer.alloc(10)]))).rejects.toThrow(
      /xar member f \(heap offset 0, 99 bytes\) lies beyond the end of the archive/,
    );
  });
});

const hasPython = spawnSync('python3', ['--version']).status === 0;

// An independent reader: Python's struct, zlib, hashlib and ElementTree check what our writer wrote.
const PYTHON_CHECK = String.raw`
import hashlib, json, struct, sys, zlib
import xml.etree.ElementTree as ET
data = open(sys.argv[1], 'rb').read()
magic, hsize, ver, tclen, tulen, alg = struct.unpack('>4sHHQQI', data[:28])
assert magic == b'xar!' and ver == 1, 'header'
ctoc = data[hsize:hsize + tclen]
toc = zlib.decompress(ctoc)
assert len(toc) == tulen, 'toc length'
heap = hsize + tclen
root = ET.fromstring(toc).find('toc')
ck = root.find('checksum')
name = {1: 'sha1', 2: 'md5', 3: 'sha256', 4: 'sha512'}[alg]
off, size = int(ck.find('offset').text), int(ck.find('size').text)
assert hashlib.new(name, ctoc).digest() == data[heap + off:heap + off + size], 'toc digest'
out = []
def walk(el, prefix):
    for f in el.findall('file'):
        path = prefix + f.find('name').text
        d = f.find('data')
        if d is not None:
            stored = data[heap + int(d.find('offset').text):][:int(d.find('length').text)]
            a = d.find('archived-checksum')
            assert hashlib.new(a.get('style'), stored).hexdigest() == a.text, path
            enc = d.find('encoding').get('style')
            body = zlib.decompress(stored) if enc == 'application/x-gzip' else stored
            x = d.find('extracted-checksum')
            assert hashlib.new(x.get('style'), body).hexdigest() == x.text, path
            assert len(body) == int(d.find('size').text), path
        out.append([path, f.find('type').text])
        walk(f, path + '/')
walk(root, '')
print(json.dumps(out))
`;

describe.skipIf(!hasPython)('cross-check with an independent reader (python3)', () => {
  it.each(['sha1', 'md5', 'sha256'] as const)('accepts what writeXar wrote with %s', (alg) => {
    const dir = mkdtempSync(join(tmpdir(), 'abbot-xar-'));
    try {
      const file = join(dir, 'a.xar');
      writeFileSync(file, writeXar(MEMBERS, { tocChecksum: alg, signature: true }));
      const r = spawnSync('python3', ['-c', PYTHON_CHECK, file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual([
        ['foo.pkg', 'directory'],
        ['foo.pkg/Bom', 'file'],
        ['foo.pkg/Payload', 'file'],
        ['foo.pkg/PackageInfo', 'file'],
        ['Resources', 'directory'],
        ['Resources/en.lproj', 'directory'],
        ['Resources/link', 'symlink'],
        ['Distribution', 'file'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
