/**
 * Running a pkginfo's embedded script (installcheck_script, version_script, preinstall_script, …):
 * written to a private file in `<state>/tmp/` (folder 0700, file 0700), executed directly so its
 * `#!` line picks the interpreter, with ABBOT_ROOT set to the root, and deleted afterwards.
 * Shared by the sandbox and the macOS platform.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, isAppError } from '../../../lib/errors.js';
import { runCommand, shellExitStatus } from '../../../lib/run-command.js';
import type { AbbotPaths, ScriptResult } from '../platform.js';

/** How long an embedded script may run by default: 10 minutes. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 10 * 60_000;

/** Options of `runEmbeddedScript`, as `Platform.runScript` takes them. */
export interface EmbeddedScriptOptions {
  /** Names the script in its file name and in errors, e.g. `installcheck_script`. */
  name: string;
  timeoutMs?: number;
  /** Extra environment, on top of this process's. */
  env?: Record<string, string>;
}

/**
 * Writes `script` to a private temp file and runs it. The exit status of a script killed by a
 * signal is 128 + the signal's number, as a shell reports it. Throws AppError COMMAND_FAILED
 * when the script cannot be started at all (no `#!` line, or its interpreter is missing).
 */
export async function runEmbeddedScript(
  paths: Pick<AbbotPaths, 'root' | 'tmpDir'>,
  script: string,
  options: EmbeddedScriptOptions,
  defaultTimeoutMs: number = DEFAULT_SCRIPT_TIMEOUT_MS,
): Promise<ScriptResult> {
  if (!script.startsWith('#!')) {
    // Linux's execvp would quietly run it with /bin/sh while macOS refuses it (as Munki does):
    // refuse it everywhere, so a pkginfo behaves the same in the sandbox and on a Mac.
    throw new AppError('COMMAND_FAILED', `${options.name}: cannot run the script: no #! line`, {
      hint: 'start the script with an interpreter line such as #!/bin/sh',
    });
  }
  await ensurePrivateFolder(paths.tmpDir);
  const safeName = options.name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || 'script';
  const file = join(paths.tmpDir, `${safeName}.${randomBytes(6).toString('hex')}`);
  // 'wx': never follow or reuse something already at that name.
  await writeFile(file, script, { mode: 0o700, flag: 'wx' });
  await chmod(file, 0o700); // the umask may have narrowed the mode
  try {
    const result = await runWithRetry([file], {
      env: { ...process.env, ...options.env, ABBOT_ROOT: paths.root },
      timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
    });
    return {
      exitCode: shellExitStatus(result),
      stdout: result.stdout,
      stderr: result.stderr,
      timedOut: result.timedOut,
    };
  } catch (e) {
    if (isAppError(e, 'COMMAND_FAILED')) {
      throw new AppError('COMMAND_FAILED', `${options.name}: cannot run the script`, {
        hint: "check that the script's #! line names an installed interpreter",
        cause: e,
      });
    }
    throw e;
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Runs a freshly written file, retrying a moment later on ETXTBSY: a concurrent spawn may still
 * hold the file's write descriptor between its fork and exec (a Linux race with fresh scripts).
 */
async function runWithRetry(
  argv: string[],
  options: Parameters<typeof runCommand>[1],
): ReturnType<typeof runCommand> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await runCommand(argv, options);
    } catch (e) {
      const code = (e as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (code !== 'ETXTBSY' || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** Creates (or tightens) a 0700 folder, refusing a symlink or a file in its place. */
export async function ensurePrivateFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory()) {
    throw new AppError('IO', `${dir}: expected a folder for private temporary files`, {
      hint: 'remove whatever is at that path',
    });
  }
  if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}
