/**
 * Decoding a flat package's `Payload` (or `Scripts`) member into cpio bytes. The encoding is sniffed
 * from the magic bytes, never trusted from names: pkgbuild writes gzip, `--compression latest`
 * writes pbzx, very old packages bzip2, and a few tools store plain cpio.
 */
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, createInflate, gunzip, inflate } from 'node:zlib';
import { AppError } from '../lib/errors.js';
import { ByteQueue } from './byte-source.js';
import { decodePbzx, decodePbzxStream } from './pbzx.js';

/** What a payload's first bytes say it is. */
export type PayloadEncoding =
  'gzip' | 'zlib' | 'pbzx' | 'cpio' | 'bzip2' | 'pbz-other' | 'apple-archive' | 'unknown';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Names the encoding from the first few (at least 6) bytes of a payload. */
export function sniffPayloadEncoding(head: Uint8Array): PayloadEncoding {
  const [b0, b1, b2, b3] = head;
  if (b0 === undefined || b1 === undefined) return 'unknown';
  if (b0 === 0x1f && b1 === 0x8b) return 'gzip';
  if (b0 === 0x70 && b1 === 0x62 && b2 === 0x7a) return b3 === 0x78 ? 'pbzx' : 'pbz-other';
  if (ascii(head, 0, 4) === '0707') return 'cpio';
  if (ascii(head, 0, 3) === 'BZh') return 'bzip2';
  if (ascii(head, 0, 4) === 'AA01' || ascii(head, 0, 4) === 'YAA1') return 'apple-archive';
  // RFC 1950 header: method 8 (deflate), window ≤ 32 KiB, and the 16-bit header divisible by 31.
  if ((b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0) return 'zlib';
  return 'unknown';
}

/** Decodes a whole payload (gzip, zlib, pbzx or plain cpio) to its cpio bytes. */
export async function decodePayload(bytes: Uint8Array): Promise<Uint8Array> {
  const encoding = sniffPayloadEncoding(bytes);
  switch (encoding) {
    case 'gzip':
    case 'zlib':
      try {
        return await (encoding === 'gzip' ? gunzipAsync(bytes) : inflateAsync(bytes));
      } catch (e) {
        throw zlibError(encoding, e);
      }
    case 'pbzx':
    case 'pbz-other':
      return decodePbzx(bytes);
    case 'cpio':
      return bytes;
    default:
      throw unsupported(encoding, bytes);
  }
}

/**
 * Decodes a payload given as chunks (e.g. streamed from a xar member), yielding cpio bytes as they
 * become available, so multi-gigabyte payloads never sit in memory whole.
 */
export async function* decodePayloadStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const input = new ByteQueue(chunks);
  try {
    const head = await input.take(6);
    const rest = restOf(head, input);
    const encoding = sniffPayloadEncoding(head);
    switch (encoding) {
      case 'gzip':
      case 'zlib':
        yield* inflateStream(rest);
        return;
      case 'pbzx':
      case 'pbz-other':
        yield* decodePbzxStream(rest);
        return;
      case 'cpio':
        yield* rest;
        return;
      default:
        throw unsupported(encoding, head);
    }
  } finally {
    await input.close();
  }
}

/**
 * Inflates a gzip or zlib stream (told apart by magic) given as chunks. xar's
 * `application/x-gzip` members are really zlib streams, while Payloads are real gzip.
 */
export async function* inflateStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const input = new ByteQueue(chunks);
  const head = await input.take(2);
  const encoding = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : 'zlib';
  const decoder = encoding === 'gzip' ? createGunzip() : createInflate();
  const source = Readable.from(restOf(head, input));
  source.on('error', (e) => decoder.destroy(e));
  source.pipe(decoder);
  try {
    for await (const part of decoder as AsyncIterable<Uint8Array>) yield part;
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw zlibError(encoding, e);
  } finally {
    source.destroy();
    decoder.destroy();
    await input.close();
  }
}

/** The bytes already peeked, followed by the rest of the queue in 1 MiB pieces. */
async function* restOf(head: Uint8Array, input: ByteQueue): AsyncGenerator<Uint8Array> {
  if (head.length > 0) yield head;
  for (;;) {
    const part = await input.take(1 << 20);
    if (part.length === 0) return;
    yield part;
  }
}

function zlibError(encoding: 'gzip' | 'zlib', e: unknown): AppError {
  const detail = e instanceof Error ? e.message : String(e);
  return new AppError('ARCHIVE_INVALID', `${encoding} data is corrupt or truncated (${detail})`, {
    cause: e,
  });
}

function unsupported(encoding: PayloadEncoding, head: Uint8Array): AppError {
  switch (encoding) {
    case 'bzip2':
      return new AppError('ARCHIVE_INVALID', 'bzip2-compressed payloads are not supported');
    case 'apple-archive':
      return new AppError(
        'ARCHIVE_INVALID',
        'Apple Archive (AA01/YAA1) payloads are not supported',
      );
    default: {
      if (head.length === 0) return new AppError('ARCHIVE_INVALID', 'payload is empty');
      const hex = Array.from(head.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
      return new AppError('ARCHIVE_INVALID', `unknown payload encoding (starts with ${hex})`);
    }
  }
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}
