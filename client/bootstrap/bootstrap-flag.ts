/**
 * Bootstrap mode's flag and record (Munki's checkandinstallatstartup flag): `<state>/bootstrap.json`
 * exists while bootstrap is set and holds every pass made so far, so the bound on passes holds
 * across restarts. When bootstrap ends (everything installed, or it gave up) the flag is removed
 * and the outcome kept in `<state>/bootstrap-result.json`.
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { AppError } from '../../lib/errors.js';
import type { AbbotPaths } from '../platform/platform.js';

/** One item that failed in a pass. */
export interface BootstrapFailure {
  name: string;
  action: 'install' | 'removal';
  reason: string;
}

/** One check-and-install pass, as recorded. */
export interface BootstrapPass {
  pass: number;
  startedAt: string;
  finishedAt: string;
  /** The run's status: ok, failed, killed. */
  status: string;
  exitCode: number | null;
  checkFailed: boolean;
  installed: string[];
  failed: BootstrapFailure[];
  /** What the plan still holds after the pass. */
  remaining: { installs: number; removals: number };
  restartRequested: boolean;
}

/** What the flag file holds. */
export interface BootstrapState {
  setAt: string;
  passes: BootstrapPass[];
}

/** How bootstrap ended, kept after the flag is cleared. */
export interface BootstrapResult {
  outcome: 'complete' | 'failed';
  setAt: string;
  finishedAt: string;
  /** Why it failed, in a sentence. */
  reason?: string;
  failures: BootstrapFailure[];
  passes: BootstrapPass[];
}

/** `<state>/bootstrap.json`: present while bootstrap mode is set. */
export function bootstrapFlagPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'bootstrap.json');
}

/** `<state>/bootstrap-result.json`: how the last bootstrap ended. */
export function bootstrapResultPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'bootstrap-result.json');
}

/** Sets bootstrap mode with no passes made (setting it again starts the count afresh). */
export async function setBootstrap(
  paths: Pick<AbbotPaths, 'stateDir'>,
  now: Date = new Date(),
): Promise<void> {
  await writeBootstrapState(paths, { setAt: now.toISOString(), passes: [] });
}

/** Clears bootstrap mode; true when it was set. */
export async function clearBootstrap(paths: Pick<AbbotPaths, 'stateDir'>): Promise<boolean> {
  try {
    await unlink(bootstrapFlagPath(paths));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new AppError('IO', `cannot remove ${bootstrapFlagPath(paths)}: ${String(e)}`, {
      cause: e,
    });
  }
}

/** Replaces the flag file's record. */
export async function writeBootstrapState(
  paths: Pick<AbbotPaths, 'stateDir'>,
  state: BootstrapState,
): Promise<void> {
  await writeFileAtomic(bootstrapFlagPath(paths), `${JSON.stringify(state, null, 2)}\n`, {
    mkdirs: true,
  });
}

/** The flag's record, or undefined when bootstrap is not set; SCHEMA_INVALID when unreadable. */
export async function readBootstrapState(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<BootstrapState | undefined> {
  const file = bootstrapFlagPath(paths);
  const value = await readJson(file);
  if (value === undefined) return undefined;
  const v = value as Partial<BootstrapState>;
  if (typeof v.setAt !== 'string' || !Array.isArray(v.passes)) {
    throw new AppError('SCHEMA_INVALID', `${file}: not a bootstrap record (setAt, passes)`, {
      hint: 'set bootstrap mode again with `abbot bootstrap --set`',
    });
  }
  return { setAt: v.setAt, passes: v.passes };
}

/** How the last bootstrap ended, if one has. */
export async function readBootstrapResult(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<BootstrapResult | undefined> {
  return (await readJson(bootstrapResultPath(paths))) as BootstrapResult | undefined;
}

/** Records how bootstrap ended and clears the flag (in that order: a crash between keeps it set). */
export async function finishBootstrap(
  paths: Pick<AbbotPaths, 'stateDir'>,
  result: BootstrapResult,
): Promise<void> {
  await writeFileAtomic(bootstrapResultPath(paths), `${JSON.stringify(result, null, 2)}\n`, {
    mkdirs: true,
  });
  await clearBootstrap(paths);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('IO', `cannot read ${file}: ${String(e)}`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('SCHEMA_INVALID', `${file}: not valid JSON`, {
      hint: 'set bootstrap mode again with `abbot bootstrap --set`',
    });
  }
}
