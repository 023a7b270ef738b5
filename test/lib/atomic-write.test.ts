import { mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/atomic-write.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-atomic-'));
});
afterEach(async () => {
  await chmod(dir, 0o755).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces an existing file with the new content', async () => {
    const p = join(dir, 'f');
    await writeFile(p, 'old');
    await writeFileAtomic(p, 'new');
    expect(await readFile(p, 'utf8')).toBe('new');
  });

  it('writes a list of chunks in order, across writev batches', async () => {
    const p = join(dir, 'f');
    const chunks = Array.from({ length: 1500 }, (_, i) => (i % 2 ? Buffer.from(`${i},`) : `${i},`));
    await writeFileAtomic(p, chunks);
    expect(await readFile(p, 'utf8')).toBe(
      Array.from({ length: 1500 }, (_, i) => `${i},`).join(''),
    );
  });

  it('sets the requested mode', async () => {
    const p = join(dir, 'f');
    await writeFileAtomic(p, 'x', { mode: 0o600 });
    expect((await stat(p)).mode & 0o777).toBe(0o600);
  });

  it('creates missing parent folders when asked', async () => {
    const p = join(dir, 'a', 'b', 'f');
    await writeFileAtomic(p, 'x', { mkdirs: true });
    expect(await readFile(p, 'utf8')).toBe('x');
  });

  it('leaves the old file and no temp file when the write fails', async () => {
    const p = join(dir, 'f');
    await writeFile(p, 'old');
    await chmod(dir, 0o500);
    // root ignores folder permissions; only assert when the failure can really happen.
    const failed = await writeFileAtomic(p, 'new').then(
      () => false,
      () => true,
    );
    await chmod(dir, 0o755);
    if (failed) {
      expect(await readFile(p, 'utf8')).toBe('old');
      expect(await readdir(dir)).toEqual(['f']);
    } else {
      expect(await readFile(p, 'utf8')).toBe('new');
    }
  });
});
