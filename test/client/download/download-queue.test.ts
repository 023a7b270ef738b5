import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DownloadResult } from '../../../client/download/download-item.js';
import {
  aggregateProgress,
  formatDuration,
  formatRate,
} from '../../../client/download/download-progress.js';
import {
  downloadAll,
  pruneCache,
  type DownloadAllOptions,
  type DownloadRequest,
} from '../../../client/download/download-queue.js';
import { FetchError } from '../../../client/sync/fetch-error.js';
import { createHttpClient, type HttpClient } from '../../../client/sync/http-client.js';
import { AppError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import type { Progress } from '../../../lib/progress.js';
import { routes, startTestServer, type TestServer } from '../../helpers/https-server.js';

const MIB = 1024 * 1024;
const NAMES = ['A', 'B', 'C', 'D', 'E'];

let repo: string;
let server: TestServer;
let cache: string;
let client: HttpClient;
const files = new Map<string, Buffer>();

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'abbot-queue-repo-'));
  for (const name of NAMES) {
    const bytes = randomBytes(MIB + name.charCodeAt(0));
    files.set(name, bytes);
    await writeFile(join(repo, `${name}.pkg`), bytes);
  }
  server = await startTestServer({ root: repo });
});

beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'abbot-queue-cache-'));
  client = createHttpClient({
    caCertificatePath: server.pki.caCert,
    followRedirects: 'none',
    timeoutMs: 5_000,
    retries: 0,
    userAgent: 'abbot-test/1.0',
    logger: silentLogger,
  });
});

afterEach(async () => {
  server.clearRoutes();
  server.resetRequests();
  await client.close();
  await rm(cache, { recursive: true, force: true });
});

afterAll(async () => {
  await server.stop();
  await rm(repo, { recursive: true, force: true });
});

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function request(name: string, overrides: Partial<DownloadRequest> = {}): DownloadRequest {
  const bytes = files.get(name) ?? Buffer.alloc(0);
  return {
    name,
    url: `${server.url}/${name}.pkg`,
    dest: join(cache, `${name}.pkg`),
    expectedHash: sha256(bytes),
    expectedSize: bytes.length,
    ...overrides,
  };
}

function options(overrides: Partial<DownloadAllOptions> = {}): DownloadAllOptions {
  return {
    client,
    cacheDir: cache,
    verification: 'hash',
    logger: silentLogger,
    ...overrides,
  };
}

function isResult(value: DownloadResult | Error | undefined): value is DownloadResult {
  return value !== undefined && !(value instanceof Error);
}

/** Serves every file after a delay while counting how many requests are open at once. */
function countConcurrency(): { peak: () => number } {
  let active = 0;
  let peak = 0;
  for (const name of NAMES) {
    server.setRoute(`/${name}.pkg`, async (req, res, ctx) => {
      active++;
      peak = Math.max(peak, active);
      res.on('close', () => active--);
      await routes.delay(150)(req, res, ctx);
    });
  }
  return { peak: () => peak };
}

describe('downloadAll', () => {
  it('downloads every item and keys the results by name', async () => {
    const results = await downloadAll(
      NAMES.map((n) => request(n)),
      options(),
    );
    expect([...results.keys()]).toEqual(NAMES);
    for (const name of NAMES) {
      const result = results.get(name);
      expect(isResult(result)).toBe(true);
      // Buffer.equals: toEqual compares a megabyte element by element, slowly.
      expect(
        (await readFile(join(cache, `${name}.pkg`))).equals(files.get(name) ?? Buffer.alloc(0)),
      ).toBe(true);
    }
  });

  it('runs no more than two downloads at once by default', async () => {
    const counter = countConcurrency();
    const results = await downloadAll(
      NAMES.map((n) => request(n)),
      options(),
    );
    expect([...results.values()].every(isResult)).toBe(true);
    expect(counter.peak()).toBe(2);
  });

  it('honours a higher concurrency', async () => {
    const counter = countConcurrency();
    await downloadAll(
      NAMES.map((n) => request(n)),
      options({ concurrency: 4 }),
    );
    expect(counter.peak()).toBe(4);
  });

  it('keeps going when one item fails, and records its error', async () => {
    server.setRoute('/B.pkg', routes.status(404));
    const results = await downloadAll(
      [request('A'), request('B'), request('C', { expectedHash: 'ee'.repeat(32) }), request('D')],
      options({ concurrency: 1 }),
    );
    expect(isResult(results.get('A'))).toBe(true);
    expect(results.get('B')).toBeInstanceOf(FetchError);
    expect(results.get('C')).toMatchObject({ code: 'HASH_MISMATCH' });
    expect(isResult(results.get('D'))).toBe(true);
  });

  it('fetches an installer shared by two items once', async () => {
    const shared = join(cache, 'A.pkg');
    const results = await downloadAll(
      [
        request('A'),
        request('B', {
          url: `${server.url}/A.pkg`,
          dest: shared,
          expectedHash: sha256(files.get('A') ?? Buffer.alloc(0)),
        }),
      ],
      options(),
    );
    expect(results.get('A')).toBe(results.get('B'));
    expect(server.requests).toHaveLength(1);
  });

  it('refuses to start when the volume lacks space, naming need and have', async () => {
    const statfs = async () => ({ bavail: 10, bsize: 4096 });
    const promise = downloadAll(
      [request('A', { installedSize: 50 * MIB })],
      options({ space: { statfs } }),
    );
    await expect(promise).rejects.toThrow(AppError);
    await expect(promise).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(
        /^not enough free space on .+: need 151\.\d MiB, have 40\.0 KiB$/,
      ) as string,
    });
    expect(server.requests).toHaveLength(0);
  });

  it('does not count what is already cached towards the space needed', async () => {
    await downloadAll([request('A')], options({ space: false }));
    const seen: string[] = [];
    // Exactly the margin is free: enough only because A is already in the cache.
    const statfs = async (path: string) => {
      seen.push(path);
      return { bavail: 100 * 256, bsize: 4096 };
    };
    const results = await downloadAll([request('A')], options({ space: { statfs } }));
    expect(results.get('A')).toMatchObject({ fromCache: true });
    expect(seen).toEqual([cache]);
  });

  it('draws aggregate progress and clears it at the end', async () => {
    const updates: { label: string; done: number; total: number | undefined }[] = [];
    let cleared = 0;
    const progress: Progress = {
      update: (label, done, total) => updates.push({ label, done, total }),
      done: () => cleared++,
    };
    let t = 0;
    await downloadAll(
      NAMES.map((n) => request(n)),
      options({ progress, now: () => (t += 50) }),
    );
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.at(-1)?.label).toMatch(/^Downloading \(5 of 5 done/);
    expect(cleared).toBe(1);
  });

  it('rejects with the abort reason when aborted', async () => {
    countConcurrency();
    const controller = new AbortController();
    const promise = downloadAll(
      NAMES.map((n) => request(n)),
      options({ signal: controller.signal }),
    );
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(promise).rejects.toThrow('stop');
  });
});

