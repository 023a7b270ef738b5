/**
 * `abbot bootstrap --set|--clear|--status` (Munki's --set-bootstrap-mode / --clear-bootstrap-mode).
 * Setting it also tells a running daemon, which then starts at once instead of at the next startup.
 */
import type { Config } from '../config.js';
import { callDaemon, controlSocketPath } from '../daemon/control-socket.js';
import type { AbbotPaths } from '../platform/platform.js';
import {
  clearBootstrap,
  readBootstrapResult,
  readBootstrapState,
  setBootstrap,
} from './bootstrap-flag.js';
import { formatBootstrapStatus } from './format-bootstrap.js';

/** Carries out the subcommand and returns what to print. */
export async function bootstrapCommand(
  paths: Pick<AbbotPaths, 'stateDir'>,
  action: 'set' | 'clear' | 'status',
  config?: Pick<Config, 'BootstrapMaxPasses'>,
): Promise<string> {
  if (action === 'set') {
    await setBootstrap(paths);
    const daemon = await callDaemon(controlSocketPath(paths), { type: 'bootstrap' });
    return daemon
      ? 'Bootstrap mode set; the daemon has started it.\n'
      : 'Bootstrap mode set; it runs when the daemon next starts (at the next startup).\n';
  }
  if (action === 'clear') {
    return (await clearBootstrap(paths))
      ? 'Bootstrap mode cleared.\n'
      : 'Bootstrap mode was not set.\n';
  }
  return formatBootstrapStatus(
    await readBootstrapState(paths),
    await readBootstrapResult(paths),
    config?.BootstrapMaxPasses ?? 10,
  );
}
