/**
 * Carrying out one plan entry: an install (pkginfo scripts around the installer type's work) or a
 * removal (by its uninstall_method). Failures come back as results, never as throws: one item's
 * failure is recorded and the run goes on.
 */
import { basename, isAbsolute, join } from 'node:path';
import { isPlistDict, type PlistDict } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import {
  defaultOsUpgradeContext,
  upgradeMacos,
  type OsUpgradeContext,
} from '../os-upgrade/upgrade-macos.js';
import type { Platform, RestartAction } from '../platform/platform.js';
import { asRestartAction, strongerRestartAction } from '../platform/restart-action.js';

/** What applying one entry did. */
export interface ItemOutcome {
  ok: boolean;
  /** 0 on success, else the installer's or script's return code (Munki's status). */
  status: number;
  restartAction: RestartAction;
  error?: string;
}

const restartOf = (item: PlistDict): RestartAction => asRestartAction(item['RestartAction']);

const fail = (status: number, error: string): ItemOutcome => ({
  ok: false,
  status,
  restartAction: 'None',
  error,
});

async function script(
  platform: Platform,
  item: PlistDict,
  key: string,
  logger: Logger,
): Promise<number | undefined> {
  const text = item[key];
  if (typeof text !== 'string' || text === '') return undefined;
  const r = await platform.runScript(text, { name: key });
  for (const line of `${r.stdout}${r.stderr}`.split('\n')) {
    if (line.trim() !== '') logger.info('install.script.output', `${item['name']} ${key}: ${line}`);
  }
  return r.timedOut ? 124 : r.exitCode;
}

// Types Munki 7 does not install (or we do not yet), each with the reason a Mac admin reads.
const UNSUPPORTED: Record<string, string> = {
  stage_os_installer: 'staging macOS installers is not supported yet',
  apple_update_metadata: 'Apple software updates are installed by softwareupdate, not here',
  profile: 'configuration profiles belong to the MDM; installer_type profile is not supported',
};

/**
 * Installs one plan entry from `installerPath` (undefined for nopkg, and for a macOS upgrade that
 * softwareupdate fetches); `osUpgrade` configures startosinstall items.
 */
export async function installEntry(
  platform: Platform,
  item: PlistDict,
  installerPath: string | undefined,
  logger: Logger,
  osUpgrade?: OsUpgradeContext,
): Promise<ItemOutcome> {
  const name = String(item['name']);
  const type = typeof item['installer_type'] === 'string' ? item['installer_type'] : undefined;
  const handled = ['nopkg', 'copy_from_dmg', 'startosinstall'];
  if (type !== undefined && !handled.includes(type)) {
    const reason =
      UNSUPPORTED[type] ??
      (type.startsWith('Adobe')
        ? 'Adobe installer types are not supported (Munki 7 dropped them)'
        : `unknown installer_type "${type}"`);
    return fail(-1, `${name}: ${reason}`);
  }
  try {
    const pre = await script(platform, item, 'preinstall_script', logger);
    if (pre !== undefined && pre !== 0)
      return fail(pre, `${name}: preinstall_script exited with ${pre}; not installed`);
    let restartAction = restartOf(item);
    if (type === 'startosinstall') {
      const context = osUpgrade ?? defaultOsUpgradeContext(platform, logger);
      const upgrade = await upgradeMacos(platform, item, installerPath, logger, context);
      if (!upgrade.ok) return fail(-1, upgrade.error ?? `${name}: the macOS upgrade failed`);
      restartAction = strongerRestartAction(restartAction, 'RequireRestart');
    } else if (type === 'copy_from_dmg') {
      if (installerPath === undefined) return fail(-1, `${name}: no installer item was downloaded`);
      const copy = await platform.copyFromDmg(installerPath, item['items_to_copy'] ?? []);
      if (!copy.ok)
        return fail(-1, `${name}: ${copy.error ?? 'copying from the disk image failed'}`);
    } else if (type === undefined) {
      if (installerPath === undefined) return fail(-1, `${name}: no installer item was downloaded`);
      const choices = item['installer_choices_xml'];
      const env = item['installer_environment'];
      const installOptions = {
        ...(choices !== undefined ? { choicesXml: choices } : {}),
        ...(item['allow_untrusted'] === true ? { allowUntrusted: true } : {}),
        ...(isPlistDict(env)
          ? {
              environment: Object.fromEntries(
                Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
              ),
            }
          : {}),
      };
      const packagePath = item['package_path'];
      // A package may come on a disk image (Munki's dmg-with-pkg): package_path or the first one.
      const result = /\.(dmg|iso)$/i.test(installerPath)
        ? await platform.installPackageFromDmg(
            installerPath,
            typeof packagePath === 'string' ? packagePath : undefined,
            installOptions,
          )
        : await platform.installPackage(installerPath, installOptions);
      if (!result.ok)
        return fail(result.exitCode || 1, `${name}: ${result.error ?? 'the installer failed'}`);
      restartAction = strongerRestartAction(restartAction, result.restartAction);
    }
    const post = await script(platform, item, 'postinstall_script', logger);
    // A failing postinstall_script is only a warning (Munki): the item is installed.
    if (post !== undefined && post !== 0)
      logger.warn('install.postinstall.failed', `${name}: postinstall_script exited with ${post}`);
    return { ok: true, status: 0, restartAction };
  } catch (e) {
    return fail(-1, `${name}: ${describeError(e)}`);
  }
}

