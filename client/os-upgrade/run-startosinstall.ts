/**
 * Runs an Install macOS app's `startosinstall` to prepare an upgrade:
 *   <app>/Contents/Resources/startosinstall --agreetolicense --nointeraction --rebootdelay N
 *     --forcequitapps [--user U --stdinpass] [additional_startosinstall_options…]
 * The password goes on stdin only: never in argv, logs, results or errors. Progress lines
 * ("Preparing: 42.5%") are reported as they come. Once it prints that it is waiting to reboot,
 * the upgrade is prepared and the Mac restarts after the delay: this returns then, without waiting
 * for the process, so the run can record the outcome before the restart ends it.
 */
import { join } from 'node:path';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { runCommand, shellExitStatus } from '../../lib/run-command.js';
import type { PackageInstallProgress } from '../platform/platform.js';
import { lineSplitter, parseStartosinstallLine } from './startosinstall-output.js';
import { withoutSecret, type VolumeOwnerCredentials } from './volume-owner.js';

/** startosinstall's own path inside an Install macOS app. */
export const STARTOSINSTALL_IN_APP = 'Contents/Resources/startosinstall';

/** Options we pass ourselves; an admin's additional options may not repeat or undo them. */
const RESERVED_OPTIONS = [
  '--user',
  '--stdinpass',
  '--passprompt',
  '--rebootdelay',
  '--pidtosignal',
];

/** How to run startosinstall. */
export interface StartosinstallRun {
  /** The root macOS paths hang from (`/` on a Mac, the sandbox folder otherwise). */
  root: string;
  /** The Install macOS app, as a macOS path (`/Applications/Install macOS Sequoia.app`). */
  appPath: string;
  /** Seconds startosinstall waits before restarting (it allows at most 300). */
  rebootDelaySeconds: number;
  /** A volume owner's account; required on Apple silicon. */
  credentials?: VolumeOwnerCredentials | undefined;
  /** pkginfo additional_startosinstall_options, appended as they are. */
  additionalOptions?: readonly string[];
  /** Kill startosinstall (and what it started) when preparing takes longer than this. */
  timeoutMs: number;
  logger: Logger;
  onProgress?: (progress: PackageInstallProgress) => void;
}

/** How a startosinstall run went; `transcript` and `error` never hold the password. */
export type StartosinstallResult =
  | { ok: true; transcript: string[] }
  | { ok: false; error: string; exitCode: number; timedOut: boolean; transcript: string[] };

/** The argv startosinstall is run with (the password is not in it: it goes on stdin). */
export function startosinstallArgv(run: Omit<StartosinstallRun, 'logger' | 'timeoutMs'>): string[] {
  const extra = run.additionalOptions ?? [];
  const reserved = extra.find((o) => RESERVED_OPTIONS.includes(o.split('=')[0] ?? o));
  if (reserved !== undefined) {
    throw new AppError(
      'SCHEMA_INVALID',
      `additional_startosinstall_options may not contain ${reserved}: Abbot passes it itself`,
    );
  }
  return [
    join(run.root, run.appPath, STARTOSINSTALL_IN_APP),
    '--agreetolicense',
    '--nointeraction',
    '--rebootdelay',
    String(run.rebootDelaySeconds),
    '--forcequitapps',
    ...(run.credentials ? ['--user', run.credentials.user, '--stdinpass'] : []),
    ...extra,
  ];
}

/** Runs startosinstall; resolves once the upgrade is prepared, or with why it was not. */
export async function runStartosinstall(run: StartosinstallRun): Promise<StartosinstallResult> {
  const argv = startosinstallArgv(run);
  const secret = run.credentials?.password;
  const transcript: string[] = [];
  const errors: string[] = [];
  let prepared: (() => void) | undefined;
  const restarting = new Promise<'restarting'>((resolve) => {
    prepared = () => resolve('restarting');
  });
  const onLine = (raw: string): void => {
    const line = withoutSecret(raw, secret);
    for (const event of parseStartosinstallLine(line)) {
      if (event.kind === 'noise') continue;
      if (event.kind === 'progress') {
        run.onProgress?.({ percent: event.percent });
        continue;
      }
      transcript.push(event.text);
      if (event.kind === 'error') {
        errors.push(event.text);
        run.logger.error('osupgrade.startosinstall.error', event.text);
      } else {
        run.logger.info('osupgrade.startosinstall', event.text);
        run.onProgress?.({ status: event.text });
        if (event.kind === 'restarting') prepared?.();
      }
    }
  };
  const out = lineSplitter(onLine);
  const err = lineSplitter(onLine);
  const finished = runCommand(argv, {
    // NSUnbufferedIO: without it startosinstall holds its progress until it exits (as Munki 6 sets).
    env: { ...process.env, NSUnbufferedIO: 'YES' },
    timeoutMs: run.timeoutMs,
    onStdout: (c) => out.push(c),
    onStderr: (c) => err.push(c),
    ...(run.credentials ? { stdin: `${run.credentials.password}\n` } : {}),
  });
  // After "Waiting to reboot" the process lives on until the Mac restarts: never wait for it.
  finished.catch(() => undefined);
  const first = await Promise.race([restarting, finished]);
  if (first === 'restarting') return { ok: true, transcript };
  out.end();
  err.end();
  // The marker may have been in the very last chunk.
  if (transcript.some((l) => parseStartosinstallLine(l)[0]?.kind === 'restarting')) {
    return { ok: true, transcript };
  }
  const status = shellExitStatus(first);
  const minutes = Math.round(run.timeoutMs / 60_000);
  const why = first.timedOut
    ? `startosinstall was still preparing after ${minutes} minutes and was stopped`
    : errors[0] !== undefined
      ? `startosinstall failed: ${errors[0]}`
      : status !== 0
        ? `startosinstall exited with status ${status}${lastLine(transcript)}`
        : `startosinstall ended without preparing the upgrade${lastLine(transcript)}`;
  return {
    ok: false,
    error: withoutSecret(why, secret),
    exitCode: first.timedOut ? 124 : status === 0 ? 1 : status,
    timedOut: first.timedOut,
    transcript,
  };
}

function lastLine(transcript: readonly string[]): string {
  const last = transcript.at(-1);
  return last === undefined ? ' (it printed nothing useful)' : ` (last said: ${last})`;
}
