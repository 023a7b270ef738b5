/**
 * Random access to archive bytes. Readers in `formats/` never open files themselves: the caller hands
 * them a `ByteSource` (an fs-backed one in the client and repo tool, `bufferSource` in tests), so a
 * multi-gigabyte package is read piecewise and the codecs stay free of I/O.
 */
import { AppError } from '../lib/errors.js';

/** Random access to the bytes of an archive, supplied by the caller (a file, a buffer, a download). */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A `ByteSource` over bytes already in memory; `read` returns views, not copies. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset: number, length: number): Promise<Uint8Array> {
      const start = Math.min(Math.max(0, offset), bytes.length);
      return Promise.resolve(bytes.subarray(start, Math.min(bytes.length, start + length)));
    },
  };
}

/**
 * Reads exactly `length` bytes at `offset`, or throws ARCHIVE_INVALID naming `what` when the range
 * runs past the end of the source (a truncated download) or the source returns short.
 */
export async function readExact(
  source: ByteSource,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  if (!isSafeRange(offset, length) || offset + length > source.size) {
    throw new AppError(
      'ARCHIVE_INVALID',
      `${what} (offset ${offset}, ${length} bytes) runs past the end of the archive (${source.size} bytes); the file is truncated`,
    );
  }
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new AppError(
      'ARCHIVE_INVALID',
      `${what}: read ${bytes.length} of ${length} bytes at offset ${offset}; the file is truncated`,
    );
  }
  return bytes;
}

/** True when offset and length are non-negative safe integers whose sum is also safe. */
export function isSafeRange(offset: number, length: number): boolean {
  return (
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    Number.isSafeInteger(offset + length)
  );
}

/** Joins byte arrays; returns the only part itself when there is one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Pull-based reader over an (async) iterable of chunks: `take(n)` returns exactly n bytes, or fewer
 * only at the end of the input. Used by the streaming decoders to read headers that straddle chunks.
 */
export class ByteQueue {
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far, i.e. the input offset of the next `take`. */
  consumed = 0;

  constructor(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator =
      Symbol.asyncIterator in chunks
        ? chunks[Symbol.asyncIterator]()
        : (chunks as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  /** Reads up to `n` bytes; a shorter result means the input ended. */
  async take(n: number): Promise<Uint8Array> {
    while (this.buffered < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.ended = true;
      } else if (next.value.length > 0) {
        this.pending.push(next.value);
        this.buffered += next.value.length;
      }
    }
    const want = Math.min(n, this.buffered);
    const out = this.splice(want);
    this.consumed += out.length;
    return out;
  }

  /** Stops the underlying iterator early (e.g. after an error), releasing what it holds. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.iterator.return?.();
    }
  }

  private splice(want: number): Uint8Array {
    const first = this.pending[0];
    if (want === 0 || first === undefined) return new Uint8Array(0);
    if (first.length >= want) {
      // Fast path: the request lies inside one chunk, so hand out a view instead of copying.
      const out = first.subarray(0, want);
      if (first.length === want) this.pending.shift();
      else this.pending[0] = first.subarray(want);
      this.buffered -= want;
      return out;
    }
    const out = new Uint8Array(want);
    let filled = 0;
    while (filled < want) {
      const head = this.pending[0];
      if (head === undefined) break;
      const n = Math.min(head.length, want - filled);
      out.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    this.buffered -= filled;
    return out;
  }
}
