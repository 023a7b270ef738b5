/**
 * `<state>/AppleUpdates.plist`: the Apple updates the last check offered, as Munki writes the same
 * file (`{AppleUpdates: [...]}` with Label, name, display_name, version_to_install,
 * installer_item_size, installed_size, RestartAction), so tools that read Munki's keep working;
 * Abbot adds apple_update_kind, recommended, first_seen, deferred_until and
 * force_install_after_date. `abbot install` reads it back; an entry that does not hold up (a label
 * that could pass for a flag, a missing title) is skipped with a warning.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPlist, isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { AbbotPaths } from '../platform/platform.js';
import type { AppleUpdate, AppleUpdateKind } from './apple-update-types.js';

/** `<stateDir>/AppleUpdates.plist`. */
export function appleUpdatesFile(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'AppleUpdates.plist');
}

/** An update as Munki's AppleUpdates.plist (and the run report's AppleUpdates) records it. */
export function toAppleUpdateEntry(update: AppleUpdate): PlistDict {
  const entry: PlistDict = {
    Label: update.label,
    name: update.title,
    display_name: update.title,
    description: '',
    version_to_install: update.version,
    RestartAction: update.restartRequired ? 'RequireRestart' : 'None',
    apple_update_kind: update.kind,
    recommended: update.recommended,
    first_seen: update.firstSeen,
  };
  if (update.sizeKb !== undefined) {
    entry['installer_item_size'] = update.sizeKb;
    entry['installed_size'] = update.sizeKb;
  }
  if (update.deferredUntil) entry['deferred_until'] = update.deferredUntil;
  if (update.deadline) entry['force_install_after_date'] = update.deadline;
  if (update.userActionRequired) entry['user_action_required'] = true;
  return entry;
}

const KINDS: readonly string[] = ['minor', 'security-response', 'major'];

/** A label softwareupdate may be given: non-empty, one line, and not something that reads as a flag. */
export function isSafeLabel(label: string): boolean {
  return label.trim() !== '' && !label.startsWith('-') && ![...label].some((c) => c < ' ');
}

/** An entry read back; undefined (with the reason) when it does not hold up. */
export function fromAppleUpdateEntry(entry: PlistDict): AppleUpdate | string {
  const label = entry['Label'];
  const title = entry['display_name'] ?? entry['name'];
  const version = entry['version_to_install'];
  const firstSeen = entry['first_seen'];
  if (typeof label !== 'string' || !isSafeLabel(label)) return 'a Label that is missing or unsafe';
  if (typeof title !== 'string' || typeof version !== 'string')
    return `${label}: no title or version`;
  if (!(firstSeen instanceof Date) || Number.isNaN(firstSeen.getTime()))
    return `${label}: no first_seen date`;
  const kind = entry['apple_update_kind'];
  const size = entry['installer_item_size'];
  const date = (v: unknown): Date | undefined =>
    v instanceof Date && !Number.isNaN(v.getTime()) ? v : undefined;
  return {
    label,
    title,
    version,
    sizeKb: typeof size === 'number' ? size : undefined,
    recommended: entry['recommended'] === true,
    restartRequired: entry['RestartAction'] === 'RequireRestart',
    kind: typeof kind === 'string' && KINDS.includes(kind) ? (kind as AppleUpdateKind) : 'minor',
    firstSeen,
    deferredUntil: date(entry['deferred_until']),
    deadline: date(entry['force_install_after_date']),
    ...(entry['user_action_required'] === true ? { userActionRequired: true } : {}),
  };
}

/** Writes the file atomically. */
export async function writeAppleUpdates(
  paths: Pick<AbbotPaths, 'stateDir'>,
  updates: readonly AppleUpdate[],
): Promise<void> {
  await writeFileAtomic(
    appleUpdatesFile(paths),
    buildPlist({ AppleUpdates: updates.map(toAppleUpdateEntry) }, { sortKeys: true }),
    { mkdirs: true },
  );
}

/** The updates the last check offered; none when there is no file. Bad entries are skipped (logged). */
export async function readAppleUpdates(
  paths: Pick<AbbotPaths, 'stateDir'>,
  logger: Logger,
): Promise<AppleUpdate[]> {
  const file = appleUpdatesFile(paths);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let value;
  try {
    value = parsePlist(bytes, { source: file });
  } catch (e) {
    logger.warn('appleupdates.plist.invalid', `${describeError(e)}; no Apple updates installed`);
    return [];
  }
  const list = isPlistDict(value) ? value['AppleUpdates'] : undefined;
  if (!Array.isArray(list)) return [];
  const out: AppleUpdate[] = [];
  for (const entry of list) {
    const update = isPlistDict(entry) ? fromAppleUpdateEntry(entry) : 'not a dictionary';
    if (typeof update === 'string')
      logger.warn('appleupdates.plist.entry', `${file}: ${update}; skipped`);
    else out.push(update);
  }
  return out;
}
