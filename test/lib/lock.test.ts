import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireRunLock } from '../../lib/lock.js';
import { isAppError } from '../../lib/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireRunLock', () => {
  it('writes the owner pid and removes the file on release', async () => {
    const lock = await acquireRunLock(join(dir, 'run.lock'), 'check');
    expect(JSON.parse(await readFile(lock.path, 'utf8'))).toMatchObject({
      pid: process.pid,
      command: 'check',
    });
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it('refuses a second run while the owner is alive', async () => {
    const child = spawn('sleep', ['30']);
    try {
      await writeFile(
        join(dir, 'run.lock'),
        JSON.stringify({ pid: child.pid, startedAt: 'x', command: 'install' }),
      );
      const error = await acquireRunLock(join(dir, 'run.lock'), 'check').catch((e: unknown) => e);
      expect(isAppError(error, 'ALREADY_RUNNING')).toBe(true);
      expect(String((error as Error).message)).toContain(`pid ${child.pid}`);
    } finally {
      child.kill();
    }
  });

  it('takes over a lock left by a process that is gone', async () => {
    const child = spawn('true');
    await new Promise((r) => child.on('exit', r));
    await writeFile(
      join(dir, 'run.lock'),
      JSON.stringify({ pid: child.pid, startedAt: 'x', command: 'install' }),
    );
    const lock = await acquireRunLock(join(dir, 'run.lock'), 'check');
    expect(JSON.parse(await readFile(lock.path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over an empty lock file left by a run killed while writing it', async () => {
    await writeFile(join(dir, 'run.lock'), '');
    const lock = await acquireRunLock(join(dir, 'run.lock'), 'check');
    await lock.release();
  });
});
