/**
 * Restarting the Mac, which only bootstrap does (a check-in never restarts on its own). The need is
 * always recorded through the platform first (`restart-requested.json`, which `abbot status` and a
 * test watching a sandbox read); then the platform restarts: on macOS with `shutdown -r now`, while
 * a sandbox stops at the record and the test "reboots" it by stopping and starting the daemon.
 */
import type { Platform } from '../platform/platform.js';

/** Records the restart, then asks the platform to restart now. */
export async function restartMachine(platform: Platform, reason: string): Promise<void> {
  await platform.requestRestart(reason);
  await platform.restartNow(reason);
}