/** The paths remove_copied_items deletes: each items_to_copy entry's destination. */
export function copiedItemPaths(items: unknown): string[] {
  if (!Array.isArray(items)) return [];
  const out: string[] = [];
  for (const i of items) {
    if (!isPlistDict(i) || typeof i['source_item'] !== 'string') continue;
    const dir = typeof i['destination_path'] === 'string' ? i['destination_path'] : undefined;
    const itemName =
      typeof i['destination_item'] === 'string'
        ? i['destination_item']
        : basename(i['source_item']);
    const path = dir !== undefined ? join(dir, itemName) : itemName;
    if (isAbsolute(path)) out.push(path);
  }
  return out;
}

/** Removes one plan entry by its uninstall_method (`uninstallerPath`: the downloaded uninstall_package). */
export async function removeEntry(
  platform: Platform,
  item: PlistDict,
  logger: Logger,
  uninstallerPath?: string,
): Promise<ItemOutcome> {
  const name = String(item['name']);
  const method = item['uninstall_method'];
  try {
    const pre = await script(platform, item, 'preuninstall_script', logger);
    if (pre !== undefined && pre !== 0)
      return fail(pre, `${name}: preuninstall_script exited with ${pre}; not removed`);
    if (method === 'removepackages') {
      const packages = Array.isArray(item['packages'])
        ? item['packages'].filter((p): p is string => typeof p === 'string')
        : [];
      const r = await platform.removePackages(packages);
      if (!r.ok)
        return fail(1, `${name}: ${r.errors.join('; ') || 'removing its packages failed'}`);
    } else if (method === 'uninstall_script') {
      const code = await script(platform, item, 'uninstall_script', logger);
      if (code === undefined) return fail(-1, `${name}: uninstall_script is empty`);
      if (code !== 0) return fail(code, `${name}: uninstall_script exited with ${code}`);
    } else if (method === 'remove_copied_items') {
      for (const path of copiedItemPaths(item['items_to_remove'] ?? item['items_to_copy'])) {
        await platform.removeItem(path);
      }
    } else if (method === 'uninstall_package') {
      if (uninstallerPath === undefined)
        return fail(-1, `${name}: its uninstall package was not downloaded`);
      const r = await platform.installPackage(uninstallerPath, {});
      if (!r.ok)
        return fail(r.exitCode || 1, `${name}: ${r.error ?? 'the uninstall package failed'}`);
    } else if (typeof method === 'string' && method.startsWith('/')) {
      // An admin's own uninstaller on the Mac, run as is (no arguments, as Munki runs it).
      const quoted = `'${method.replaceAll("'", `'\\''`)}'`;
      const r = await platform.runScript(`#!/bin/sh\nexec ${quoted}\n`, {
        name: 'uninstall_method',
      });
      if (r.exitCode !== 0) return fail(r.exitCode, `${name}: ${method} exited with ${r.exitCode}`);
    } else {
      return fail(-1, `${name}: uninstall_method ${String(method)} is not supported`);
    }
    const post = await script(platform, item, 'postuninstall_script', logger);
    if (post !== undefined && post !== 0)
      logger.warn(
        'install.postuninstall.failed',
        `${name}: postuninstall_script exited with ${post}`,
      );
    return { ok: true, status: 0, restartAction: restartOf(item) };
  } catch (e) {
    return fail(-1, `${name}: ${describeError(e)}`);
  }
}
