/**
 * Writes a download to a file and hashes it, without a stream's per-chunk cost (a 1 GiB download
 * arrives as ~65,000 TLS records). Chunks are copied into a few large buffers of our own; a full
 * buffer is written at its offset (one write in flight), then handed to the hasher (maybe on a
 * worker thread), then comes back to be filled again. So the network, the disk and the hash overlap
 * instead of taking turns, memory stays at `maxBatches × batchBytes`, and what is hashed is exactly
 * what was written. The kernel is asked to start flushing every few dozen MiB, so the final fsync
 * of a multi-GB installer has little left to wait for.
 */
import type { FileHandle } from 'node:fs/promises';
import { AppError } from '../../lib/errors.js';
import { createHasher, type StreamHasher } from './sha256-hasher.js';

/** Tuning for `FileSink`; the defaults suit installers from 1 MB to tens of GB. */
export interface FileSinkOptions {
  /** Size of each buffer, and so of each write. */
  batchBytes?: number;
  /** Buffers at most (being filled, written or hashed) before the producer is asked to pause. */
  maxBatches?: number;
  /** Bytes written between background `fdatasync` calls (0 = only the final sync). */
  syncEveryBytes?: number;
  /** Hash on a worker thread (worth it for large files only). */
  hashOnWorker?: boolean;
}

interface Batch {
  buffer: Buffer;
  length: number;
  position: number;
}

/** Sequential writer and SHA-256 over an open file, starting at `position`; failures are AppError('IO'). */
export class FileSink {
  private readonly hasher: StreamHasher;
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | undefined;
  private filled = 0;
  private readonly queue: Batch[] = [];
  private running: Promise<void> | undefined;
  private syncing: Promise<void> | undefined;
  private sinceSync = 0;
  private failure: AppError | undefined;
  private drainWaiter: (() => void) | undefined;
  private errorListener: ((error: AppError) => void) | undefined;
  private readonly batchBytes: number;
  private readonly maxBatches: number;
  private readonly syncEveryBytes: number;
  /** Offset where the next batch goes. */
  private position: number;

  constructor(
    private readonly handle: FileHandle,
    /** The file's path, for messages. */
    private readonly path: string,
    position: number,
    options: FileSinkOptions = {},
  ) {
    this.position = position;
    this.batchBytes = options.batchBytes ?? 2 * 1024 * 1024;
    this.maxBatches = Math.max(2, options.maxBatches ?? 4);
    this.syncEveryBytes = options.syncEveryBytes ?? 64 * 1024 * 1024;
    this.hasher = createHasher({
      useWorker: options.hashOnWorker ?? false,
      recycle: (buffer) => this.recycle(buffer),
      onError: (e) =>
        this.fail(new AppError('IO', `cannot hash ${this.path}: ${e.message}`, { cause: e })),
    });
  }

  /** Hashes the `length` bytes already in the file (a resumed download) before any new ones. */
  async seed(length: number): Promise<void> {
    await this.hasher.seed(this.path, length);
  }

  /**
   * Takes `chunk` (copied, so the caller may reuse it). Returns false when every buffer is busy:
   * the producer should pause until `onDrain` calls back.
   */
  write(chunk: Buffer): boolean {
    if (this.failure) return false;
    let offset = 0;
    while (offset < chunk.byteLength) {
      const current = (this.current ??= this.takeBuffer());
      const n = chunk.copy(current, this.filled, offset);
      this.filled += n;
      offset += n;
      if (this.filled === current.byteLength) this.enqueueCurrent();
    }
    return this.hasRoom();
  }

  /** Calls `callback` once when the sink can take more after `write` returned false. */
  onDrain(callback: () => void): void {
    this.drainWaiter = callback;
  }

  /** Calls `listener` when a write fails (the producer should stop). */
  onError(listener: (error: AppError) => void): void {
    this.errorListener = listener;
  }

