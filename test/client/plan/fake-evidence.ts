/**
 * An in-memory Mac for plan tests: receipts, applications, files (a path exists when it or
 * something under it is listed) and scripts answered by their text.
 */
import type { PlistValue } from '../../../formats/index.js';
import type { InstallEvidence, ScriptOutcome } from '../../../client/plan/install-evidence.js';
import type { AppInfo, InstalledReceipt } from '../../../client/platform/platform.js';

/** What is on the fake Mac. */
export interface FakeMac {
  /** package id → installed version */
  receipts?: Record<string, string>;
  apps?: AppInfo[];
  /** path → plist contents (any value; `true` for a plain file) */
  files?: Record<string, PlistValue>;
  /** path → md5 */
  md5?: Record<string, string>;
  /** script text → exit code, or exit code and stdout */
  scripts?: Record<string, number | ScriptOutcome>;
  osVersion?: string;
}

/** Evidence over a fake Mac; `scriptRuns` records each script run (name: text). */
export function fakeEvidence(mac: FakeMac = {}): InstallEvidence & { scriptRuns: string[] } {
  const files = { ...(mac.files ?? {}) };
  for (const app of mac.apps ?? []) {
    files[`${app.path}/Contents/Info.plist`] ??= {
      CFBundleIdentifier: app.bundleid,
      CFBundleName: app.name,
      CFBundleShortVersionString: app.version,
    };
  }
  const receipts = new Map<string, InstalledReceipt>(
    Object.entries(mac.receipts ?? {}).map(([packageId, version]) => [
      packageId,
      { packageId, version },
    ]),
  );
  const scriptRuns: string[] = [];
  return {
    receipts,
    applications: mac.apps ?? [],
    osVersion: mac.osVersion ?? '14.5',
    scriptRuns,
    readPlist: (path) => Promise.resolve(files[path]),
    exists: (path) =>
      Promise.resolve(
        path in files ||
          Object.keys(files).some((p) => p.startsWith(path.replace(/\/$/, '') + '/')),
      ),
    md5: (path) => Promise.resolve(mac.md5?.[path]),
    runScript: (script, name) => {
      scriptRuns.push(`${name}: ${script}`);
      const answer = mac.scripts?.[script] ?? 1;
      return Promise.resolve(
        typeof answer === 'number' ? { exitCode: answer, stdout: '' } : answer,
      );
    },
  };
}

/** An application in the inventory (its Info.plist is added too). */
export function app(path: string, version: string, bundleid = '', name = ''): AppInfo {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/\.app$/, '');
  return { path, version, bundleid, name: name || base };
}
