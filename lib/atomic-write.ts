/**
 * Atomic file replacement: write a temp file beside the target, fsync it, rename it over the target,
 * then fsync the folder. A crash at any point leaves either the old file or the new one, never half.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode for the new file (default 0o644). */
  mode?: number;
  /** Create missing parent folders. */
  mkdirs?: boolean;
}

/** Replaces `path` with `data` atomically (temp file + fsync + rename + folder fsync). */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly (string | Uint8Array)[],
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  if (options.mkdirs) await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'w', options.mode ?? 0o644);
  try {
    const chunks = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    // writev in batches below IOV_MAX: catalogs are written as thousands of fragments.
    for (let i = 0; i < chunks.length; i += 512) {
      const batch = chunks
        .slice(i, i + 512)
        .map((c) => (typeof c === 'string' ? Buffer.from(c) : c));
      const total = batch.reduce((n, b) => n + b.byteLength, 0);
      const { bytesWritten } = await handle.writev(batch);
      if (bytesWritten < total) {
        // A short writev (rare on regular files): write the rest plainly.
        let rest = Buffer.concat(batch).subarray(bytesWritten);
        while (rest.length > 0) {
          const { bytesWritten: n } = await handle.write(rest);
          rest = rest.subarray(n);
        }
      }
    }
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** fsyncs a folder so a rename in it survives a power cut; a no-op where folders cannot be opened. */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some filesystems refuse fsync on folders (EINVAL/EISDIR/EPERM); the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    await handle?.close();
  }
}
