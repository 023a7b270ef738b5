/**
 * Restarting the Mac, which only bootstrap does (a check-in never restarts on its own). The need is
 * always recorded through the platform first (`restart-requested.json`, which `abbot status` and a
 * test watching a sandbox read); on macOS the Mac is then restarted with `shutdown -r now`, run
 * from under the root like every Apple tool. A sandbox stops at the record: the test "reboots" it
 * by stopping and starting the daemon.
 */
import { join } from 'node:path';
import { AppError } from '../../lib/errors.js';
import { runCommand } from '../../lib/run-command.js';
import type { Platform } from '../platform/platform.js';

/** Records the restart and, on macOS, restarts now. */
export async function restartMachine(platform: Platform, reason: string): Promise<void> {
  await platform.requestRestart(reason);
  if (platform.kind !== 'macos') return;
  const argv = [join(platform.paths.root, 'sbin', 'shutdown'), '-r', 'now'];
  const result = await runCommand(argv, { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new AppError('COMMAND_FAILED', `${argv.join(' ')} failed: ${result.stderr.trim()}`);
  }
}
