import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import {
  CommandError,
  assertCommandSucceeded,
  runCommand,
  shellExitStatus,
} from '../../lib/run-command.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'abbot-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes an executable shell script into the temp folder and returns its path. */
async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** True while a process with this pid runs (a zombie waiting for a reaper does not count). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // In a container whose init does not reap, a killed orphan lingers as a zombie (state Z).
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) Z/.test(stat);
}

describe('runCommand', () => {
  it.each([
    ['exit 0', 0],
    ['exit 1', 1],
    ['exit 3', 3],
    ['exit 255', 255],
  ])('reports `%s` as exit code %i without throwing', async (body, code) => {
    const result = await runCommand([await script('s', body)]);
    expect(result).toMatchObject({ exitCode: code, signal: null, timedOut: false });
  });

  it('captures stdout and stderr separately', async () => {
    const s = await script('s', 'echo out; echo err >&2; printf "é"');
    const result = await runCommand([s]);
    expect(result.stdout).toBe('out\né');
    expect(result.stderr).toBe('err\n');
  });

  it('passes arguments verbatim, with no shell in between', async () => {
    const s = await script('s', 'for a in "$@"; do printf "[%s]" "$a"; done');
    const result = await runCommand([s, 'a b', '$HOME', '*', '.*', "'q'"]);
    expect(result.stdout).toBe("[a b][$HOME][*][.*]['q']");
  });

  it('feeds stdin and closes it', async () => {
    const s = await script('s', 'cat');
    expect((await runCommand([s], { stdin: 'hello\n' })).stdout).toBe('hello\n');
    expect((await runCommand([s], { stdin: new Uint8Array([0x61, 0x62]) })).stdout).toBe('ab');
  });

  it('gives /dev/null as stdin when none is given', async () => {
    const s = await script('s', 'cat; echo done');
    expect((await runCommand([s])).stdout).toBe('done\n');
  });

  it('survives a child that exits without reading a large stdin', async () => {
    const s = await script('s', 'exit 4');
    const result = await runCommand([s], { stdin: 'x'.repeat(4 * 1024 * 1024) });
    expect(result.exitCode).toBe(4);
  });

  it('uses the given environment instead of its own', async () => {
    const s = await script('s', 'printf "%s|%s" "$ONLY" "${HOME:-none}"');
    const result = await runCommand([s], { env: { ONLY: 'yes', PATH: '/usr/bin:/bin' } });
    expect(result.stdout).toBe('yes|none');
  });

  it('runs in the given working folder', async () => {
    const s = await script('s', 'pwd');
    expect((await runCommand([s], { cwd: dir })).stdout.trim()).toMatch(/abbot-run-/);
  });

  it('caps output at maxOutputBytes and says so', async () => {
    const s = await script('s', 'i=0; while [ $i -lt 200 ]; do echo 0123456789; i=$((i+1)); done');
    const result = await runCommand([s], { maxOutputBytes: 100 });
    expect(result.stdout).toHaveLength(100);
    expect(result.truncated).toBe(true);
    expect(result.exitCode).toBe(0);
  });

  it('reports a process killed by a signal with a null exit code', async () => {
    const s = await script('s', 'kill -TERM $$');
    const result = await runCommand([s]);
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false });
    expect(shellExitStatus(result)).toBe(143);
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const pidFile = join(dir, 'pid');
    const s = await script('s', `sleep 60 & echo $! > ${pidFile}; wait`);
    const started = Date.now();
    const result = await runCommand([s], { timeoutMs: 300, killGraceMs: 200 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.timedOut).toBe(true);
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    await new Promise((r) => setTimeout(r, 100));
    expect(await isAlive(grandchild)).toBe(false);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const s = await script('s', "trap '' TERM; while :; do sleep 0.05; done");
    const result = await runCommand([s], { timeoutMs: 200, killGraceMs: 200 });
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });

  it('does not wait for a background child that keeps the output pipes open', async () => {
    const s = await script('s', 'sleep 30 & echo started');
    const started = Date.now();
    const result = await runCommand([s]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'started\n', timedOut: false });
  });

  it.each([
    ['a missing executable', (d: string) => join(d, 'nope'), /cannot run .*nope: ENOENT/],
    ['a folder', (d: string) => d, /cannot run .*abbot-run-.*: EACCES/],
  ])('throws COMMAND_FAILED naming argv[0] for %s', async (_what, pathOf, message) => {
    const error: unknown = await runCommand([pathOf(dir)]).catch((e: unknown) => e);
    expect(isAppError(error, 'COMMAND_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('throws COMMAND_FAILED for a file that is not executable', async () => {
    const path = join(dir, 'plain');
    await writeFile(path, 'echo hi\n');
    await expect(runCommand([path])).rejects.toMatchObject({ code: 'COMMAND_FAILED' });
  });
});

describe('CommandError', () => {
  it('carries argv, exit status and the tail of stderr', async () => {
    const s = await script(
      's',
      'i=0; while [ $i -lt 30 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 7',
    );
    const argv = [s, '--flag'];
    const error = new CommandError(argv, await runCommand(argv));
    expect(error).toBeInstanceOf(CommandError);
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.exitCode).toBe(1); // the CLI's exit code: a runtime failure
    expect(error.status).toBe(7);
    expect(error.argv).toEqual(argv);
    expect(error.stderrTail.split('\n')).toEqual(
      Array.from({ length: 10 }, (_, i) => `line ${i + 20}`),
    );
    expect(error.message).toMatch(/exited with status 7: line 20/);
  });

  it('is what assertCommandSucceeded throws for a non-zero exit', async () => {
    const ok = await script('ok', 'exit 0');
    const bad = await script('bad', 'exit 2');
    expect(assertCommandSucceeded([ok], await runCommand([ok])).exitCode).toBe(0);
    expect(() => assertCommandSucceeded([bad], { ...emptyResult(), exitCode: 2 })).toThrow(
      CommandError,
    );
  });

  it('says when the command timed out', () => {
    const error = new CommandError(['/usr/bin/x'], {
      ...emptyResult(),
      exitCode: null,
      signal: 'SIGTERM',
      timedOut: true,
    });
    expect(error.message).toBe('/usr/bin/x timed out');
  });
});

function emptyResult() {
  return {
    exitCode: 0 as number | null,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    truncated: false,
  };
}

describe('runCommand streaming', () => {
  it('hands output to onStdout as it arrives, before the command has finished', async () => {
    const seen: { text: string; at: number }[] = [];
    const started = Date.now();
    const result = await runCommand(['/bin/sh', '-c', 'echo first; sleep 0.4; echo second'], {
      onStdout: (chunk) => seen.push({ text: chunk, at: Date.now() - started }),
    });
    expect(seen.map((s) => s.text).join('')).toBe(result.stdout);
    expect(seen[0]?.text).toBe('first\n');
    // The first chunk came well before the sleep ended.
    expect(seen[0]!.at).toBeLessThan(300);
  });
});
