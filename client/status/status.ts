/**
 * `abbot status`: what the client last did and what it still owes, read from the files the other
 * commands leave behind — the client state (`state.json`), Munki's `InstallInfo.plist`, and
 * `restart-requested.json` that installs write. Looking never changes anything: a corrupt or
 * unreadable file is reported in `warnings`, not repaired, so status works as any user and when
 * everything else is broken.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { describeError } from '../../lib/errors.js';
import { localUtcOffsetMinutes } from '../deadlines/force-install-after-date.js';
import type { AbbotPaths } from '../platform/platform.js';
import {
  bootTime,
  failuresIn,
  isRestartPending,
  peekClientState,
  type InstallRecord,
  type LastCheck,
  type LastRun,
} from '../state/client-state.js';

/** An install InstallInfo.plist has pending. */
export interface PendingInstall {
  name: string;
  display_name: string;
  version_to_install?: string;
  /** May be installed without a user (unattended_install). */
  unattended: boolean;
}

/** A removal InstallInfo.plist has pending. */
export interface PendingRemoval {
  name: string;
  display_name: string;
  installed_version?: string;
  /** May be removed without a user (unattended_uninstall). */
  unattended: boolean;
}

/** Whether the machine owes a restart, and why. */
export interface RestartStatus {
  required: boolean;
  /** The last run asked for a logout. */
  logoutRequired: boolean;
  /** Why, in the words of whatever asked. */
  reasons: string[];
  /** Items that asked, where the request names them. */
  items: string[];
  /** When it was first asked for since the last boot (ISO). */
  since?: string;
}

/** Everything `abbot status` reports; also its `--json` form (dates are ISO strings). */
export interface StatusReport {
  lastCheck: LastCheck | null;
  lastRun: LastRun | null;
  pending: {
    installs: PendingInstall[];
    removals: PendingRemoval[];
    /** Items that should be installed but cannot be, with why. */
    problems: { name: string; reason: string }[];
  };
  restart: RestartStatus;
  /** When the next deadline step (a warning or a forced install) falls due (ISO); null if none. */
  nextDeadlineAt: string | null;
  /** The newest failed installs and removals, newest first. */
  lastFailures: InstallRecord[];
  /** Files that could not be read, and why. */
  warnings: string[];
}

/** Options for {@link readStatus}. */
export interface StatusOptions {
  /** When the machine booted: restarts asked for before it are done (default: from uptime). */
  bootedAt?: Date;
  /** How many recent failures to list (default 5). */
  failures?: number;
}

/** `<stateDir>/restart-requested.json`, written by the platform's requestRestart. */
export function restartRequestPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'restart-requested.json');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

/** A restart request in either shape installs have written, normalised. */
interface RestartRequest {
  reasons: string[];
  items: string[];
  firstAt?: string;
  lastAt?: string;
}

/**
 * Reads the restart request. Two shapes are accepted: `{ at, reason, items }` and the platform's
 * `{ reasons, requestedAt, updatedAt }`.
 */
function restartRequestFrom(value: unknown): RestartRequest | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const reasons = [...strings(v['reasons'])];
  const reason = str(v['reason']);
  if (reason !== undefined && !reasons.includes(reason)) reasons.push(reason);
  const request: RestartRequest = { reasons, items: strings(v['items']) };
  const firstAt = str(v['requestedAt']) ?? str(v['at']);
  const lastAt = str(v['updatedAt']) ?? str(v['at']) ?? firstAt;
  if (firstAt !== undefined) request.firstAt = firstAt;
  if (lastAt !== undefined) request.lastAt = lastAt;
  return request;
}

async function readRestartRequest(
  paths: Pick<AbbotPaths, 'stateDir'>,
  warnings: string[],
): Promise<RestartRequest | undefined> {
  const file = restartRequestPath(paths);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      warnings.push(`${file}: ${describeError(e)}`);
    return undefined;
  }
  let request: RestartRequest | undefined;
  try {
    request = restartRequestFrom(JSON.parse(text));
  } catch (e) {
    warnings.push(`${file}: not valid JSON (${describeError(e)})`);
  }
  // A request we cannot read still says a restart was asked for: err on the side of saying so.
  return request ?? { reasons: ['a restart was requested'], items: [] };
}

