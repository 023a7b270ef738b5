/**
 * Random access to an open file, shaped as formats/'s ByteSource (which lib/ cannot import): archive
 * readers get exactly the bytes they ask for, so a multi-gigabyte package is never read whole.
 */
import type { FileHandle } from 'node:fs/promises';

/** Reads of `size` bytes of `handle`; a read past the end returns what there is (the reader checks). */
export function fileByteSource(
  handle: FileHandle,
  size: number,
): { readonly size: number; read(offset: number, length: number): Promise<Uint8Array> } {
  return {
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buffer = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await handle.read(buffer, got, n - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return new Uint8Array(buffer.buffer, buffer.byteOffset, got);
    },
  };
}
