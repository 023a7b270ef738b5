/**
 * Lists Apple's updates with `softwareupdate --list`, as Munki does (no other flags: the ones
 * Munki 6 added are gone or pointless on the macOS versions Abbot supports). Both streams are
 * read: since Big Sur "No new software available." goes to stderr, and Apple's font warnings
 * land there too.
 */
import { CommandError, runCommand } from '../../lib/run-command.js';
import type { ListedUpdate } from './apple-update-types.js';
import { APPLE_UPDATE_TOOLS, toolUnderRoot } from './apple-tools.js';
import { parseSoftwareUpdateList } from './parse-list.js';

/** Munki's limit for a listing: a scan that takes longer than this is hung. */
export const LIST_TIMEOUT_MS = 5 * 60_000;

/** What a listing found, with the warnings softwareupdate printed along the way. */
export interface ListOutcome {
  updates: ListedUpdate[];
  notes: string[];
}

/**
 * Runs `<root>/usr/sbin/softwareupdate --list`. Throws CommandError when it exits non-zero or
 * times out, and AppError('COMMAND_FAILED') when its output is not a listing.
 */
export async function listAppleUpdates(
  root: string,
  options: { timeoutMs?: number } = {},
): Promise<ListOutcome> {
  const argv = [toolUnderRoot(root, APPLE_UPDATE_TOOLS.softwareupdate), '--list'];
  const result = await runCommand(argv, { timeoutMs: options.timeoutMs ?? LIST_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) {
    throw new CommandError(argv, result, { hint: 'run softwareupdate --list by hand to see why' });
  }
  const parsed = parseSoftwareUpdateList(`${result.stdout}\n${result.stderr}`, argv.join(' '));
  return { updates: parsed.updates, notes: parsed.notes };
}
