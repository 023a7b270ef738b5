/**
 * Munki's `ManagedInstallReport.plist`: the per-run report that MunkiReport, Sal and other
 * postflight tools read. Keys, value types and the archive naming follow Munki (reports.swift,
 * updatecheck.swift, installer.swift, msuutils.swift) so those tools keep working unchanged:
 * - plan-derived keys (ManagedInstalls … managed_updates_list, Conditions) only when a check
 *   produced a plan, as Munki leaves them out when the check failed;
 * - times as plist dates, counts and statuses as integers, RemovedItems/InstalledItems as names;
 * - the previous report is kept as `Archives/ManagedInstallReport-yyyy-MM-dd-HHmmss.plist` (named,
 *   like Munki 6, after when it was written, in local time); the newest 100 archives are kept.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPlist, type PlistDict, type PlistValue } from '../../formats/index.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { describeError } from '../../lib/errors.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { FactValue, Facts } from '../../manifests/index.js';
import type { InstallPlan, OptionalItem, PlanItem } from '../plan/index.js';
import type { AbbotPaths } from '../platform/platform.js';
import type { RunKind } from '../state/client-state.js';

/** How many archived reports are kept. */
export const MAX_ARCHIVED_REPORTS = 100;

/** Munki's run types (what pre/postflight scripts and report readers see in RunType). */
export type ReportRunType =
  | 'auto'
  | 'custom'
  | 'manualcheck'
  | 'installwithnologout'
  | 'logoutinstall'
  | 'checkandinstallatstartup'
  | 'installatstartup';

/** The Munki run type that stands for one of our run kinds. */
export function runTypeFor(kind: RunKind | 'check'): ReportRunType {
  if (kind === 'auto') return 'auto';
  if (kind === 'bootstrap') return 'checkandinstallatstartup';
  return 'custom'; // what managedsoftwareupdate calls a run started by hand
}

/** One attempted install, as the report records it. */
export interface ReportInstallResult {
  name: string;
  /** Default: `name`. */
  displayName?: string;
  /** The version that was to be installed (version_to_install). */
  version: string;
  /** 0 for success, otherwise the installer's or script's return code. */
  status: number;
  /** When it finished. */
  time: Date;
  durationSeconds: number;
  /** The download speed recorded at check time; 0 when it was not downloaded this run. */
  downloadKbytesPerSec?: number;
  /** True when the session installed only unattended items. */
  unattended: boolean;
  /** True for an Apple software update (Munki's `applesus`). */
  appleUpdate?: boolean;
}

/** One attempted removal, as the report records it. */
export interface ReportRemovalResult {
  name: string;
  displayName?: string;
  /** 0 for success, otherwise the return code. */
  status: number;
  time: Date;
  unattended: boolean;
}

/** Everything a report is built from. */
export interface ManagedInstallReportInput {
  startTime: Date;
  endTime: Date;
  runType: ReportRunType;
  /** The check's facts; `applications` is left out, as Munki does. */
  machineInfo: Facts;
  /** The primary manifest; absent when the check failed before one was had. */
  manifestName?: string;
  /** The primary manifest's catalogs, recorded under Conditions.catalogs. */
  catalogs?: readonly string[];
  /** This run's plan; absent when no check ran or it failed. */
  plan?: InstallPlan;
  /**
   * What the install session set out to do (InstallInfo's managed_installs not yet installed and
   * removals still installed). Default: the plan's lists, else none.
   */
  itemsToInstall?: readonly PlistDict[];
  itemsToRemove?: readonly PlistDict[];
  installResults: readonly ReportInstallResult[];
  removalResults: readonly ReportRemovalResult[];
  errors: readonly string[];
  warnings: readonly string[];
  restartRequired: boolean;
  logoutRequired: boolean;
  /** The user at the console; empty or absent is written `<None>`. */
  consoleUser?: string;
  availableDiskSpaceKb: number;
  /** The client version (ManagedInstallVersion). */
  version: string;
  /** Apple updates still offered after the run (AppleUpdates.plist entries). */
  appleUpdates?: readonly PlistDict[];
}

