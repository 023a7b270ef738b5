/**
 * removepackages on a Mac, with pkgutil as the only source of truth (Munki's rmpkgs.swift):
 *
 *   pkgutil --pkgs                              every receipt on the volume
 *   pkgutil --pkg-info-plist ID, --files ID     for EVERY receipt, in --pkgs order: its install
 *                                               location and the paths it owns, relative to it
 *   … the unshared paths removed (sandbox/remove-packages.ts: deepest first, folders only when
 *     empty or holding only .DS_Store) …
 *   pkgutil --forget ID                         for each package removed
 *
 * Asking pkgutil about every receipt costs two short runs per receipt (a few hundred on a typical
 * Mac, some seconds in all) on each removal. Munki avoids that with a SQLite copy of the receipts,
 * rebuilt when /Library/Receipts/InstallHistory.plist changes; removals are rare enough that the
 * simpler, always-current way is the better trade here. When another receipt's files cannot be
 * listed nothing is removed: shared files could no longer be told apart.
 */
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import { describeError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { CommandResult } from '../../../lib/run-command.js';
import type { RemovalResult } from '../platform.js';
import { planRemoval, removeOwnedPaths, volumePath } from '../sandbox/remove-packages.js';
import type { OwnedPaths } from '../sandbox/remove-packages.js';

/** What the Mac removal needs: the volume and a way to run pkgutil with arguments. */
export interface MacosRemovalContext {
  /** The volume the receipts describe: `/` (a temporary folder in tests). */
  root: string;
  logger: Logger;
  /** Runs `/usr/sbin/pkgutil` with these arguments (through lib/run-command). */
  pkgutil(args: string[]): Promise<CommandResult>;
}

/** The `install-location` of `pkgutil --pkg-info-plist` output; undefined when it has none. */
export function parsePkgInfoLocation(stdout: string): string | undefined {
  const end = stdout.indexOf('</plist>');
  const doc = end === -1 ? stdout : stdout.slice(0, end + '</plist>'.length);
  try {
    const plist = parsePlist(doc.trim(), { source: 'pkgutil --pkg-info-plist' });
    const location = isPlistDict(plist) ? plist['install-location'] : undefined;
    return typeof location === 'string' ? location : undefined;
  } catch {
    return undefined;
  }
}

/** Non-empty lines of pkgutil output. */
function lines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

/** Removes the packages' unshared files and forgets their receipts (see the module comment). */
export async function removePackagesOnMac(
  ctx: MacosRemovalContext,
  packageIds: readonly string[],
): Promise<RemovalResult> {
  const result: RemovalResult = {
    ok: false,
    removedPaths: [],
    keptPaths: [],
    forgotten: [],
    errors: [],
  };
  const failed = (args: string[], r: CommandResult): string =>
    `pkgutil ${args.join(' ')} failed: ${r.stderr.trim() || `status ${r.exitCode ?? '?'}`}`;
  const call = async (args: string[]): Promise<CommandResult | string> => {
    try {
      const r = await ctx.pkgutil(args);
      return r.exitCode === 0 && !r.timedOut ? r : failed(args, r);
    } catch (e) {
      return `pkgutil ${args.join(' ')}: ${describeError(e)}`;
    }
  };

  const listed = await call(['--pkgs']);
  if (typeof listed === 'string') {
    result.errors.push(listed);
    return result;
  }
  const all = lines(listed.stdout).map((l) => l.trim());
  const wanted = [...new Set(packageIds)];
  for (const id of wanted) {
    if (!all.includes(id)) result.errors.push(`No receipt for package ${id}`);
  }

  const selected: OwnedPaths[] = [];
  const others: OwnedPaths[] = [];
  for (const id of all) {
    const isSelected = wanted.includes(id);
    const info = await call(['--pkg-info-plist', id]);
    const files = typeof info === 'string' ? info : await call(['--files', id]);
    if (typeof info === 'string' || typeof files === 'string') {
      const problem = typeof files === 'string' ? files : String(info);
      if (!isSelected) {
        // Another receipt's files are unknown: any path might be shared, so touch nothing.
        result.errors.push(`${problem}; nothing was removed, as shared files cannot be told apart`);
        return result;
      }
      result.errors.push(problem);
      continue;
    }
    const location = parsePkgInfoLocation(info.stdout) ?? '/';
    const paths = lines(files.stdout)
      .map((p) => volumePath(location, p))
      .filter((p): p is string => p !== undefined);
    (isSelected ? selected : others).push({ packageId: id, paths });
  }
  if (selected.length === 0) return result;

  const plan = planRemoval(selected, others);
  const outcome = await removeOwnedPaths(ctx.root, plan.remove, ctx.logger);
  result.removedPaths = outcome.removed;
  result.keptPaths = [...plan.shared.map((p) => `/${p}`), ...outcome.kept];
  result.errors.push(...outcome.errors);
  for (const { packageId } of selected) {
    const forgot = await call(['--forget', packageId]);
    if (typeof forgot === 'string') result.errors.push(forgot);
    else result.forgotten.push(packageId);
  }
  result.ok = result.errors.length === 0;
  return result;
}
