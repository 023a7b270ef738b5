/**
 * The daemon's real executor: each run is a child process, killed (its whole process group) when
 * it runs past the limit, and the kill recorded in the run log.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { childRunExecutor } from '../../../client/daemon/child-run.js';
import { createRunCoordinator } from '../../../client/daemon/run-coordinator.js';
import { appendRunLog, readRunLog } from '../../../client/daemon/run-log.js';
import { pathsFor } from '../../../client/paths.js';
import { memoryLogger } from '../../../lib/log.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A stand-in for the abbot CLI: logs its argv, prints a line, then does what `body` says. */
async function fakeAbbot(body: string): Promise<{ dir: string; script: string; argv: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'abbot-child-'));
  dirs.push(dir);
  const script = join(dir, 'abbot');
  const argv = join(dir, 'argv.txt');
  await writeFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${argv}"\necho "checking in"\n${body}\n`,
  );
  await chmod(script, 0o755);
  return { dir, script, argv };
}

/** True once `pid` has exited (a zombie nobody has reaped yet counts as exited). */
async function isGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    const isZombie = stat !== undefined && / Z /.test(stat.slice(stat.lastIndexOf(')')));
    let exists = true;
    try {
      process.kill(pid, 0);
    } catch {
      exists = false;
    }
    if (!exists || isZombie) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('childRunExecutor', () => {
  it('runs `abbot run --auto --no-daemon` with the daemon flags and streams its output', async () => {
    const fake = await fakeAbbot('echo "oops" >&2; exit 3');
    const execute = childRunExecutor({ abbotCommand: [fake.script], runArgs: ['--root=/x'] });
    const output: string[] = [];
    const result = await execute(
      { id: 1, kind: 'auto', reasons: ['cli'], items: [] },
      { timeoutMs: 10_000, onOutput: (s, t) => output.push(`${s}:${t}`) },
    );
    expect(result).toEqual({ exitCode: 3, killed: false });
    expect((await readFile(fake.argv, 'utf8')).split('\n')).toEqual([
      'run',
      '--auto',
      '--no-daemon',
      '--root=/x',
      '',
    ]);
    expect(output).toEqual(['stdout:checking in\n', 'stderr:oops\n']);
  });

  it('passes self-service items as --item=NAME, so a name like "-rf" stays a name', async () => {
    const fake = await fakeAbbot('exit 0');
    const execute = childRunExecutor({ abbotCommand: [fake.script], runArgs: [] });
    await execute(
      { id: 2, kind: 'selfservice', reasons: ['selfservice'], items: ['Firefox', '-rf'] },
      { timeoutMs: 10_000, onOutput: () => {} },
    );
    expect(await readFile(fake.argv, 'utf8')).toBe(
      'run\n--item=Firefox\n--item=-rf\n--no-daemon\n',
    );
  });

  it('kills a stuck run at the limit, records it, and the next run still happens', async () => {
    // The stuck run leaves a child of its own: the whole group must go.
    const fake = await fakeAbbot(
      `if [ "$2" = --bootstrap ]; then exit 0; fi\nsleep 600 & echo $! > "$(dirname "$0")/grandchild"\nwait`,
    );
    const paths = pathsFor(fake.dir);
    const coordinator = createRunCoordinator({
      execute: childRunExecutor({ abbotCommand: [fake.script], runArgs: [] }),
      timeLimitMs: 300,
      logger: memoryLogger(),
      record: (outcome) => appendRunLog(paths, outcome),
    });
    const started = Date.now();
    const outcome = await coordinator.request({ reason: 'schedule' });
    expect(outcome.status).toBe('killed');
    expect(Date.now() - started).toBeLessThan(5_000);
    const grandchild = Number(await readFile(join(fake.dir, 'grandchild'), 'utf8'));
    expect(await isGone(grandchild)).toBe(true);
    const next = await coordinator.request({ reason: 'bootstrap' });
    expect(next.status).toBe('ok');
    const log = await readRunLog(paths);
    expect(log.map((r) => [r.id, r.status])).toEqual([
      [1, 'killed'],
      [2, 'ok'],
    ]);
    expect(log[0]?.error).toMatch(/killed after running longer than/);
  });
});