/** A fact as a plist value; undefined for what a plist cannot hold (non-finite numbers). */
function factToPlist(value: FactValue): PlistValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' || typeof value === 'boolean' || value instanceof Date)
    return value;
  if (Array.isArray(value)) {
    const out: PlistValue[] = [];
    for (const v of value as readonly FactValue[]) {
      const p = factToPlist(v);
      if (p !== undefined) out.push(p);
    }
    return out;
  }
  return factsToPlist(value as Facts);
}

function factsToPlist(facts: Facts): PlistDict {
  const out: PlistDict = {};
  for (const [key, value] of Object.entries(facts)) {
    const p = factToPlist(value);
    // defineProperty: a `__proto__` key from a condition script must stay data.
    if (p !== undefined)
      Object.defineProperty(out, key, {
        value: p,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/** A plan entry as Munki writes it: its InstallInfo dictionary, without our `reason`. */
function entry(item: PlanItem | OptionalItem | PlistDict): PlistDict {
  const { reason: _reason, ...rest } = item;
  return rest;
}

const whole = (n: number): number => (Number.isFinite(n) ? Math.trunc(n) : 0);

/**
 * Builds the report dictionary. Keys and types are Munki's: StartTime/EndTime dates, RunType,
 * MachineInfo, ManifestName, the plan's lists, ItemsToInstall/ItemsToRemove, Conditions,
 * AppleUpdates, RestartRequired/LogoutRequired, InstallResults/RemovalResults, Errors, Warnings,
 * ManagedInstallVersion, AvailableDiskSpace (KB, integer) and ConsoleUser.
 */
export function buildManagedInstallReport(input: ManagedInstallReportInput): PlistDict {
  const { applications: _applications, ...facts } = input.machineInfo;
  const report: PlistDict = {
    StartTime: input.startTime,
    RunType: input.runType,
    MachineInfo: factsToPlist(facts),
  };
  if (input.manifestName !== undefined) report['ManifestName'] = input.manifestName;
  const plan = input.plan;
  if (plan) {
    // Munki's ManagedInstalls is every managed_installs entry: to install, installed, or a problem.
    report['ManagedInstalls'] = [
      ...plan.managedInstalls,
      ...plan.installedItems,
      ...plan.problemItems,
    ].map(entry);
    report['InstalledItems'] = plan.installedItems.map((i) => i.name);
    report['ProblemInstalls'] = plan.problemItems.map(entry);
    report['RemovedItems'] = plan.removedItems.map((i) => i.name);
    report['managed_installs_list'] = [...plan.processedInstalls];
    report['managed_uninstalls_list'] = [...plan.processedUninstalls];
    report['managed_updates_list'] = [...plan.managedUpdates];
  }
  report['ItemsToInstall'] = (input.itemsToInstall ?? plan?.managedInstalls ?? []).map(entry);
  report['ItemsToRemove'] = (input.itemsToRemove ?? plan?.removals ?? []).map(entry);
  if (plan) {
    report['Conditions'] = { ...factsToPlist(facts), catalogs: [...(input.catalogs ?? [])] };
  }
  report['AppleUpdates'] = (input.appleUpdates ?? []).map((u) => ({ ...u }));
  report['RestartRequired'] = input.restartRequired;
  report['LogoutRequired'] = input.logoutRequired;
  report['InstallResults'] = input.installResults.map((r) => ({
    display_name: r.displayName ?? r.name,
    name: r.name,
    version: r.version,
    applesus: r.appleUpdate === true,
    status: whole(r.status),
    time: r.time,
    duration_seconds: whole(r.durationSeconds),
    download_kbytes_per_sec: whole(r.downloadKbytesPerSec ?? 0),
    unattended: r.unattended,
  }));
  report['RemovalResults'] = input.removalResults.map((r) => ({
    display_name: r.displayName ?? r.name,
    name: r.name,
    status: whole(r.status),
    time: r.time,
    unattended: r.unattended,
  }));
  report['Errors'] = [...input.errors];
  report['Warnings'] = [...input.warnings];
  report['EndTime'] = input.endTime;
  report['ManagedInstallVersion'] = input.version;
  report['AvailableDiskSpace'] = whole(input.availableDiskSpaceKb);
  report['ConsoleUser'] = input.consoleUser ? input.consoleUser : '<None>';
  return report;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `ManagedInstallReport-yyyy-MM-dd-HHmmss.plist` for a report written at `at` (local time). */
export function archiveName(at: Date): string {
  const date = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
  const time = `${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `ManagedInstallReport-${date}-${time}.plist`;
}

/** `<stateDir>/Archives`. */
export function reportArchiveDir(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'Archives');
}

/** What {@link writeManagedInstallReport} did besides writing the report. */
export interface ReportWriteOutcome {
  /** Where the previous report was archived, if there was one. */
  archived?: string;
  /** Archives deleted to keep the newest {@link MAX_ARCHIVED_REPORTS}. */
  pruned: string[];
}

/** Links (or copies) `from` to a free name in `dir` based on `name`; returns the path used. */
async function archiveCopy(from: string, dir: string, name: string): Promise<string> {
  const base = name.replace(/\.plist$/, '');
  for (let n = 1; ; n++) {
    // Two reports within one second: keep both rather than overwrite the first.
    const target = join(dir, n === 1 ? name : `${base}-${n}.plist`);
    try {
      // A hard link keeps the old report's bytes and mtime and, unlike a rename, never leaves a
      // moment without a current report.
      await link(from, target);
      return target;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
    }
    try {
      await copyFile(from, target, constants.COPYFILE_EXCL);
      return target;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Deletes all but the newest `keep` archived reports (by modification time, then name). */
async function pruneArchives(dir: string, keep: number, logger: Logger): Promise<string[]> {
  const names = (await readdir(dir)).filter(
    (n) => n.startsWith('ManagedInstallReport-') && n.endsWith('.plist'),
  );
  if (names.length <= keep) return [];
  const dated: { path: string; name: string; mtime: number }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) dated.push({ path, name, mtime: info.mtimeMs });
  }
  dated.sort((a, b) => b.mtime - a.mtime || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const removed: string[] = [];
  for (const old of dated.slice(keep)) {
    try {
      await unlink(old.path);
      removed.push(old.path);
    } catch (e) {
      logger.warn('report.archive.prune', `could not remove ${old.path}: ${describeError(e)}`);
    }
  }
  return removed;
}

/**
 * Writes the report atomically to `paths.report`, first archiving the previous one under
 * `<stateDir>/Archives/` and then keeping the newest 100 archives. Archiving problems are
 * warnings (as in Munki): they never cost the new report.
 */
export async function writeManagedInstallReport(
  paths: Pick<AbbotPaths, 'report' | 'stateDir'>,
  report: PlistDict,
  options: { logger?: Logger } = {},
): Promise<ReportWriteOutcome> {
  const logger = options.logger ?? silentLogger;
  const dir = reportArchiveDir(paths);
  const outcome: ReportWriteOutcome = { pruned: [] };
  const previous = await stat(paths.report).catch(() => undefined);
  if (previous?.isFile()) {
    try {
      await mkdir(dir, { recursive: true });
      outcome.archived = await archiveCopy(paths.report, dir, archiveName(previous.mtime));
    } catch (e) {
      logger.warn(
        'report.archive.failed',
        `could not archive ${paths.report}: ${describeError(e)}`,
      );
    }
  }
  // Apple's writers sort keys; byte-for-byte the layout Munki's own reports have.
  await writeFileAtomic(paths.report, buildPlist(report, { sortKeys: true }), { mkdirs: true });
  if (outcome.archived) {
    try {
      outcome.pruned = await pruneArchives(dir, MAX_ARCHIVED_REPORTS, logger);
    } catch (e) {
      logger.warn('report.archive.prune', `could not prune ${dir}: ${describeError(e)}`);
    }
  }
  return outcome;
}
