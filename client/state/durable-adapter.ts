/**
 * A lowdb `Adapter` for state that must survive crashes and concurrent writers. lowdb's own file
 * adapter writes through a temp file but does not fsync, set a mode or lock; this one:
 * - writes atomically (temp + fsync + rename + folder fsync) with mode 0600, since client state is
 *   root's business;
 * - takes `<file>.lock` (O_EXCL, a dead owner's lock taken over) around every write, so two
 *   processes never interleave, and serialises writers inside one process, because the run lock
 *   treats a lock held by its own pid as stale;
 * - moves a corrupt file aside (`<file>.corrupt-<timestamp>`) and reads it as missing, so one bad
 *   write by anything never leaves the client crashing on start forever.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Adapter } from 'lowdb';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError, describeError, isAppError } from '../../lib/errors.js';
import { acquireRunLock, type RunLock } from '../../lib/lock.js';
import { silentLogger, type Logger } from '../../lib/log.js';

/** How a {@link DurableJsonAdapter} behaves; every field has a default. */
export interface DurableAdapterOptions<T> {
  /**
   * Turns parsed JSON into `T`; `undefined` means the content is unusable and is treated like a
   * corrupt file. Default: any parsed value is taken as it is.
   */
  parse?: (value: unknown) => T | undefined;
  /** File mode of the written file (default 0o600). */
  mode?: number;
  /** How long a write waits for another process's lock before failing (default 10 s). */
  lockTimeoutMs?: number;
  /** Hears about corrupt files moved aside and leftover temp files removed. */
  logger?: Logger;
  /** The clock that stamps `<file>.corrupt-<timestamp>` (default: the real one). */
  now?: () => Date;
}

/** What {@link DurableJsonAdapter.peek} found, without changing anything on disk. */
export type PeekResult<T> =
  { state: 'missing' } | { state: 'ok'; value: T } | { state: 'corrupt'; reason: string };

/** Files whose lock the current async context holds, so nested writes do not wait on themselves. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();
/** Per-file tail of the in-process queue of exclusive sections. */
const queues = new Map<string, Promise<unknown>>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A lowdb adapter over one JSON file: atomic, fsynced, 0600, locked, and self-healing on corruption. */
export class DurableJsonAdapter<T> implements Adapter<T> {
  /** The JSON file (absolute). */
  readonly file: string;
  /** The write lock beside it. */
  readonly lockFile: string;
  readonly #parse: (value: unknown) => T | undefined;
  readonly #mode: number;
  readonly #lockTimeoutMs: number;
  readonly #logger: Logger;
  readonly #now: () => Date;

  /** An adapter for `file`; nothing is read or created until it is used. */
  constructor(file: string, options: DurableAdapterOptions<T> = {}) {
    this.file = resolve(file);
    this.lockFile = `${this.file}.lock`;
    this.#parse = options.parse ?? ((value) => value as T);
    this.#mode = options.mode ?? 0o600;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => new Date());
  }

  /** The stored value; null when there is none, or when it was corrupt (and has been moved aside). */
  async read(): Promise<T | null> {
    const first = await this.peek();
    if (first.state === 'ok') return first.value;
    if (first.state === 'missing') return null;
    // Look again under the lock: a writer may have replaced the file since, and moving aside a
    // good file would lose it.
    return this.exclusive(async () => {
      const again = await this.peek();
      if (again.state === 'ok') return again.value;
      if (again.state === 'corrupt') await this.#moveAside(again.reason);
      return null;
    });
  }

  /** Replaces the stored value atomically (fsynced, mode 0600) while holding the write lock. */
  async write(data: T): Promise<void> {
    const text = `${JSON.stringify(data, null, 2)}\n`;
    await this.exclusive(async () => {
      await this.#removeLeftoverTemps();
      await writeFileAtomic(this.file, text, { mode: this.#mode, mkdirs: true });
    });
  }

  /** Reads without side effects: for readers such as `abbot status` that must not repair anything. */
  async peek(): Promise<PeekResult<T>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
      throw new AppError('IO', `cannot read ${this.file}: ${describeError(e)}`, {
        hint: 'client state is readable by root only; run as root',
        cause: e,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return { state: 'corrupt', reason: `not valid JSON (${describeError(e)})` };
    }
    const value = this.#parse(parsed);
    return value === undefined
      ? { state: 'corrupt', reason: 'JSON of an unexpected shape' }
      : { state: 'ok', value };
  }

  /**
   * Runs `fn` holding the write lock, so a read-modify-write is not interleaved with another
   * process's. Writes (and reads that repair) inside `fn` reuse the lock instead of waiting on it.
   */
  async exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const mine = held.getStore();
    if (mine?.has(this.file)) return fn();
    const previous = queues.get(this.file) ?? Promise.resolve();
    const run = previous.then(async () => {
      const lock = await this.#acquire();
      try {
        return await held.run(new Set([...(mine ?? []), this.file]), fn);
      } finally {
        await lock.release();
      }
    });
    // The queue's tail must never reject, or every later section would fail with this error.
    const tail = run.catch(() => undefined);
    queues.set(this.file, tail);
    void tail.then(() => {
      if (queues.get(this.file) === tail) queues.delete(this.file);
    });
    return run;
  }

  async #acquire(): Promise<RunLock> {
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        return await acquireRunLock(this.lockFile, `write ${basename(this.file)}`);
      } catch (e) {
        if (!isAppError(e, 'ALREADY_RUNNING')) throw e;
        if (Date.now() >= deadline) {
          throw new AppError('ALREADY_RUNNING', `${this.file} stayed locked: ${e.message}`, {
            hint: `if no abbot process is running, remove ${this.lockFile}`,
            cause: e,
          });
        }
      }
      // Jitter so two waiting writers do not retry in lockstep.
      await sleep(wait + Math.random() * wait);
    }
  }

  async #moveAside(reason: string): Promise<void> {
    const stamp = this.#now().toISOString().replace(/[:.]/g, '-');
    const aside = `${this.file}.corrupt-${stamp}`;
    await rename(this.file, aside).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    this.#logger.warn(
      'state.corrupt',
      `${this.file} was unreadable (${reason}); moved aside to ${aside} and starting afresh`,
      { file: this.file, aside },
    );
  }

  /** Deletes temp files that a writer killed between write and rename left beside the file. */
  async #removeLeftoverTemps(): Promise<void> {
    // writeFileAtomic names its temp files `.<base>.<pid>.<random>.tmp`.
    const prefix = `.${basename(this.file)}.`;
    const dir = dirname(this.file);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const pid = Number(name.slice(prefix.length).split('.')[0]);
      // Only a dead writer's file: a live one (even ourselves) may be about to rename it.
      if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
      await unlink(join(dir, name)).then(
        () => this.#logger.debug('state.temp.removed', `removed leftover ${name}`),
        () => undefined,
      );
    }
  }
}