  /** Writes what is queued, fsyncs the file and resolves with its SHA-256 (lowercase hex). */
  async finish(): Promise<string> {
    if (this.filled > 0 && !this.failure) this.enqueueCurrent();
    await this.settle();
    if (this.failure) throw this.failure;
    const sha256 = await this.hasher.digest();
    try {
      await this.handle.sync();
    } catch (e) {
      throw this.wrap(e);
    }
    return sha256;
  }

  /**
   * Writes what is queued, durably, without throwing: for a download that stopped early (abort,
   * dropped connection), whose bytes so far are still a good prefix worth resuming.
   */
  async abandon(): Promise<void> {
    if (this.filled > 0 && !this.failure) this.enqueueCurrent();
    await this.settle();
    // Durable too, so that after a power cut the partial is still a prefix of the real file.
    await this.handle.datasync().catch(() => {});
  }

  /** Waits for writes already started, ignoring their errors. */
  async settle(): Promise<void> {
    // Loops: a finished run of writes may be followed by another before this wakes up.
    while (this.running || this.syncing) {
      await this.running;
      await this.syncing;
    }
  }

  /** Stops the hash worker, if any. Always call it, after `finish` or `abandon`. */
  close(): void {
    this.hasher.close();
  }

  private takeBuffer(): Buffer {
    const buffer = this.free.pop();
    if (buffer) return buffer;
    this.allocated++;
    // Its own ArrayBuffer, so that it can be transferred to the hash worker and back.
    return Buffer.allocUnsafeSlow(this.batchBytes);
  }

  /** True while a buffer is free or may still be allocated. */
  private hasRoom(): boolean {
    return this.free.length > 0 || this.allocated < this.maxBatches;
  }

  private recycle(buffer: Buffer): void {
    this.free.push(buffer);
    const waiter = this.drainWaiter;
    if (waiter && this.hasRoom()) {
      this.drainWaiter = undefined;
      waiter();
    }
  }

  private enqueueCurrent(): void {
    const buffer = this.current;
    if (!buffer) return;
    this.queue.push({ buffer, length: this.filled, position: this.position });
    this.position += this.filled;
    this.current = undefined;
    this.filled = 0;
    this.kick();
  }

  private kick(): void {
    if (this.running || this.failure) return;
    this.running = this.writeQueued().finally(() => {
      this.running = undefined;
      // A batch queued while the loop was finishing would otherwise wait for the next one.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async writeQueued(): Promise<void> {
    for (let batch = this.queue.shift(); batch; batch = this.queue.shift()) {
      try {
        await writeFully(this.handle, batch);
      } catch (e) {
        this.fail(e);
        return;
      }
      // Hashed after it is written: the hash covers exactly the bytes on disk.
      this.hasher.update(batch.buffer, batch.length);
      this.afterWrite(batch.length);
    }
  }

  private afterWrite(bytes: number): void {
    this.sinceSync += bytes;
    if (this.syncEveryBytes <= 0 || this.sinceSync < this.syncEveryBytes || this.syncing) return;
    this.sinceSync = 0;
    // Not awaited: the disk works through the earlier pages while new ones arrive. Errors
    // surface through the final sync, which reports anything the kernel failed to write.
    this.syncing = this.handle
      .datasync()
      .catch(() => {})
      .finally(() => {
        this.syncing = undefined;
      });
  }

  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e instanceof AppError ? e : this.wrap(e);
    this.errorListener?.(this.failure);
  }

  private wrap(e: unknown): AppError {
    return new AppError('IO', `cannot write ${this.path}: ${(e as Error).message}`, { cause: e });
  }
}

async function writeFully(handle: FileHandle, batch: Batch): Promise<void> {
  let done = 0;
  while (done < batch.length) {
    // A short write (rare on regular files) just continues where it stopped.
    const { bytesWritten } = await handle.write(
      batch.buffer,
      done,
      batch.length - done,
      batch.position + done,
    );
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}
