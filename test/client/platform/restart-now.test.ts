/**
 * restartNow on both platforms: macOS runs `<commandRoot>/sbin/shutdown -r now` (a fake here, which
 * logs its argv), the sandbox only records the request and runs nothing.
 *
 * The fakes' output is reconstructed from Apple's source of shutdown(8), not recorded on a Mac:
 * apple-oss-distributions/system_cmds, shutdown.tproj/shutdown.c. Without root it ends with
 * `errx(1, "NOT super-user")` (stderr `shutdown: NOT super-user`, exit 1); as root with `now` it
 * prints `Shutdown NOW!` and its parent exits 0 with `errx(0, "[pid N]")` after forking the child
 * that restarts the machine.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';
import { macosPlatform } from '../../../client/platform/macos/macos-platform.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { isAppError } from '../../../lib/errors.js';

const SOURCE = 'reconstructed from apple-oss-distributions/system_cmds shutdown.tproj/shutdown.c';
const SHUTDOWN_OK = 'echo "Shutdown NOW!"\necho "shutdown: [pid 4242]" >&2\nexit 0';
const SHUTDOWN_NOT_ROOT = 'echo "shutdown: NOT super-user" >&2\nexit 1';

let root: string;
let argvLog: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'abbot-restart-now-'));
  argvLog = join(root, 'argv.log');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('restartNow on macOS', () => {
  it('runs <root>/sbin/shutdown -r now', async () => {
    await writeFakeTool(root, argvLog, '/sbin/shutdown', SOURCE, SHUTDOWN_OK);
    await macosPlatform({ commandRoot: root }).restartNow('bootstrap finished');
    expect(await readToolCalls(argvLog)).toEqual([['/sbin/shutdown', '-r', 'now']]);
  });

  it('throws COMMAND_FAILED with shutdown’s stderr when it exits non-zero', async () => {
    await writeFakeTool(root, argvLog, '/sbin/shutdown', SOURCE, SHUTDOWN_NOT_ROOT);
    const error: unknown = await macosPlatform({ commandRoot: root })
      .restartNow('bootstrap finished')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isAppError(error, 'COMMAND_FAILED')).toBe(true);
    expect((error as Error).message).toBe(
      `${join(root, '/sbin/shutdown')} exited with status 1: shutdown: NOT super-user`,
    );
  });
});

describe('restartNow in the sandbox', () => {
  it('records the request and runs no shutdown', async () => {
    await writeFakeTool(root, argvLog, '/sbin/shutdown', SOURCE, SHUTDOWN_OK);
    const now = new Date('2025-05-01T12:00:00Z');
    await sandboxPlatform(root, { now: () => now }).restartNow('bootstrap finished');
    expect(await readToolCalls(argvLog)).toEqual([]);
    const json: unknown = JSON.parse(
      await readFile(join(root, 'Library/Abbot/restart-requested.json'), 'utf8'),
    );
    expect(json).toEqual({
      reasons: ['bootstrap finished'],
      requestedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
  });
});
