/**
 * Installs Apple updates: `<root>/usr/sbin/softwareupdate --install LABEL… --agree-to-license`
 * (+ `--restart` only when the caller allows it; + `--user U --stdinpass` with the volume owner's
 * password written to stdin on Apple silicon). The password is never in argv or the environment,
 * and is scrubbed from every line kept. Output lines are parsed into progress events; a run that
 * hangs is killed (with what it started) at `timeoutMs`.
 */
import { runCommand } from '../../lib/run-command.js';
import { APPLE_UPDATE_TOOLS, toolUnderRoot } from './apple-tools.js';
import type { VolumeOwnerCredentials } from './credentials.js';

/** One thing softwareupdate reported while installing. */
export type InstallEvent =
  | { kind: 'downloading' | 'downloaded' | 'installing' | 'done'; name: string }
  | { kind: 'finished' }
  | { kind: 'progress'; percent: number }
  | { kind: 'failed'; message: string }
  | { kind: 'auth-failed' }
  | { kind: 'restart-required' | 'shutdown-required' }
  | { kind: 'other'; text: string };

/**
 * Reads one output line. The verbs are those softwareupdate prints (`Downloading X`,
 * `Downloaded: X` since Big Sur, `Installing X`, `Done with X`, `Done.`, `Failed to
 * authenticate`) plus the older ones Munki 6 also read (`Installed X`, `Package failed:`,
 * `Progress: 42%`, the restart and shut-down notices). Pure.
 */
export function parseInstallLine(line: string): InstallEvent | undefined {
  const text = line.trim();
  if (text === '' || text === 'Software Update Tool' || text.startsWith('Finding available'))
    return undefined;
  if (/^Copyright \d{4}/.test(text)) return undefined;
  const percent = /^(?:Progress|Downloading|Installing|Preparing):?\s+(\d+(?:\.\d+)?)\s*%$/.exec(
    text,
  );
  if (percent?.[1]) return { kind: 'progress', percent: Math.min(100, Number(percent[1])) };
  if (/^Failed to authenticate/i.test(text)) return { kind: 'auth-failed' };
  if (/^Package failed:/.test(text) || /^Error:?\s/i.test(text) || /^Failed to /i.test(text))
    return { kind: 'failed', message: text };
  if (/Please call halt|your computer must shut down/i.test(text))
    return { kind: 'shutdown-required' };
  if (/requires that you restart your computer|^Restart required/i.test(text))
    return { kind: 'restart-required' };
  if (text === 'Done.') return { kind: 'finished' };
  const verb = /^(Downloading|Downloaded|Installing|Installed|Done with):?\s+(.+)$/.exec(text);
  if (verb?.[1] && verb[2]) {
    const kind =
      verb[1] === 'Downloading'
        ? 'downloading'
        : verb[1] === 'Downloaded'
          ? 'downloaded'
          : verb[1] === 'Installing'
            ? 'installing'
            : 'done';
    return { kind, name: verb[2].trim() };
  }
  return { kind: 'other', text };
}

/** What to install and how. */
export interface InstallRequest {
  labels: readonly string[];
  /** Pass `--restart`: softwareupdate then restarts the Mac itself when an update needs it. */
  allowRestart: boolean;
  /** The volume owner (Apple silicon); the password goes to stdin only. */
  credentials?: VolumeOwnerCredentials;
  timeoutMs: number;
  onEvent?: (event: InstallEvent) => void;
}

/** How a softwareupdate run went; every text in it has the password scrubbed. */
export interface InstallRun {
  ok: boolean;
  /** The argv run (never holds the password). */
  argv: string[];
  exitCode: number | null;
  timedOut: boolean;
  authFailed: boolean;
  /** Names softwareupdate reported as installed (`Done with X`, `Installed X`). */
  installed: string[];
  /** Names it reported as downloaded (a restart-needing update run without --restart stops there). */
  downloaded: string[];
  /** True when it said a restart (or shut-down) is needed. */
  restartRequired: boolean;
  /** Why it failed, one line. */
  error?: string;
  /** Its output, line by line. */
  log: string[];
}

/** The argv for a request; the user name is there, the password never. */
export function installArgv(root: string, request: Omit<InstallRequest, 'timeoutMs'>): string[] {
  return [
    toolUnderRoot(root, APPLE_UPDATE_TOOLS.softwareupdate),
    '--install',
    ...request.labels,
    '--agree-to-license',
    ...(request.allowRestart ? ['--restart'] : []),
    ...(request.credentials ? ['--user', request.credentials.user, '--stdinpass'] : []),
  ];
}

/** `text` with every occurrence of `secret` replaced by `***`. */
export function scrubSecret(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}

/** Splits a stream into lines as chunks arrive, calling `onLine` for each whole line. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk).split(/\r?\n|\r/);
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    },
    end() {
      if (rest !== '') onLine(rest);
      rest = '';
    },
  };
}

/** Runs one `softwareupdate --install` and reports how it went; never throws for its failures. */
export async function installAppleUpdateLabels(
  root: string,
  request: InstallRequest,
): Promise<InstallRun> {
  const argv = installArgv(root, request);
  const secret = request.credentials?.password;
  const log: string[] = [];
  const installed: string[] = [];
  const downloaded: string[] = [];
  const failures: string[] = [];
  let authFailed = false;
  let restartRequired = false;
  const onLine = (raw: string): void => {
    const line = scrubSecret(raw, secret);
    if (line.trim() !== '') log.push(line);
    const event = parseInstallLine(line);
    if (event === undefined) return;
    if (event.kind === 'done') installed.push(event.name);
    if (event.kind === 'downloaded') downloaded.push(event.name);
    if (event.kind === 'auth-failed') authFailed = true;
    if (event.kind === 'failed') failures.push(event.message);
    if (event.kind === 'restart-required' || event.kind === 'shutdown-required')
      restartRequired = true;
    request.onEvent?.(event);
  };
  const out = lineSplitter(onLine);
  const err = lineSplitter(onLine);
  let result;
  try {
    result = await runCommand(argv, {
      ...(secret !== undefined ? { stdin: `${secret}\n` } : {}),
      timeoutMs: request.timeoutMs,
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
    });
  } catch (e) {
    // The tool could not be started at all (missing, not executable).
    const message = scrubSecret(e instanceof Error ? e.message : String(e), secret);
    return {
      ok: false,
      argv,
      exitCode: null,
      timedOut: false,
      authFailed: false,
      installed,
      downloaded,
      restartRequired: false,
      error: message,
      log,
    };
  }
  out.end();
  err.end();
  const minutes = Math.round((request.timeoutMs / 60_000) * 10) / 10;
  const error = result.timedOut
    ? `softwareupdate did not finish within ${minutes} minutes and was killed`
    : authFailed
      ? 'softwareupdate could not authenticate the volume owner (Failed to authenticate)'
      : failures.length > 0
        ? `softwareupdate: ${failures[0] ?? ''}`
        : result.exitCode !== 0
          ? `softwareupdate exited with status ${result.exitCode ?? `? (${result.signal ?? 'signal'})`}${log.length > 0 ? `: ${log[log.length - 1] ?? ''}` : ''}`
          : undefined;
  return {
    ok: error === undefined,
    argv,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    authFailed,
    installed,
    downloaded,
    restartRequired,
    ...(error !== undefined ? { error: scrubSecret(error, secret) } : {}),
    log,
  };
}
