/**
 * restartMachine records the restart before asking the platform to restart, so `abbot status` and
 * a watching test see the request even when the restart itself fails.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restartMachine } from '../../../client/daemon/restart-machine.js';
import type { Platform } from '../../../client/platform/platform.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { AppError } from '../../../lib/errors.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'abbot-restart-machine-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The sandbox platform, with calls to its restart methods logged in order. */
function spyingPlatform(calls: string[], restartNow?: () => Promise<void>): Platform {
  const platform = sandboxPlatform(root);
  return {
    ...platform,
    requestRestart: async (reason) => {
      calls.push(`requestRestart ${reason}`);
      await platform.requestRestart(reason);
    },
    restartNow: async (reason) => {
      calls.push(`restartNow ${reason}`);
      await (restartNow ?? (() => platform.restartNow(reason)))();
    },
  };
}

describe('restartMachine', () => {
  it('records the request, then asks the platform to restart now', async () => {
    const calls: string[] = [];
    await restartMachine(spyingPlatform(calls), 'bootstrap finished');
    expect(calls).toEqual(['requestRestart bootstrap finished', 'restartNow bootstrap finished']);
  });

  it('keeps the record when the restart fails, and passes the error on', async () => {
    const calls: string[] = [];
    const failing = (): Promise<void> =>
      Promise.reject(new AppError('COMMAND_FAILED', 'shutdown: NOT super-user'));
    await expect(
      restartMachine(spyingPlatform(calls, failing), 'bootstrap finished'),
    ).rejects.toThrow('shutdown: NOT super-user');
    const json = JSON.parse(
      await readFile(join(root, 'Library/Abbot/restart-requested.json'), 'utf8'),
    ) as { reasons: string[] };
    expect(json.reasons).toEqual(['bootstrap finished']);
  });
});
