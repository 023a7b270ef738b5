/**
 * pbzx, Apple's "block compression" framing used for newer pkg Payloads:
 *   "pbzx" | u64 BE block size | { u64 BE uncompressed size | u64 BE compressed size | bytes }*
 * A chunk whose two sizes are equal is stored raw (Apple stores incompressible 16 MiB blocks that
 * way); any other chunk is one complete xz stream. Decoding checks every chunk's decoded length,
 * so a truncated or corrupt payload is an error, never a short result.
 */
import type XzDecompress from 'xz-decompress';
import { AppError } from '../lib/errors.js';
import { ByteQueue, concatBytes } from './byte-source.js';

type XzModule = typeof XzDecompress;
let xzModule: Promise<XzModule> | undefined;

/**
 * xz-decompress, loaded on first use: it brings a WASM decoder and web streams that every client
 * run would otherwise pay for at start-up, though only pbzx payloads need them. It is a UMD/CommonJS
 * bundle, so Node's ESM loader offers it only as a default export.
 */
function loadXz(): Promise<XzModule> {
  xzModule ??= import('xz-decompress').then((m) => m.default);
  return xzModule;
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
const HEADER_LENGTH = 12;
const CHUNK_HEADER_LENGTH = 16;

/** The pbz variants named by the fourth magic byte (`man compression_tool`); only `x` is decoded. */
const UNSUPPORTED_VARIANTS: Readonly<Record<string, string>> = {
  e: 'LZFSE',
  '4': 'LZ4',
  z: 'zlib',
  b: 'LZBITMAP',
};

/** Decodes a whole pbzx stream in memory. */
export async function decodePbzx(bytes: Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of decodePbzxStream([bytes])) parts.push(part);
  return concatBytes(parts);
}

/**
 * Decodes a pbzx stream given as chunks of any size (e.g. 1 MiB file reads), yielding each decoded
 * block as soon as it is complete. Memory stays at about one block (16 MiB for Apple payloads).
 */
export async function* decodePbzxStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const input = new ByteQueue(chunks);
  try {
    const header = await input.take(HEADER_LENGTH);
    if (header.length < 4 || !isPbzMagic(header)) {
      throw invalid('pbzx: bad magic (expected "pbzx")');
    }
    const variant = String.fromCharCode(header[3] ?? 0);
    if (variant !== 'x') {
      const name = UNSUPPORTED_VARIANTS[variant] ?? `unknown variant "${variant}"`;
      throw invalid(`pbz${variant}: ${name}-compressed payloads are not supported (only pbzx/xz)`);
    }
    if (header.length < HEADER_LENGTH) throw invalid('pbzx: truncated header');
    let index = 0;
    for (;;) {
      const at = input.consumed;
      const chunkHeader = await input.take(CHUNK_HEADER_LENGTH);
      if (chunkHeader.length === 0) return;
      const where = `pbzx chunk ${index} at offset ${at}`;
      if (chunkHeader.length < CHUNK_HEADER_LENGTH)
        throw invalid(`${where}: truncated chunk header`);
      const uncompressed = readU64(chunkHeader, 0, where);
      const compressed = readU64(chunkHeader, 8, where);
      const data = await input.take(compressed);
      if (data.length < compressed) {
        throw invalid(
          `${where}: declares ${compressed} bytes but only ${data.length} remain; the payload is truncated`,
        );
      }
      if (compressed === uncompressed) {
        yield data;
      } else {
        yield await decodeXz(data, uncompressed, where);
      }
      index++;
    }
  } finally {
    await input.close();
  }
}

/** True for the four bytes `pbz?`. */
function isPbzMagic(bytes: Uint8Array): boolean {
  return bytes[0] === 0x70 && bytes[1] === 0x62 && bytes[2] === 0x7a;
}

/**
 * Decodes one complete xz stream that must produce exactly `expected` bytes. The stream is always
 * read to its end or cancelled: xz-decompress serialises decoders behind a process-wide mutex, and
 * a stream left half-read would block every later decode.
 */
async function decodeXz(data: Uint8Array, expected: number, where: string): Promise<Uint8Array> {
  if (!XZ_MAGIC.every((b, i) => data[i] === b)) {
    throw invalid(`${where}: compressed chunk is not an xz stream`);
  }
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(data);
      controller.close();
    },
  });
  const { XzReadableStream } = await loadXz();
  const reader = new XzReadableStream(source).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > expected) {
        await reader.cancel();
        throw invalid(`${where}: xz data decodes to more than the declared ${expected} bytes`);
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    const detail = e instanceof Error ? e.message : String(e);
    throw new AppError('ARCHIVE_INVALID', `${where}: corrupt xz data (${detail})`, { cause: e });
  }
  if (total !== expected) {
    throw invalid(`${where}: xz data decodes to ${total} bytes, expected ${expected}`);
  }
  return concatBytes(parts);
}

function readU64(bytes: Uint8Array, at: number, where: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = view.getBigUint64(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw invalid(`${where}: size ${value} is not plausible`);
  return Number(value);
}

function invalid(message: string): AppError {
  return new AppError('ARCHIVE_INVALID', message);
}
