/**
 * What an install session needs to know about macOS upgrades: the upgrade's settings from the
 * preferences (with the Apple-update credential provider for Apple silicon), the order (an
 * upgrade restarts the Mac, so it comes after everything else, as Munki 6 ran it last), and the
 * outcome of an upgrade started before the last restart.
 */
import type { PlistDict } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { credentialSourceFrom, readCredentials } from '../apple-updates/credentials.js';
import type { Config } from '../config.js';
import type { Notifier } from '../notify/notify-user.js';
import type { Platform } from '../platform/platform.js';
import { bootTime } from '../state/client-state.js';
import type { OsUpgradeContext } from './upgrade-macos.js';
import { readUpgradeRecord, settleUpgrade, type SettledUpgrade } from './upgrade-state.js';

/** The upgrade settings a session passes to each startosinstall item. */
export function osUpgradeContextFrom(
  config: Pick<
    Config,
    | 'OSUpgradeRebootDelaySeconds'
    | 'OSUpgradeTimeoutMinutes'
    | 'AppleUpdateCredentialScript'
    | 'AppleUpdateKeychainService'
    | 'AppleUpdateKeychainAccount'
  >,
  platform: Platform,
  logger: Logger,
  notifier: Notifier,
): OsUpgradeContext {
  const source = credentialSourceFrom(config);
  const timeoutMs = config.OSUpgradeTimeoutMinutes * 60_000;
  return {
    rebootDelaySeconds: config.OSUpgradeRebootDelaySeconds,
    timeoutMs,
    fetchTimeoutMs: timeoutMs,
    notifier,
    credentials:
      source === undefined
        ? undefined
        : async () => {
            try {
              return await readCredentials(source, platform.paths.root);
            } catch (e) {
              // The provider's own message names it and never what it printed.
              logger.error('osupgrade.credentials.failed', describeError(e));
              return undefined;
            }
          },
  };
}

/** `items` with macOS upgrades moved to the end (their relative order kept). */
export function upgradesLast<T extends PlistDict>(items: readonly T[]): T[] {
  const isUpgrade = (i: T): boolean => i['installer_type'] === 'startosinstall';
  return [...items.filter((i) => !isUpgrade(i)), ...items.filter(isUpgrade)];
}

/** The outcome of an upgrade started before the last restart, once it can be told. */
export async function settlePendingUpgrade(
  platform: Platform,
  logger: Logger,
  now: Date,
  bootedAt: Date = bootTime(),
): Promise<SettledUpgrade | undefined> {
  if ((await readUpgradeRecord(platform.paths, logger)) === undefined) return undefined;
  const facts = await platform.collectFacts(now);
  const settled = await settleUpgrade(
    platform.paths,
    String(facts['os_vers'] ?? ''),
    bootedAt,
    logger,
  );
  if (settled?.result === 'installed') logger.info('osupgrade.done', settled.message);
  else if (settled?.result === 'failed') logger.error('osupgrade.failed', settled.message);
  return settled;
}
