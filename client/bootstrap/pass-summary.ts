/**
 * What one bootstrap pass did, read back from what the run recorded: the client state (the check's
 * result, each install and removal since the pass began), InstallInfo.plist (what is left) and the
 * restart request file. The run is a child process, so its records are the only account of it.
 */
import { readFile } from 'node:fs/promises';
import { isPlistDict, parsePlist } from '../../formats/index.js';
import type { AbbotPaths } from '../platform/platform.js';
import { restartRequestFile, type RestartRequest } from '../platform/sandbox/restart-request.js';
import { peekClientState } from '../state/client-state.js';
import type { BootstrapFailure } from './bootstrap-flag.js';

/** One pass's result. */
export interface PassSummary {
  /** True when the check failed or never ran (the run was refused or killed before it). */
  checkFailed: boolean;
  installed: string[];
  failed: BootstrapFailure[];
  remaining: { installs: number; removals: number };
  restartRequested: boolean;
}

const since = (at: string | undefined, start: Date): boolean =>
  at !== undefined && Date.parse(at) >= start.getTime();

/** Reads what the run that started at `start` recorded. */
export async function readPassSummary(
  paths: Pick<AbbotPaths, 'stateDir' | 'installInfo'>,
  start: Date,
): Promise<PassSummary> {
  const peek = await peekClientState(paths);
  const state = peek.state === 'ok' ? peek.value : undefined;
  const lastCheck = state?.lastCheck;
  const records = (state?.history ?? []).filter((r) => since(r.at, start));
  return {
    checkFailed: !since(lastCheck?.at, start) || lastCheck?.result !== 'ok',
    installed: records.filter((r) => r.result === 'success').map((r) => r.name),
    failed: records
      .filter((r) => r.result === 'failed')
      .map((r) => ({ name: r.name, action: r.action, reason: r.error ?? 'failed' })),
    remaining: await remainingWork(paths.installInfo),
    restartRequested: since(await restartRequestedAt(paths), start),
  };
}

/** Installs and removals still to do in InstallInfo.plist (none when it is missing). */
async function remainingWork(file: string): Promise<PassSummary['remaining']> {
  let info: unknown;
  try {
    info = parsePlist(await readFile(file), { source: file });
  } catch {
    return { installs: 0, removals: 0 };
  }
  const list = (key: string) => {
    const v = isPlistDict(info) ? info[key] : undefined;
    return Array.isArray(v) ? v.filter(isPlistDict) : [];
  };
  return {
    installs: list('managed_installs').filter((e) => e['installed'] !== true).length,
    removals: list('removals').filter((e) => e['installed'] === true).length,
  };
}

/** When the latest restart request was made, if any. */
async function restartRequestedAt(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<string | undefined> {
  try {
    const request = JSON.parse(
      await readFile(restartRequestFile(paths), 'utf8'),
    ) as Partial<RestartRequest>;
    return typeof request.updatedAt === 'string' ? request.updatedAt : undefined;
  } catch {
    return undefined;
  }
}
