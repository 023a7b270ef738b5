/**
 * The record of a macOS upgrade in progress, `<state>/os-upgrade.json`, so that the run after the
 * restart can tell what happened: startosinstall's restart kills the run that started it, so
 * nothing else would remember. `staged` means the Install macOS app is in place (a later attempt
 * reuses it instead of fetching 13 GB again); `started` means startosinstall was run. The first run
 * that sees the new macOS version records the upgrade as installed and clears the record; a run
 * after a restart that still sees the old version records it as failed.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compareVersions } from '../../catalogs/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import type { Logger } from '../../lib/log.js';
import type { AbbotPaths } from '../platform/platform.js';

/** An upgrade the client has staged or started. */
export interface UpgradeRecord {
  /** The pkginfo name. */
  name: string;
  display_name?: string;
  /** The macOS version being installed. */
  version: string;
  /** The Install macOS app (macOS path). */
  appPath: string;
  stage: 'staged' | 'started';
  /** The macOS version that was running when it was staged. */
  fromVersion: string;
  stagedAt: string;
  startedAt?: string;
}

/** What the run after an upgrade found. */
export interface SettledUpgrade {
  record: UpgradeRecord;
  result: 'installed' | 'failed';
  /** For the report: what happened, in words. */
  message: string;
}

/** `<state>/os-upgrade.json`. */
export function upgradeRecordPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'os-upgrade.json');
}

const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The record; undefined when there is none or it is unreadable (logged: it is only a hint). */
export async function readUpgradeRecord(
  paths: Pick<AbbotPaths, 'stateDir'>,
  logger: Logger,
): Promise<UpgradeRecord | undefined> {
  const file = upgradeRecordPath(paths);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      logger.warn('osupgrade.record.unreadable', `${file}: unreadable; ignored`);
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (
    !isText(v['name']) ||
    !isText(v['version']) ||
    !isText(v['appPath']) ||
    !isText(v['fromVersion']) ||
    !isText(v['stagedAt']) ||
    (v['stage'] !== 'staged' && v['stage'] !== 'started')
  ) {
    logger.warn('osupgrade.record.invalid', `${file}: not an upgrade record; ignored`);
    return undefined;
  }
  const record: UpgradeRecord = {
    name: v['name'],
    version: v['version'],
    appPath: v['appPath'],
    stage: v['stage'],
    fromVersion: v['fromVersion'],
    stagedAt: v['stagedAt'],
  };
  if (isText(v['display_name'])) record.display_name = v['display_name'];
  if (isText(v['startedAt'])) record.startedAt = v['startedAt'];
  return record;
}

/** Replaces the record atomically (root-only, like the rest of the client's state). */
export async function writeUpgradeRecord(
  paths: Pick<AbbotPaths, 'stateDir'>,
  record: UpgradeRecord,
): Promise<void> {
  await writeFileAtomic(upgradeRecordPath(paths), `${JSON.stringify(record, null, 2)}\n`, {
    mode: 0o600,
    mkdirs: true,
  });
}

/** Removes the record. */
export async function clearUpgradeRecord(paths: Pick<AbbotPaths, 'stateDir'>): Promise<void> {
  await rm(upgradeRecordPath(paths), { force: true });
}

/** True when `running` is the upgrade's version or newer. */
export function hasReached(running: string, target: string): boolean {
  return compareVersions(running, target) >= 0;
}

/**
 * Settles a started upgrade against the running macOS: installed when it is now running (the
 * record is cleared), failed when the Mac has restarted since and still runs the old version (the
 * record goes back to `staged`, so the app is reused), nothing while the restart is still to come.
 * A staged record the running macOS has overtaken is cleared.
 */
export async function settleUpgrade(
  paths: Pick<AbbotPaths, 'stateDir'>,
  running: string,
  bootedAt: Date,
  logger: Logger,
): Promise<SettledUpgrade | undefined> {
  const record = await readUpgradeRecord(paths, logger);
  if (record === undefined) return undefined;
  if (hasReached(running, record.version)) {
    await clearUpgradeRecord(paths);
    if (record.stage !== 'started') return undefined;
    return {
      record,
      result: 'installed',
      message: `macOS upgraded from ${record.fromVersion} to ${running}`,
    };
  }
  if (record.stage !== 'started' || record.startedAt === undefined) return undefined;
  if (new Date(record.startedAt).getTime() > bootedAt.getTime()) return undefined;
  const { startedAt: _startedAt, ...staged } = record;
  await writeUpgradeRecord(paths, { ...staged, stage: 'staged' });
  return {
    record,
    result: 'failed',
    message: `the macOS ${record.version} upgrade did not complete: macOS ${running} is still running after a restart`,
  };
}
