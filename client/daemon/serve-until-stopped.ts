/**
 * `abbot daemon` in the foreground, as launchd runs it: starts the daemon and stops it cleanly on
 * SIGTERM (what `launchctl bootout` sends) or SIGINT (Ctrl-C when run by hand).
 */
import { startDaemon, type DaemonOptions } from './daemon.js';

/** Runs the daemon until SIGTERM or SIGINT, then shuts it down. */
export async function serveUntilStopped(options: DaemonOptions): Promise<void> {
  const daemon = await startDaemon(options);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  options.logger.info('daemon.signal', `${signal}: stopping after the run under way, if any.`);
  await daemon.close();
}
