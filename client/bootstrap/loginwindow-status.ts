/**
 * What the login window shows during bootstrap. The daemon writes `<state>/loginwindow-status.json`
 * (atomically, world-readable: it holds no secrets) at each step; the LoginWindow LaunchAgent's
 * status window reads it every second. Tests read it too.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import type { AbbotPaths } from '../platform/platform.js';
import type { BootstrapFailure } from './bootstrap-flag.js';

/** Where bootstrap is. */
export type LoginwindowPhase =
  'waiting-for-network' | 'running' | 'restarting' | 'complete' | 'failed';

/** The status window's content. */
export interface LoginwindowStatus {
  phase: LoginwindowPhase;
  /** The headline, e.g. `Installing software (pass 2 of 10)`. */
  message: string;
  /** The latest line of the run's output, e.g. `Installing Hello World`. */
  detail?: string;
  pass?: number;
  maxPasses?: number;
  failures?: BootstrapFailure[];
  updatedAt: string;
}

/** `<state>/loginwindow-status.json`. */
export function loginwindowStatusPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'loginwindow-status.json');
}

/** Replaces the status file. */
export async function writeLoginwindowStatus(
  paths: Pick<AbbotPaths, 'stateDir'>,
  status: LoginwindowStatus,
): Promise<void> {
  await writeFileAtomic(loginwindowStatusPath(paths), `${JSON.stringify(status, null, 2)}\n`, {
    mode: 0o644,
    mkdirs: true,
  });
}

/** The status file's content, or undefined when there is none. */
export async function readLoginwindowStatus(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<LoginwindowStatus | undefined> {
  const text = await readFile(loginwindowStatusPath(paths), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as LoginwindowStatus;
  } catch {
    return undefined;
  }
}
