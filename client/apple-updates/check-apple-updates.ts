/**
 * The check half of Apple updates: list them, classify them, start each one's deferral clock, and
 * record what is offered in AppleUpdates.plist. Major upgrades are left out unless
 * AppleSoftwareUpdatesIncludeMajorOSUpdates (their clock still starts, so enabling the
 * preference later does not restart the deferral).
 */
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { CheckContext, CheckOutcome } from '../check/run-check.js';
import type { Config } from '../config.js';
import type { Platform } from '../platform/platform.js';
import type { AppleUpdate } from './apple-update-types.js';
import { writeAppleUpdates } from './apple-updates-plist.js';
import { classifyUpdate } from './classify.js';
import { credentialSourceFrom } from './credentials.js';
import { readSeenState, recordListing, scheduleFor, writeSeenState } from './deferral.js';
import { listAppleUpdates } from './list-updates.js';

/** The preferences a check of Apple updates reads. */
export type AppleCheckConfig = Pick<
  Config,
  | 'InstallAppleSoftwareUpdates'
  | 'AppleSoftwareUpdatesOnly'
  | 'AppleSoftwareUpdatesIncludeMajorOSUpdates'
  | 'AppleUpdateDeferralDays'
  | 'AppleUpdateDeadlineDays'
  | 'AppleUpdateCredentialScript'
  | 'AppleUpdateKeychainService'
  | 'AppleUpdateKeychainAccount'
>;

/** True when the admin asked for Apple updates at all (as Munki: either preference). */
export function isAppleUpdateCheckEnabled(
  config: Pick<Config, 'InstallAppleSoftwareUpdates' | 'AppleSoftwareUpdatesOnly'>,
): boolean {
  return config.InstallAppleSoftwareUpdates || config.AppleSoftwareUpdatesOnly;
}

/** What a check of Apple updates found. */
export interface AppleCheckOutcome {
  /** Offered: in the plan and AppleUpdates.plist. */
  updates: AppleUpdate[];
  /** Listed but left out (major upgrades while they are not allowed). */
  excluded: AppleUpdate[];
  /** What softwareupdate printed besides the listing (font warnings and the like). */
  notes: string[];
}

/**
 * Lists, classifies and records the Apple updates. Throws when softwareupdate fails or prints
 * something that is not a listing; AppleUpdates.plist and the deferral record then stay as they
 * were.
 */
export async function checkAppleUpdates(context: {
  platform: Platform;
  config: AppleCheckConfig;
  logger: Logger;
  now: Date;
  osVersion: string;
  /** The native architecture: on arm64 an install needs a volume owner's credentials. */
  arch: string;
  timeoutMs?: number;
}): Promise<AppleCheckOutcome> {
  const { platform, config, logger, now } = context;
  const listing = await listAppleUpdates(
    platform.paths.root,
    context.timeoutMs === undefined ? {} : { timeoutMs: context.timeoutMs },
  );
  for (const note of listing.notes) logger.debug('appleupdates.list.note', note);
  const seen = recordListing(
    await readSeenState(platform.paths, logger),
    listing.updates.map((u) => u.label),
    now,
  );
  const policy = {
    deferralDays: config.AppleUpdateDeferralDays,
    deadlineDays: config.AppleUpdateDeadlineDays,
  };
  const needsUser = context.arch === 'arm64' && credentialSourceFrom(config) === undefined;
  const updates: AppleUpdate[] = [];
  const excluded: AppleUpdate[] = [];
  for (const listed of listing.updates) {
    const firstSeen = new Date(seen.updates[listed.label]?.firstSeen ?? now.toISOString());
    const update: AppleUpdate = {
      ...listed,
      kind: classifyUpdate(listed, context.osVersion),
      firstSeen,
      ...scheduleFor(firstSeen, policy),
      ...(needsUser ? { userActionRequired: true } : {}),
    };
    if (update.kind === 'major' && !config.AppleSoftwareUpdatesIncludeMajorOSUpdates) {
      logger.debug(
        'appleupdates.major.excluded',
        `${update.title} ${update.version} is a major upgrade; not offered (AppleSoftwareUpdatesIncludeMajorOSUpdates is off)`,
      );
      excluded.push(update);
      continue;
    }
    updates.push(update);
  }
  await writeSeenState(platform.paths, seen);
  await writeAppleUpdates(platform.paths, updates);
  if (updates.length > 0) {
    logger.debug(
      'appleupdates.available',
      `Apple updates available: ${updates.map((u) => `${u.title} ${u.version}`).join(', ')}`,
    );
  }
  return { updates, excluded, notes: listing.notes };
}

/**
 * Adds Apple's updates to a finished check's plan. A listing that fails is logged and becomes one
 * of the check's warnings, never a failed check (the repo's plan stands on its own).
 */
export async function addAppleUpdatesToCheck(
  outcome: Pick<CheckOutcome, 'facts' | 'plan' | 'warnings'>,
  context: Pick<CheckContext, 'platform' | 'config' | 'logger'>,
  now: Date,
): Promise<void> {
  try {
    const apple = await checkAppleUpdates({
      platform: context.platform,
      config: context.config,
      logger: context.logger,
      now,
      osVersion: String(outcome.facts['os_vers'] ?? ''),
      arch: String(outcome.facts['arch'] ?? ''),
    });
    outcome.plan.appleUpdates = apple.updates;
  } catch (e) {
    const message = `Apple software updates could not be listed: ${describeError(e)}`;
    context.logger.error('check.appleupdates.failed', message);
    outcome.warnings.push(message);
  }
}
