/**
 * Munki's removepackages, shared by both platforms, and its sandbox front end.
 *
 * A receipt owns the paths its file list names (joined onto its install location). Removing a set
 * of receipts removes the paths that they own and NO OTHER receipt owns, in reverse sorted order
 * (so `a/b/c` goes before `a/b`, which goes before `a`): files and symlinks are deleted (a symlink
 * itself, never what it points to); a folder only when it is empty or holds only `.DS_Store`,
 * otherwise it is kept and reported. Then the receipts are forgotten, whatever happened to their
 * files, as Munki does. Paths shared with another receipt are left alone and reported as kept.
 *
 * Where Abbot is stricter than Munki: a path that is already gone is skipped quietly (Munki reports
 * an "unsupported filesystem type" error for it); a path whose folder resolves outside the root is
 * never touched; and when another receipt's file list cannot be read the removal stops before
 * deleting anything, because shared files could no longer be told apart.
 *
 * In the sandbox a receipt's file list is `<id>.paths.plist` (receipt-writer.ts). A receipt without
 * one (written by another tool) owns no known paths: it protects nothing, and it cannot itself be
 * removed by file (it is reported and not forgotten).
 */
import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { AbbotPaths, RemovalResult } from '../platform.js';
import { hostPathFor } from './files.js';
import { forgetReceipt, readReceiptPaths } from './receipt-writer.js';
import { readReceiptsFolder } from './receipts.js';
import { isInside, safeParts } from './sandbox-paths.js';

/** One receipt's paths, relative to the volume (`Applications/Foo.app`, no leading `/`). */
export interface OwnedPaths {
  packageId: string;
  paths: readonly string[];
}

/**
 * Joins a receipt's install location (pkgutil's `install-location`/InstallPrefixPath: `/`,
 * `Applications/`, `./usr/local`) and one of its `--files` paths into a volume-relative path;
 * undefined when the result would climb above `/`.
 */
export function volumePath(installLocation: string, path: string): string | undefined {
  const parts = safeParts(`${installLocation}/${path}`);
  return parts === undefined || parts.length === 0 ? undefined : parts.join('/');
}

/**
 * Splits the selected receipts' paths into those to remove (owned by no other receipt), in the
 * order to process them (reverse sorted: deepest first), and those another receipt shares.
 */
export function planRemoval(
  selected: readonly OwnedPaths[],
  others: readonly OwnedPaths[],
): { remove: string[]; shared: string[] } {
  const elsewhere = new Set(others.flatMap((o) => o.paths));
  const mine = new Set(selected.flatMap((s) => s.paths));
  const remove: string[] = [];
  const shared: string[] = [];
  for (const path of mine) (elsewhere.has(path) ? shared : remove).push(path);
  const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return { remove: remove.sort(byPath).reverse(), shared: shared.sort(byPath) };
}

/**
 * Removes volume-relative `paths` under `root`, in the order given (see the module comment for
 * what is removed and what is kept). Returned paths are macOS paths (`/Applications/Foo.app`).
 */
export async function removeOwnedPaths(
  root: string,
  paths: readonly string[],
  logger: Logger,
): Promise<{ removed: string[]; kept: string[]; errors: string[] }> {
  const removed: string[] = [];
  const kept: string[] = [];
  const errors: string[] = [];
  const rootReal = await realpath(root);
  const folderOk = new Map<string, boolean>();
  for (const rel of paths) {
    const macPath = `/${rel}`;
    const host = hostPathFor(root, macPath);
    if (host === undefined || host === root) {
      errors.push(`Couldn't remove item ${macPath}: the path leaves the volume`);
      continue;
    }
    const parent = dirname(host);
    let ok = folderOk.get(parent);
    if (ok === undefined) {
      const real = await realpath(parent).catch(() => undefined);
      // A missing parent means the item is gone too; report nothing for it below.
      ok = real === undefined ? true : isInside(rootReal, real);
      folderOk.set(parent, ok);
    }
    if (!ok) {
      errors.push(`Couldn't remove item ${macPath}: its folder leads outside the root`);
      continue;
    }
    let info;
    try {
      info = await lstat(host);
    } catch {
      continue; // already gone
    }
    try {
      if (info.isFile() || info.isSymbolicLink()) {
        await rm(host);
        removed.push(macPath);
      } else if (info.isDirectory()) {
        const names = await readdir(host);
        if (names.length === 0 || (names.length === 1 && names[0] === '.DS_Store')) {
          await rm(host, { recursive: true });
          removed.push(macPath);
        } else {
          kept.push(macPath);
          logger.info('remove.folder.kept', `Did not remove ${macPath} because it is not empty.`);
        }
      } else {
        errors.push(`Couldn't remove item ${macPath}: unsupported filesystem type`);
      }
    } catch (e) {
      errors.push(`Couldn't remove item ${macPath}: ${describeError(e)}`);
    }
  }
  return { removed, kept, errors };
}

/** What the sandbox's removal needs of its platform. */
export interface SandboxRemovalContext {
  paths: Pick<AbbotPaths, 'root' | 'receiptsDir'>;
  logger: Logger;
}

/** removepackages in the sandbox: receipts and file lists from `<root>/var/db/receipts/`. */
export async function removePackagesInSandbox(
  ctx: SandboxRemovalContext,
  packageIds: readonly string[],
): Promise<RemovalResult> {
  const result: RemovalResult = {
    ok: false,
    removedPaths: [],
    keptPaths: [],
    forgotten: [],
    errors: [],
  };
  const installed = new Map(
    (await readReceiptsFolder(ctx.paths.receiptsDir, ctx.logger)).map((r) => [r.packageId, r]),
  );
  const wanted = [...new Set(packageIds)];
  for (const id of wanted) {
    if (!installed.has(id)) result.errors.push(`No receipt for package ${id}`);
  }

  const selected: OwnedPaths[] = [];
  const others: OwnedPaths[] = [];
  for (const [id, receipt] of installed) {
    const isSelected = wanted.includes(id);
    let list;
    try {
      list = await readReceiptPaths(ctx.paths.receiptsDir, id);
    } catch (e) {
      result.errors.push(
        isSelected
          ? `${id}: ${describeError(e)}`
          : `${id}: ${describeError(e)}; nothing was removed, as its files cannot be told apart`,
      );
      if (!isSelected) return result;
      continue;
    }
    if (list === undefined) {
      if (isSelected) {
        result.errors.push(`${id}: the receipt has no file list; cannot tell which files it owns`);
      } else {
        ctx.logger.warn('remove.receipt.unlisted', `${id}: receipt without a file list`, { id });
      }
      continue;
    }
    const location = receipt.installPrefixPath ?? '/';
    const paths = [...list.keys()]
      .map((p) => volumePath(location, p))
      .filter((p): p is string => p !== undefined);
    (isSelected ? selected : others).push({ packageId: id, paths });
  }
  if (selected.length === 0) return result;

  const plan = planRemoval(selected, others);
  const outcome = await removeOwnedPaths(ctx.paths.root, plan.remove, ctx.logger);
  result.removedPaths = outcome.removed;
  result.keptPaths = [...plan.shared.map((p) => `/${p}`), ...outcome.kept];
  result.errors.push(...outcome.errors);
  for (const { packageId } of selected) {
    try {
      if (await forgetReceipt(ctx.paths.receiptsDir, packageId)) result.forgotten.push(packageId);
    } catch (e) {
      result.errors.push(`${packageId}: could not forget the receipt: ${describeError(e)}`);
    }
  }
  result.ok = result.errors.length === 0;
  return result;
}
