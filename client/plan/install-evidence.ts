/**
 * What the plan needs to know about the Mac to decide whether an item is installed: receipts, the
 * application inventory, file and plist reads, and pkginfo scripts. Declared here by its consumer
 * (the client builds it from its Platform; tests use an in-memory fake).
 */
import type { PlistValue } from '../../formats/index.js';
import type { AppInfo, InstalledReceipt } from '../platform/platform.js';

/** The outcome of a pkginfo script (installcheck_script, version_script, …). */
export interface ScriptOutcome {
  exitCode: number;
  stdout: string;
}

/** Read-only evidence of what is installed on this Mac. Paths are macOS paths. */
export interface InstallEvidence {
  /** Installed package receipts by package id. */
  receipts: ReadonlyMap<string, InstalledReceipt>;
  /** The application inventory (Spotlight + LaunchServices on a Mac). */
  applications: readonly AppInfo[];
  /** The plist at `path`, or undefined when missing or unreadable. */
  readPlist(path: string): Promise<PlistValue | undefined>;
  /** True when a file or folder exists at `path`. */
  exists(path: string): Promise<boolean>;
  /** Lowercase hex MD5 of the file at `path`; undefined when missing. */
  md5(path: string): Promise<string | undefined>;
  /** Runs an embedded pkginfo script; `name` is the pkginfo key it came from. */
  runScript(script: string, name: string): Promise<ScriptOutcome>;
  /** Full macOS version (`14.5`, `15.0.1`). */
  osVersion: string;
}

/**
 * Wraps evidence so each script, plist, existence and checksum is asked once per check: Munki
 * re-runs an installcheck_script every time it asks, but nothing is installed during a check, so
 * the answers cannot change. A script that throws counts as exit code -1 ("could not run").
 */
export function memoizeEvidence(evidence: InstallEvidence): InstallEvidence {
  const scripts = new Map<string, Promise<ScriptOutcome>>();
  const plists = new Map<string, Promise<PlistValue | undefined>>();
  const existing = new Map<string, Promise<boolean>>();
  const sums = new Map<string, Promise<string | undefined>>();
  return {
    receipts: evidence.receipts,
    applications: evidence.applications,
    osVersion: evidence.osVersion,
    // A failing read is "not there", so one unreadable path cannot abort the whole check.
    readPlist: (path) => once(plists, path, () => evidence.readPlist(path).catch(() => undefined)),
    exists: (path) => once(existing, path, () => evidence.exists(path).catch(() => false)),
    md5: (path) => once(sums, path, () => evidence.md5(path).catch(() => undefined)),
    runScript: (script, name) =>
      once(scripts, `${name}\0${script}`, () =>
        evidence.runScript(script, name).catch((): ScriptOutcome => ({ exitCode: -1, stdout: '' })),
      ),
  };
}

function once<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) cache.set(key, (value = make()));
  return value;
}
