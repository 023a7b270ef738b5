import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { readCpio, writeCpioOdc } from '../../formats/cpio.js';
import { decodePayload, decodePayloadStream, sniffPayloadEncoding } from '../../formats/payload.js';
import { decodePbzx, decodePbzxStream } from '../../formats/pbzx.js';
import { writePbzx, xzCompress, flipByte } from '../helpers/flat-package.js';

const CHUNK = 4096;
// Compressible, then random (xz cannot shrink it, so it is stored raw), then compressible again.
const PLAIN = Buffer.concat([
  Buffer.alloc(CHUNK, 'a'),
  randomBytes(CHUNK),
  Buffer.from('tail '.repeat(500)),
]);
const PBZX = writePbzx(PLAIN, CHUNK);

interface ChunkInfo {
  offset: number;
  uncompressed: number;
  compressed: number;
}

/** The chunk table of a pbzx stream, read independently of the decoder under test. */
function chunksOf(pbzx: Uint8Array): ChunkInfo[] {
  const view = new DataView(pbzx.buffer, pbzx.byteOffset, pbzx.byteLength);
  const out: ChunkInfo[] = [];
  for (let at = 12; at < pbzx.length;) {
    const uncompressed = Number(view.getBigUint64(at));
    const compressed = Number(view.getBigUint64(at + 8));
    out.push({ offset: at, uncompressed, compressed });
    at += 16 + compressed;
  }
  return out;
}

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected a rejection');
}

function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

describe('decodePbzx', () => {
  it('writes the fixture with an xz chunk, a stored chunk and another xz chunk', () => {
    expect(chunksOf(PBZX).map((c) => c.compressed === c.uncompressed)).toEqual([
      false,
      true,
      false,
    ]);
  });

  it('decodes stored and xz chunks back to the original bytes', async () => {
    expect(Buffer.from(await decodePbzx(PBZX)).equals(PLAIN)).toBe(true);
  });

  it.each([1, 7, 16, 1000, 1 << 20])(
    'streams the same bytes from %i-byte input pieces',
    async (size) => {
      const out = await collect(decodePbzxStream(splitEvery(PBZX, size)));
      expect(out.equals(PLAIN)).toBe(true);
    },
  );

  it('decodes a header with no chunks to nothing', async () => {
    expect((await decodePbzx(PBZX.subarray(0, 12))).length).toBe(0);
  });

  it('rejects a corrupt xz chunk and still decodes afterwards', async () => {
    const broken = new Uint8Array(PBZX);
    const first = chunksOf(PBZX)[0];
    if (first === undefined) throw new Error('no chunk');
    flipByte(broken, first.offset + 16 + Math.floor(first.compressed / 2), 0xff);
    const e = await rejection(decodePbzx(broken));
    expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
    expect(e.message).toMatch(/pbzx chunk 0 at offset 12: (corrupt xz data|xz data decodes)/);
    // xz-decompress holds a process-wide lock per stream; a leaked one would hang this decode.
    expect(Buffer.from(await decodePbzx(PBZX)).equals(PLAIN)).toBe(true);
  });

  it('rejects every truncation that cuts inside a chunk', async () => {
    const boundaries = new Set([12, ...chunksOf(PBZX).map((c) => c.offset + 16 + c.compressed)]);
    const cuts = [0, 3, 4, 11, 13, 20, 27, 28, 29, 40, 100, 500];
    for (const c of chunksOf(PBZX)) cuts.push(c.offset + 17, c.offset + 16 + c.compressed - 1);
    for (let at = 0; at < PBZX.length; at += 37) cuts.push(at);
    for (const cut of cuts.filter((c) => !boundaries.has(c))) {
      const e = await rejection(decodePbzx(PBZX.subarray(0, cut)));
      expect(isAppError(e, 'ARCHIVE_INVALID'), `cut at ${cut}`).toBe(true);
    }
  });

  it('leaves a cut at a chunk boundary to the cpio trailer check', async () => {
    const cpio = writeCpioOdc([{ path: './f', mode: 0o100644, data: 'z'.repeat(20000) }]);
    const pbzx = writePbzx(cpio, CHUNK);
    const second = chunksOf(pbzx)[1];
    if (second === undefined) throw new Error('expected two chunks');
    const shortened = await decodePayload(pbzx.subarray(0, second.offset));
    expect(() => readCpio(shortened)).toThrow(/truncated/);
  });

  it('rejects an xz chunk that decodes to a different size than declared', async () => {
    const xz = xzCompress(Buffer.alloc(100, 'q'));
    const header = new Uint8Array(28);
    const view = new DataView(header.buffer);
    header.set(new TextEncoder().encode('pbzx'));
    view.setBigUint64(4, 4096n);
    view.setBigUint64(12, 99n);
    view.setBigUint64(20, BigInt(xz.length));
    const e = await rejection(decodePbzx(Buffer.concat([header, xz])));
    expect(e.message).toMatch(/decodes to more than the declared 99 bytes/);
  });

  it('rejects a compressed chunk that is not xz', async () => {
    const header = new Uint8Array(28);
    const view = new DataView(header.buffer);
    header.set(new TextEncoder().encode('pbzx'));
    view.setBigUint64(12, 100n);
    view.setBigUint64(20, 10n);
    const e = await rejection(decodePbzx(Buffer.concat([header, Buffer.alloc(10, 1)])));
    expect(e.message).toMatch(/not an xz stream/);
  });

  it.each([
    ['pbze', /LZFSE-compressed payloads are not supported/],
    ['pbz4', /LZ4-compressed payloads are not supported/],
    ['pbzz', /zlib-compressed payloads are not supported/],
    ['pbzq', /unknown variant "q"/],
    ['xbzx', /bad magic/],
  ])('refuses magic %s', async (magic, message) => {
    const broken = new Uint8Array(PBZX);
    broken.set(new TextEncoder().encode(magic), 0);
    await expect(decodePbzx(broken)).rejects.toThrow(message);
  });
});

