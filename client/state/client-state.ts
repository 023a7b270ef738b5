/**
 * The client's own record of what it did: the last check, the last install run, and a history of
 * installs and removals (`<stateDir>/state.json`, a lowdb database over the durable adapter).
 * Every mutation is one locked read-modify-write that reaches the disk before it returns, so a kill
 * at any moment leaves the previous or the new state, and a second process's writes are not lost.
 * Dates are ISO 8601 strings.
 */
import { uptime } from 'node:os';
import { join } from 'node:path';
import { Low } from 'lowdb';
import type { Logger } from '../../lib/log.js';
import type { CheckOutcome } from '../check/run-check.js';
import type { AbbotPaths } from '../platform/platform.js';
import { DurableJsonAdapter, type PeekResult } from './durable-adapter.js';

/** How many install/removal records the history keeps (the newest). */
export const MAX_HISTORY = 1000;

/** How the last check went. */
export interface LastCheck {
  /** When it started (ISO). */
  at: string;
  result: 'ok' | 'failed';
  /** The primary manifest used; absent when the check failed before one was had. */
  manifest?: string;
  /** Why it failed. */
  error?: string;
  /** Items the plan would install. */
  installs: number;
  /** Items the plan would remove. */
  removals: number;
}

/** What started a run: `abbot install`, `abbot run --auto`, or a bootstrap run at startup. */
export type RunKind = 'install' | 'auto' | 'bootstrap';

/** `running` until the run finishes; a run killed midway stays `running` without `finishedAt`. */
export type RunResult = 'running' | 'ok' | 'partial' | 'failed';

/** The last install run. */
export interface LastRun {
  /** When it started (ISO). */
  at: string;
  kind: RunKind;
  finishedAt?: string;
  result: RunResult;
  /** True while a restart this run (or an earlier one since the last boot) asked for is pending. */
  restartRequired: boolean;
  /** True when something this run installed or removed asked for a logout. */
  logoutRequired: boolean;
}

/** One install or removal attempt. */
export interface InstallRecord {
  /** When it finished (ISO). */
  at: string;
  action: 'install' | 'removal';
  name: string;
  /** The version installed (or removed). */
  version?: string;
  result: 'success' | 'failed' | 'skipped';
  durationSeconds: number;
  error?: string;
  /** True when it ran without a user present (`run --auto`, login window). */
  unattended: boolean;
}

/** The whole of `state.json`. */
export interface ClientStateData {
  version: 1;
  lastCheck?: LastCheck;
  lastRun?: LastRun;
  /**
   * When the next deadline step (a warning or a forced install) falls due (ISO), as the last full
   * install session worked it out; absent when none is coming. The daemon wakes for it.
   */
  nextDeadlineAt?: string;
  /** Oldest first; at most {@link MAX_HISTORY}. */
  history: InstallRecord[];
}

/** A check to record; `at` may be a Date. */
export type CheckInput = Omit<LastCheck, 'at'> & { at: Date | string };

/** An install or removal to record; `at` may be a Date. */
export type InstallRecordInput = Omit<InstallRecord, 'at'> & { at: Date | string };

/** How a run ended; `result` defaults to what this run's records say. */
export interface FinishRunInput {
  result?: Exclude<RunResult, 'running'>;
  restartRequired: boolean;
  logoutRequired: boolean;
  at?: Date;
}

/** The client state, open for recording. */
export interface ClientState {
  /** The state as last read or written; do not mutate it. */
  readonly data: Readonly<ClientStateData>;
  /** Records how a check went (replaces the previous one). */
  recordCheck(check: CheckInput): Promise<void>;
  /** Marks a run as started; a restart still pending from before (no boot since) carries over. */
  startRun(kind: RunKind, at?: Date): Promise<void>;
  /** Appends one install or removal to the history (the oldest dropped beyond 1000). */
  recordResult(record: InstallRecordInput): Promise<void>;
  /** Marks the current run finished. */
  finishRun(outcome: FinishRunInput): Promise<void>;
  /** Records when the next deadline step falls due; undefined clears it. */
  recordNextDeadline(at: Date | undefined): Promise<void>;
  /** True when a run asked for a restart and the machine has not booted since. */
  pendingRestart(bootedAt?: Date): boolean;
  /** The newest `n` failed records, newest first. */
  lastFailures(n: number): InstallRecord[];
}

/** Options for {@link openClientState}. */
export interface ClientStateOptions {
  logger?: Logger;
}

/** `<stateDir>/state.json`. */
export function clientStateFile(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'state.json');
}

