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

describe('acquireRunLock under contention', () => {
  it('never lets two processes hold the lock at once', async () => {
    // Three processes take and release the lock many times, logging enter/leave; no two overlap.
    const { writeFile: write } = await import('node:fs/promises');
    const lockPath = join(dir, 'contended.lock');
    const logPath = join(dir, 'log');
    const script = join(dir, 'worker.mjs');
    const lockModule = new URL('../../lib/lock.ts', import.meta.url).pathname;
    await write(
      script,
      `import { appendFileSync } from 'node:fs';
const { acquireRunLock } = await import(process.argv[2]);
for (let i = 0; i < 150; i++) {
  let lock;
  for (;;) { try { lock = await acquireRunLock(process.argv[3], 'w'); break; } catch { await new Promise((r) => setTimeout(r, 1)); } }
  appendFileSync(process.argv[4], 'enter ' + process.pid + '\\n');
  appendFileSync(process.argv[4], 'leave ' + process.pid + '\\n');
  await lock.release();
}`,
    );
    // The workers import the TypeScript source through the same loader vitest's children cannot
    // use, so compile lib/lock.ts on the fly with TypeScript's transpiler.
    const ts = await import('typescript');
    const { readFile: read } = await import('node:fs/promises');
    const compiled = ts.transpileModule(await read(lockModule, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const errorsJs = ts.transpileModule(
      await read(new URL('../../lib/errors.ts', import.meta.url).pathname, 'utf8'),
      {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      },
    ).outputText;
    await write(join(dir, 'errors.js'), errorsJs);
    await write(
      join(dir, 'lock.mjs'),
      compiled.replace("'./errors.js'", `'${join(dir, 'errors.js')}'`),
    );
    const children = [0, 1, 2].map(
      () =>
        new Promise<number>((resolve) => {
          const c = spawn(process.execPath, [script, join(dir, 'lock.mjs'), lockPath, logPath], {
            stdio: 'inherit',
          });
          c.on('exit', (code) => resolve(code ?? 1));
        }),
    );
    expect(await Promise.all(children)).toEqual([0, 0, 0]);
    const lines = (await readFile(logPath, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3 * 150 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]?.startsWith('enter')).toBe(true);
      expect(lines[i + 1]).toBe(lines[i]!.replace('enter', 'leave'));
    }
  }, 60_000);
});
