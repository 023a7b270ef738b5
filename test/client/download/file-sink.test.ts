import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSink, type FileSinkOptions } from '../../../client/download/file-sink.js';

const KIB = 1024;

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-sink-'));
  path = join(dir, 'out.bin');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Feeds `data` in chunks of `chunkSize`, honouring backpressure, and returns the digest. */
async function sinkAll(
  data: Buffer,
  options: FileSinkOptions,
  start = 0,
  chunkSize = 16 * KIB,
): Promise<{ sha256: string; pauses: number }> {
  const handle = await open(path, start > 0 ? 'r+' : 'w');
  const sink = new FileSink(handle, path, start, options);
  let pauses = 0;
  try {
    if (start > 0) await sink.seed(start);
    for (let at = start; at < data.length; at += chunkSize) {
      if (!sink.write(data.subarray(at, at + chunkSize))) {
        pauses++;
        await new Promise<void>((resume) => sink.onDrain(resume));
      }
    }
    return { sha256: await sink.finish(), pauses };
  } finally {
    sink.close();
    await handle.close();
  }
}

describe('FileSink', () => {
  it.each([
    ['on this thread', false],
    ['on a worker thread', true],
  ])('writes every byte in order and hashes them %s', async (_label, hashOnWorker) => {
    // Chunks that do not divide the batch size, so batches split chunks.
    const data = randomBytes(3 * 1024 * KIB + 123);
    const result = await sinkAll(data, { batchBytes: 256 * KIB, hashOnWorker }, 0, 10_000);
    expect(result.sha256).toBe(sha256(data));
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it.each([
    ['on this thread', false],
    ['on a worker thread', true],
  ])('seeds the hash with bytes already in the file %s', async (_label, hashOnWorker) => {
    const data = randomBytes(1024 * KIB);
    const prefix = 300 * KIB + 7;
    await writeFile(path, data.subarray(0, prefix));
    const result = await sinkAll(data, { batchBytes: 64 * KIB, hashOnWorker }, prefix);
    expect(result.sha256).toBe(sha256(data));
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('asks the producer to pause once every buffer is busy, and resumes it', async () => {
    const data = randomBytes(2 * 1024 * KIB);
    const result = await sinkAll(data, { batchBytes: 16 * KIB, maxBatches: 2, hashOnWorker: true });
    expect(result.pauses).toBeGreaterThan(0);
    expect(result.sha256).toBe(sha256(data));
  });

  it('writes what it holds when abandoned, so the partial keeps every byte received', async () => {
    const data = randomBytes(100 * KIB);
    const handle = await open(path, 'w');
    const sink = new FileSink(handle, path, 0, { batchBytes: 1024 * KIB });
    sink.write(data);
    await sink.abandon();
    sink.close();
    await handle.close();
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('reports a write failure as IO naming the file', async () => {
    await writeFile(path, '');
    // Opened read-only: every write fails with EBADF.
    const handle = await open(path, 'r');
    const sink = new FileSink(handle, path, 0, { batchBytes: 4 * KIB });
    const failed = new Promise((resolve) => sink.onError(resolve));
    sink.write(Buffer.alloc(8 * KIB));
    await expect(failed).resolves.toMatchObject({ code: 'IO' });
    await expect(sink.finish()).rejects.toThrow(`cannot write ${path}`);
    sink.close();
    await handle.close();
  });
});