/** When this machine booted, as far as this process can tell. */
export function bootTime(): Date {
  return new Date(Date.now() - uptime() * 1000);
}

function emptyState(): ClientStateData {
  return { version: 1, history: [] };
}

function iso(at: Date | string): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) throw new Error(`not a date: ${String(at)}`);
  return date.toISOString();
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isIso = (v: unknown): v is string =>
  typeof v === 'string' && !Number.isNaN(new Date(v).getTime());
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function lastCheckFrom(v: unknown): LastCheck | undefined {
  if (!isObject(v) || !isIso(v['at']) || (v['result'] !== 'ok' && v['result'] !== 'failed'))
    return undefined;
  const check: LastCheck = {
    at: v['at'],
    result: v['result'],
    installs: isCount(v['installs']) ? v['installs'] : 0,
    removals: isCount(v['removals']) ? v['removals'] : 0,
  };
  if (typeof v['manifest'] === 'string') check.manifest = v['manifest'];
  if (typeof v['error'] === 'string') check.error = v['error'];
  return check;
}

const RUN_KINDS: readonly unknown[] = ['install', 'auto', 'bootstrap'];
const RUN_RESULTS: readonly unknown[] = ['running', 'ok', 'partial', 'failed'];

function lastRunFrom(v: unknown): LastRun | undefined {
  if (!isObject(v) || !isIso(v['at']) || !RUN_KINDS.includes(v['kind'])) return undefined;
  const run: LastRun = {
    at: v['at'],
    kind: v['kind'] as RunKind,
    result: RUN_RESULTS.includes(v['result']) ? (v['result'] as RunResult) : 'running',
    restartRequired: v['restartRequired'] === true,
    logoutRequired: v['logoutRequired'] === true,
  };
  if (isIso(v['finishedAt'])) run.finishedAt = v['finishedAt'];
  return run;
}

function recordFrom(v: unknown): InstallRecord | undefined {
  if (
    !isObject(v) ||
    !isIso(v['at']) ||
    (v['action'] !== 'install' && v['action'] !== 'removal') ||
    typeof v['name'] !== 'string' ||
    (v['result'] !== 'success' && v['result'] !== 'failed' && v['result'] !== 'skipped')
  )
    return undefined;
  const record: InstallRecord = {
    at: v['at'],
    action: v['action'],
    name: v['name'],
    result: v['result'],
    durationSeconds:
      typeof v['durationSeconds'] === 'number' && v['durationSeconds'] >= 0
        ? v['durationSeconds']
        : 0,
    unattended: v['unattended'] === true,
  };
  if (typeof v['version'] === 'string') record.version = v['version'];
  if (typeof v['error'] === 'string') record.error = v['error'];
  return record;
}

/**
 * Reads `state.json`'s parsed JSON as {@link ClientStateData}: anything but an object is unusable
 * (undefined); otherwise malformed parts are dropped and the rest kept, so one bad record written
 * by a buggy or newer client does not cost the whole history.
 */
export function normalizeClientState(value: unknown): ClientStateData | undefined {
  if (!isObject(value)) return undefined;
  const state = emptyState();
  const lastCheck = lastCheckFrom(value['lastCheck']);
  const lastRun = lastRunFrom(value['lastRun']);
  if (lastCheck) state.lastCheck = lastCheck;
  if (lastRun) state.lastRun = lastRun;
  if (isIso(value['nextDeadlineAt'])) state.nextDeadlineAt = iso(value['nextDeadlineAt']);
  if (Array.isArray(value['history'])) {
    for (const entry of value['history']) {
      const record = recordFrom(entry);
      if (record) state.history.push(record);
    }
    state.history = state.history.slice(-MAX_HISTORY);
  }
  return state;
}

/** A check's summary as {@link ClientState.recordCheck} takes it. */
export function checkSummary(outcome: CheckOutcome, at: Date): CheckInput {
  return {
    at,
    result: 'ok',
    manifest: outcome.manifest,
    installs: outcome.plan.managedInstalls.length,
    removals: outcome.plan.removals.length,
  };
}

/** True when `lastRun` asked for a restart after the machine last booted. */
export function isRestartPending(lastRun: LastRun | undefined, bootedAt: Date): boolean {
  if (!lastRun?.restartRequired) return false;
  return new Date(lastRun.finishedAt ?? lastRun.at).getTime() >= bootedAt.getTime();
}

/** The newest `n` failed records of `history`, newest first. */
export function failuresIn(history: readonly InstallRecord[], n: number): InstallRecord[] {
  const out: InstallRecord[] = [];
  for (let i = history.length - 1; i >= 0 && out.length < n; i--) {
    const record = history[i];
    if (record?.result === 'failed') out.push(record);
  }
  return out;
}