describe('decodePayload', () => {
  const cpio = writeCpioOdc([
    { path: '.', mode: 0o040755 },
    { path: './hello', mode: 0o100644, data: 'hello world' },
  ]);

  it.each([
    ['gzip', (): Uint8Array => gzipSync(cpio)],
    ['zlib', (): Uint8Array => deflateSync(cpio)],
    ['pbzx', (): Uint8Array => writePbzx(cpio, 256)],
    ['cpio', (): Uint8Array => cpio],
  ] as const)('decodes a %s payload to its cpio bytes', async (encoding, encode) => {
    const encoded = encode();
    expect(sniffPayloadEncoding(encoded)).toBe(encoding);
    expect(Buffer.from(await decodePayload(encoded)).equals(cpio)).toBe(true);
  });

  it.each([
    ['gzip', (): Uint8Array => gzipSync(cpio)],
    ['pbzx', (): Uint8Array => writePbzx(cpio, 256)],
    ['cpio', (): Uint8Array => cpio],
  ] as const)('streams a %s payload in small pieces', async (_encoding, encode) => {
    const out = await collect(decodePayloadStream(splitEvery(encode(), 5)));
    expect(out.equals(cpio)).toBe(true);
  });

  it.each([
    [
      'bzip2',
      new TextEncoder().encode('BZh91AY&SY'),
      /bzip2-compressed payloads are not supported/,
    ],
    [
      'Apple Archive',
      new TextEncoder().encode('AA01\0\0\0\0'),
      /Apple Archive \(AA01\/YAA1\) payloads are not supported/,
    ],
    ['lzfse pbzx', new TextEncoder().encode('pbze\0\0\0\0\0\0\0\0'), /LZFSE/],
    [
      'unknown',
      new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1]),
      /unknown payload encoding \(starts with de ad be ef 00 01\)/,
    ],
    ['empty', new Uint8Array(0), /payload is empty/],
  ])('refuses a %s payload', async (_name, payload, message) => {
    const e = await rejection(decodePayload(payload));
    expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
    expect(e.message).toMatch(message);
    await expect(collect(decodePayloadStream([payload]))).rejects.toThrow(message);
  });

  it('rejects a truncated gzip payload', async () => {
    const gz = gzipSync(cpio);
    const e = await rejection(decodePayload(gz.subarray(0, gz.length - 10)));
    expect(e.message).toMatch(/gzip data is corrupt or truncated/);
    await expect(collect(decodePayloadStream([gz.subarray(0, gz.length - 10)]))).rejects.toThrow(
      /gzip data is corrupt or truncated/,
    );
  });
});
