/**
 * A run lock: one file created exclusively, holding the owner's pid and start time. A lock whose
 * owner is gone (a killed run) is taken over; a live owner makes the caller fail with
 * ALREADY_RUNNING, so two runs never overlap.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from './errors.js';

/** A held lock; release it when done (also safe to call twice). */
export interface RunLock {
  path: string;
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  startedAt: string;
  command: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock at `path` for `command`, recovering a stale lock left by a dead process. */
export async function acquireRunLock(path: string, command: string): Promise<RunLock> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    // The lock appears with its content already in it: written to a private temp file, then
    // hard-linked into place (link fails if the lock exists). Creating the lock empty and writing
    // the pid afterwards would let a concurrent reader see an empty lock and take it for abandoned.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), command };
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(JSON.stringify(info));
      await handle.sync();
    } finally {
      await handle.close();
    }
    let linked = false;
    try {
      await link(tmp, path);
      linked = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
    if (linked) {
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          await unlink(path).catch(() => {});
        },
      };
    }
    let owner: LockInfo | undefined;
    try {
      owner = JSON.parse(await readFile(path, 'utf8')) as LockInfo;
    } catch {
      owner = undefined; // unreadable: left by a writer from before locks were linked into place
    }
    // A lock this very process holds counts as held: a run never nests inside another.
    if (owner && typeof owner.pid === 'number' && isAlive(owner.pid)) {
      throw new AppError(
        'ALREADY_RUNNING',
        `another run (${owner.command}, pid ${owner.pid}, since ${owner.startedAt}) holds ${path}`,
        {
          hint: 'wait for it to finish',
        },
      );
    }
    await unlink(path).catch(() => {}); // stale: its owner is gone
  }
  throw new AppError('ALREADY_RUNNING', `could not take the lock ${path}`);
}