/** The adapter `state.json` is read and written through. */
function adapterFor(
  paths: Pick<AbbotPaths, 'stateDir'>,
  logger: Logger | undefined,
): DurableJsonAdapter<ClientStateData> {
  return new DurableJsonAdapter<ClientStateData>(clientStateFile(paths), {
    parse: normalizeClientState,
    ...(logger ? { logger } : {}),
  });
}

/**
 * Reads `state.json` without changing anything (a corrupt file is reported, not moved aside):
 * what `abbot status` uses, so that looking never repairs or creates files.
 */
export async function peekClientState(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<PeekResult<ClientStateData>> {
  return adapterFor(paths, undefined).peek();
}

class LowClientState implements ClientState {
  constructor(
    private readonly db: Low<ClientStateData>,
    private readonly adapter: DurableJsonAdapter<ClientStateData>,
  ) {}

  get data(): Readonly<ClientStateData> {
    return this.db.data;
  }

  /** Re-reads under the lock (another process may have written), applies `fn`, writes. */
  private async mutate(fn: (data: ClientStateData) => void): Promise<void> {
    await this.adapter.exclusive(async () => {
      await this.db.read();
      await this.db.update(fn);
    });
  }

  recordCheck(check: CheckInput): Promise<void> {
    const lastCheck: LastCheck = { ...check, at: iso(check.at) };
    return this.mutate((data) => {
      data.lastCheck = lastCheck;
    });
  }

  startRun(kind: RunKind, at: Date = new Date()): Promise<void> {
    const bootedAt = bootTime();
    return this.mutate((data) => {
      data.lastRun = {
        at: iso(at),
        kind,
        result: 'running',
        // A restart asked for by an earlier run is still owed until the machine boots.
        restartRequired: isRestartPending(data.lastRun, bootedAt),
        logoutRequired: false,
      };
    });
  }

  recordResult(record: InstallRecordInput): Promise<void> {
    const entry: InstallRecord = { ...record, at: iso(record.at) };
    return this.mutate((data) => {
      data.history.push(entry);
      if (data.history.length > MAX_HISTORY)
        data.history.splice(0, data.history.length - MAX_HISTORY);
    });
  }

  finishRun(outcome: FinishRunInput): Promise<void> {
    const finishedAt = iso(outcome.at ?? new Date());
    return this.mutate((data) => {
      const run = data.lastRun ?? {
        // finishRun without startRun: record the run as starting and ending now.
        at: finishedAt,
        kind: 'install' as const,
        result: 'running' as const,
        restartRequired: false,
        logoutRequired: false,
      };
      const result = outcome.result ?? resultOf(data.history, run.at);
      data.lastRun = {
        ...run,
        finishedAt,
        result,
        restartRequired: run.restartRequired || outcome.restartRequired,
        logoutRequired: outcome.logoutRequired,
      };
    });
  }

  recordNextDeadline(at: Date | undefined): Promise<void> {
    const next = at === undefined ? undefined : iso(at);
    return this.mutate((data) => {
      if (next === undefined) delete data.nextDeadlineAt;
      else data.nextDeadlineAt = next;
    });
  }

  pendingRestart(bootedAt: Date = bootTime()): boolean {
    return isRestartPending(this.db.data.lastRun, bootedAt);
  }

  lastFailures(n: number): InstallRecord[] {
    return failuresIn(this.db.data.history, n);
  }
}

/** ok when nothing recorded since `since` failed, failed when nothing succeeded, else partial. */
function resultOf(history: readonly InstallRecord[], since: string): Exclude<RunResult, 'running'> {
  const from = new Date(since).getTime();
  let failed = 0;
  let succeeded = 0;
  for (const record of history) {
    if (new Date(record.at).getTime() < from) continue;
    if (record.result === 'failed') failed++;
    else if (record.result === 'success') succeeded++;
  }
  if (failed === 0) return 'ok';
  return succeeded === 0 ? 'failed' : 'partial';
}

/**
 * Opens `<stateDir>/state.json` (missing: an empty state; corrupt: moved aside with a warning and
 * an empty state). Nothing is written until the first mutation.
 */
export async function openClientState(
  paths: Pick<AbbotPaths, 'stateDir'>,
  options: ClientStateOptions = {},
): Promise<ClientState> {
  const adapter = adapterFor(paths, options.logger);
  const db = new Low<ClientStateData>(adapter, emptyState());
  await db.read();
  return new LowClientState(db, adapter);
}