describe('aggregateProgress', () => {
  it('works out the rate over the window and the time left', () => {
    let t = 0;
    const p = aggregateProgress(
      new Map([
        ['a', 10 * MIB],
        ['b', 10 * MIB],
      ]),
      { update: () => {}, done: () => {} },
      () => t,
    );
    p.report('a', { received: 0, total: 10 * MIB });
    p.report('b', { received: 0 });
    for (let i = 1; i <= 10; i++) {
      t = i * 1000;
      p.report('a', { received: i * MIB, total: 10 * MIB });
    }
    const s = p.snapshot();
    expect(s.received).toBe(10 * MIB);
    expect(s.total).toBe(20 * MIB);
    expect(s.bytesPerSecond).toBeCloseTo(MIB, -3);
    expect(s.etaSeconds).toBeCloseTo(10, 0);
  });

  it('does not count a resumed partial as transfer', () => {
    let t = 0;
    const p = aggregateProgress(
      new Map([['a', 10 * MIB]]),
      { update: () => {}, done: () => {} },
      () => t,
    );
    t = 1000;
    p.report('a', { received: 9 * MIB, total: 10 * MIB });
    t = 2000;
    p.report('a', { received: 9 * MIB + 1024, total: 10 * MIB });
    expect(p.snapshot().bytesPerSecond).toBeLessThan(2048);
  });

  it.each([
    [512 * 1024, '512 KiB/s'],
    [3 * MIB, '3.0 MiB/s'],
  ])('formats %d bytes/s as %s', (rate, text) => {
    expect(formatRate(rate)).toBe(text);
  });

  it.each([
    [7, '0:07'],
    [754, '12:34'],
    [3723, '1:02:03'],
  ])('formats %d s as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('pruneCache', () => {
  it('removes entries no longer planned with their sidecars and partials, keeping the rest', async () => {
    const touch = async (rel: string): Promise<void> => {
      await mkdir(join(cache, rel, '..'), { recursive: true });
      await writeFile(join(cache, rel), 'x');
    };
    for (const rel of [
      'Keep.pkg',
      'Keep.pkg.sha256',
      'Next.dmg.download',
      'Next.dmg.download.json',
      'Old.pkg',
      'Old.pkg.sha256',
      'Gone.pkg.download',
      'Gone.pkg.download.json',
      '.Keep.pkg.sha256.4242.0a1b2c3d.tmp',
      'sub/Nested.pkg',
      'sub/Stale.pkg',
    ]) {
      await touch(rel);
    }
    const removed = await pruneCache(cache, new Set(['Keep.pkg', 'Next.dmg', 'sub/Nested.pkg']));
    expect(removed).toEqual([
      '.Keep.pkg.sha256.4242.0a1b2c3d.tmp',
      'Gone.pkg.download',
      'Gone.pkg.download.json',
      'Old.pkg',
      'Old.pkg.sha256',
      'sub/Stale.pkg',
    ]);
    expect((await readdir(cache)).sort()).toEqual([
      'Keep.pkg',
      'Keep.pkg.sha256',
      'Next.dmg.download',
      'Next.dmg.download.json',
      'sub',
    ]);
  });

  it('removes folders it empties and tolerates a missing cache', async () => {
    await mkdir(join(cache, 'old', 'deeper'), { recursive: true });
    await writeFile(join(cache, 'old', 'deeper', 'X.pkg'), 'x');
    expect(await pruneCache(cache, new Set())).toEqual(['old/deeper/X.pkg']);
    expect(await readdir(cache)).toEqual([]);
    expect(await pruneCache(join(cache, 'missing'), new Set())).toEqual([]);
  });
});
