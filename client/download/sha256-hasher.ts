/**
 * SHA-256 of a download as it streams, either on the calling thread or on a worker thread. At
 * loopback speeds hashing is a third of a large download's CPU (~0.75 s per GiB even with SHA
 * instructions), and the main thread is already busy decrypting TLS; a worker lets the two run on
 * separate cores. Small files hash inline: a worker costs ~30 ms to start.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../lib/errors.js';

/** Hashes buffers in the order given; each buffer is handed over and comes back through `recycle`. */
export interface StreamHasher {
  /** Hashes the first `length` bytes of `path` first (what a resumed download already has). */
  seed(path: string, length: number): Promise<void>;
  /**
   * Adds the first `length` bytes of `buffer`, which must own its whole ArrayBuffer
   * (`Buffer.allocUnsafeSlow`) and must not be touched until `recycle` hands it back: a worker
   * hasher takes it away in the meantime.
   */
  update(buffer: Buffer, length: number): void;
  /** Resolves with the lowercase hex digest once everything given to `update` is hashed. */
  digest(): Promise<string>;
  /** Stops the worker, if any; safe to call more than once. */
  close(): void;
}

/** How `createHasher` hashes and hands buffers back. */
export interface HasherOptions {
  /** Called with each buffer once hashed, so it can be filled again. */
  recycle: (buffer: Buffer) => void;
  /** Hash on a worker thread (for large downloads). */
  useWorker: boolean;
  /** Called if the worker dies, so a producer waiting for buffers does not wait forever. */
  onError?: ((error: Error) => void) | undefined;
}

const READ_CHUNK = 4 * 1024 * 1024;

/** A hasher on this thread or on a worker, per `useWorker`. */
export function createHasher(options: HasherOptions): StreamHasher {
  return options.useWorker
    ? workerHasher(options.recycle, options.onError ?? (() => {}))
    : inlineHasher(options.recycle);
}

function inlineHasher(recycle: (buffer: Buffer) => void): StreamHasher {
  const hash = createHash('sha256');
  return {
    async seed(path, length) {
      await readPrefix(path, length, (bytes) => hash.update(bytes));
    },
    update(buffer, length) {
      hash.update(buffer.subarray(0, length));
      recycle(buffer);
    },
    digest: () => Promise.resolve(hash.digest('hex')),
    close: () => {},
  };
}

// Plain JavaScript evaluated in the worker (a file beside this one would not exist when the
// sources run under vitest). Messages are handled in order, so 'digest' follows every 'data'.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  try {
    if (m.type === 'data') {
      hash.update(new Uint8Array(m.buffer, 0, m.length));
      parentPort.postMessage({ type: 'buffer', buffer: m.buffer, length: m.length }, [m.buffer]);
    } else if (m.type === 'seed') {
      const fd = openSync(m.path, 'r');
      try {
        const buffer = Buffer.allocUnsafe(${READ_CHUNK});
        for (let at = 0; at < m.length; ) {
          const n = readSync(fd, buffer, 0, Math.min(buffer.length, m.length - at), at);
          if (n === 0) throw new Error(m.path + ' shrank while being resumed');
          hash.update(buffer.subarray(0, n));
          at += n;
        }
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ type: 'seeded' });
    } else if (m.type === 'digest') {
      parentPort.postMessage({ type: 'digest', hex: hash.digest('hex') });
    }
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: e && e.message ? e.message : String(e) });
  }
});
`;

type WorkerReply =
  | { type: 'buffer'; buffer: ArrayBuffer; length: number }
  | { type: 'seeded' }
  | { type: 'digest'; hex: string }
  | { type: 'error'; message: string };

function workerHasher(
  recycle: (buffer: Buffer) => void,
  onError: (error: Error) => void,
): StreamHasher {
  // Kept referenced: a pending digest must keep the process alive. `close` always ends it.
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // It only hashes buffers it is lent; a small heap keeps the client's peak memory down.
    resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 },
  });
  let waiting: { resolve: (value: string) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  let closed = false;
  const fail = (e: Error): void => {
    const first = failure === undefined;
    failure ??= e;
    waiting?.reject(failure);
    waiting = undefined;
    if (first && !closed) onError(failure);
  };
  worker.on('message', (reply: WorkerReply) => {
    switch (reply.type) {
      case 'buffer':
        recycle(Buffer.from(reply.buffer, 0, reply.buffer.byteLength));
        break;
      case 'seeded':
        waiting?.resolve('');
        waiting = undefined;
        break;
      case 'digest':
        waiting?.resolve(reply.hex);
        waiting = undefined;
        break;
      case 'error':
        fail(new AppError('IO', `hashing failed: ${reply.message}`));
        break;
    }
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', () => fail(new Error('hash worker stopped')));
  const ask = (message: object): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      if (failure) {
        reject(failure);
        return;
      }
      waiting = { resolve, reject };
      worker.postMessage(message);
    });
  return {
    async seed(path, length) {
      await ask({ type: 'seed', path, length });
    },
    update(buffer, length) {
      const whole = buffer.buffer as ArrayBuffer;
      worker.postMessage({ type: 'data', buffer: whole, length }, [whole]);
    },
    digest: () => ask({ type: 'digest' }),
    close() {
      if (closed) return;
      closed = true;
      // Expected now: the 'exit' that follows is not a failure.
      failure ??= new Error('hash worker closed');
      void worker.terminate();
    },
  };
}

async function readPrefix(
  path: string,
  length: number,
  onBytes: (bytes: Buffer) => void,
): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, length)));
    for (let at = 0; at < length;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - at), at);
      if (bytesRead === 0) throw new Error(`${path} shrank while being resumed`);
      onBytes(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } catch (e) {
    throw new AppError('IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await handle?.close();
  }
}
