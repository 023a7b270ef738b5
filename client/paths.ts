/**
 * Every absolute path the client uses, derived from one root (`/` on a Mac, the sandbox folder
 * otherwise). This is the one place that spells `/Library/...`: everything else asks `pathsFor`.
 */
import { join, resolve } from 'node:path';
import type { AbbotPaths } from './platform/platform.js';

/** Re-exported so callers of `pathsFor` need not reach into platform/. */
export type { AbbotPaths } from './platform/platform.js';

/** The client's folders and files under `root` (made absolute); nothing is created. */
export function pathsFor(root: string): AbbotPaths {
  const base = resolve(root);
  const stateDir = join(base, 'Library', 'Abbot');
  return Object.freeze({
    root: base,
    stateDir,
    manifestsDir: join(stateDir, 'manifests'),
    catalogsDir: join(stateDir, 'catalogs'),
    cacheDir: join(stateDir, 'Cache'),
    iconsDir: join(stateDir, 'icons'),
    logsDir: join(stateDir, 'Logs'),
    conditionsDir: join(stateDir, 'conditions'),
    installInfo: join(stateDir, 'InstallInfo.plist'),
    report: join(stateDir, 'ManagedInstallReport.plist'),
    conditionalItems: join(stateDir, 'ConditionalItems.plist'),
    tmpDir: join(stateDir, 'tmp'),
    machinePlist: join(stateDir, 'machine.plist'),
    preferences: join(base, 'Library', 'Preferences', 'org.abbot.client.plist'),
    managedPreferences: join(base, 'Library', 'Managed Preferences', 'org.abbot.client.plist'),
    receiptsDir: join(base, 'var', 'db', 'receipts'),
    systemVersionPlist: join(base, 'System', 'Library', 'CoreServices', 'SystemVersion.plist'),
  });
}