async function readInstallInfo(
  paths: Pick<AbbotPaths, 'installInfo'>,
  warnings: string[],
): Promise<PlistDict | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(paths.installInfo);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      warnings.push(`${paths.installInfo}: ${describeError(e)}`);
    return undefined;
  }
  try {
    const value = parsePlist(bytes, { source: paths.installInfo });
    if (isPlistDict(value)) return value;
    warnings.push(`${paths.installInfo}: not a dictionary`);
  } catch (e) {
    warnings.push(describeError(e));
  }
  return undefined;
}

function dicts(info: PlistDict | undefined, key: string): PlistDict[] {
  const list = info?.[key];
  return Array.isArray(list) ? list.filter(isPlistDict) : [];
}

function pendingFrom(info: PlistDict | undefined): StatusReport['pending'] {
  const installs: PendingInstall[] = [];
  for (const item of dicts(info, 'managed_installs')) {
    const name = str(item['name']);
    if (name === undefined || item['installed'] === true) continue;
    const pending: PendingInstall = {
      name,
      display_name: str(item['display_name']) || name,
      unattended: item['unattended_install'] === true,
    };
    const version = str(item['version_to_install']);
    if (version !== undefined) pending.version_to_install = version;
    installs.push(pending);
  }
  const removals: PendingRemoval[] = [];
  for (const item of dicts(info, 'removals')) {
    const name = str(item['name']);
    // Munki removes only entries still installed; the rest are already gone.
    if (name === undefined || item['installed'] !== true) continue;
    const pending: PendingRemoval = {
      name,
      display_name: str(item['display_name']) || name,
      unattended: item['unattended_uninstall'] === true,
    };
    const version = str(item['installed_version']);
    if (version !== undefined) pending.installed_version = version;
    removals.push(pending);
  }
  const problems = dicts(info, 'problem_items').flatMap((item) => {
    const name = str(item['name']);
    return name === undefined ? [] : [{ name, reason: str(item['note']) ?? 'cannot be installed' }];
  });
  return { installs, removals, problems };
}

const isAfter = (at: string | undefined, bootedAt: Date): boolean => {
  if (at === undefined) return true; // undated: assume it still applies
  const t = new Date(at).getTime();
  return Number.isNaN(t) || t >= bootedAt.getTime();
};

const isEarlier = (at: string, than: string | undefined): boolean =>
  than === undefined || new Date(at).getTime() < new Date(than).getTime();

/** Gathers the status from the state file, InstallInfo.plist and the restart request. */
export async function readStatus(
  paths: Pick<AbbotPaths, 'stateDir' | 'installInfo'>,
  options: StatusOptions = {},
): Promise<StatusReport> {
  const bootedAt = options.bootedAt ?? bootTime();
  const warnings: string[] = [];

  let lastCheck: LastCheck | null = null;
  let lastRun: LastRun | null = null;
  let history: InstallRecord[] = [];
  let nextDeadlineAt: string | null = null;
  try {
    const state = await peekClientState(paths);
    if (state.state === 'ok') {
      lastCheck = state.value.lastCheck ?? null;
      lastRun = state.value.lastRun ?? null;
      history = state.value.history;
      nextDeadlineAt = state.value.nextDeadlineAt ?? null;
    } else if (state.state === 'corrupt') {
      warnings.push(
        `${join(paths.stateDir, 'state.json')}: ${state.reason}; the next run moves it aside`,
      );
    }
  } catch (e) {
    warnings.push(describeError(e));
  }

  const info = await readInstallInfo(paths, warnings);
  const request = await readRestartRequest(paths, warnings);

  const restart: RestartStatus = {
    required: false,
    logoutRequired: lastRun?.logoutRequired === true,
    reasons: [],
    items: [],
  };
  if (lastRun && isRestartPending(lastRun, bootedAt)) {
    restart.required = true;
    restart.reasons.push(`the last ${lastRun.kind} run (started ${lastRun.at}) asked for one`);
    restart.since = lastRun.finishedAt ?? lastRun.at;
  }
  if (request && isAfter(request.lastAt, bootedAt)) {
    restart.required = true;
    for (const r of request.reasons) if (!restart.reasons.includes(r)) restart.reasons.push(r);
    restart.items.push(...request.items);
    if (request.firstAt !== undefined && isEarlier(request.firstAt, restart.since))
      restart.since = request.firstAt;
  }

  return {
    lastCheck,
    lastRun,
    pending: pendingFrom(info),
    restart,
    nextDeadlineAt,
    lastFailures: failuresIn(history, options.failures ?? 5),
    warnings,
  };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `2026-03-08 10:50:00 +01:00`: the Mac's own clock, the offset making it unambiguous. */
function localTime(iso: string): string {
  const at = new Date(iso);
  const offset = localUtcOffsetMinutes(at);
  // Shifted by the offset, the UTC fields read as the local ones.
  const local = new Date(at.getTime() + offset * 60_000).toISOString();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

function versionSuffix(v: string | undefined): string {
  return v ? ` ${v}` : '';
}

/** The report as lines for a terminal. */
export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  const check = report.lastCheck;
  if (!check) lines.push('Last check: never');
  else if (check.result === 'ok')
    lines.push(
      `Last check: ${check.at}, ok` +
        (check.manifest ? ` (manifest ${check.manifest})` : '') +
        `: ${check.installs} to install, ${check.removals} to remove`,
    );
  else
    lines.push(
      `Last check: ${check.at}, failed` +
        (check.manifest ? ` (manifest ${check.manifest})` : '') +
        (check.error ? `: ${check.error}` : ''),
    );
  const run = report.lastRun;
  if (!run) lines.push('Last run:   never');
  else if (run.finishedAt === undefined)
    lines.push(
      `Last run:   ${run.kind}, started ${run.at}, not finished (running, or interrupted)`,
    );
  else lines.push(`Last run:   ${run.kind}, ${run.at} to ${run.finishedAt}, ${run.result}`);
  if (report.nextDeadlineAt !== null)
    lines.push(`Next deadline step: ${localTime(report.nextDeadlineAt)}`);

  const section = (title: string, rows: string[]): void => {
    if (rows.length === 0) return;
    lines.push('', `${title} (${rows.length}):`, ...rows);
  };
  const { installs, removals, problems } = report.pending;
  section(
    'Pending installs',
    installs.map(
      (i) =>
        `  + ${i.display_name}${versionSuffix(i.version_to_install)}${i.unattended ? ' [unattended]' : ''}`,
    ),
  );
  section(
    'Pending removals',
    removals.map(
      (i) =>
        `  - ${i.display_name}${versionSuffix(i.installed_version)}${i.unattended ? ' [unattended]' : ''}`,
    ),
  );
  section(
    'Problems',
    problems.map((p) => `  ! ${p.name}: ${p.reason}`),
  );
  if (installs.length + removals.length === 0) lines.push('', 'Nothing pending.');

  const restart = report.restart;
  if (restart.required) {
    const why = [...restart.reasons, ...restart.items.map((i) => `${i} asked for it`)];
    lines.push('', `Restart required${restart.since ? ` since ${restart.since}` : ''}:`);
    lines.push(...why.map((w) => `  ${w}`));
  } else if (restart.logoutRequired) {
    lines.push('', 'Logout required.');
  }

  section(
    'Recent failures',
    report.lastFailures.map(
      (f) =>
        `  ${f.at} ${f.action} of ${f.name}${versionSuffix(f.version)}` +
        (f.error ? `: ${f.error}` : ''),
    ),
  );
  section(
    'Warnings',
    report.warnings.map((w) => `  ${w}`),
  );
  return lines.join('\n') + '\n';
}

/** The report as `abbot status --json` prints it: one JSON object. */
export function formatStatusJson(report: StatusReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
