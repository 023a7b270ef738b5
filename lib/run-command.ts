/**
 * The one way the project starts a subprocess. Every command (pkgutil, installer, sysctl, an
 * admin's condition script, a pkginfo's installcheck_script) goes through `runCommand`, so time
 * limits, output caps and process-group cleanup are handled once.
 *
 * - No shell: `argv[0]` is executed directly with `argv.slice(1)` as its arguments.
 * - A non-zero exit is a result, not an error; only a command that cannot be started throws.
 * - The child leads its own process group, so a timeout kills what it started too (a script that
 *   runs `sleep 600` must not outlive its limit).
 * - Output beyond `maxOutputBytes` per stream is dropped (and flagged), never buffered without end.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { AppError } from './errors.js';

/** How to run one command. */
export interface RunCommandOptions {
  /** Written to the child's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** The child's whole environment (default: this process's). Spread `process.env` to extend it. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the command's process group after this long (default: no limit). */
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout and of stderr each (default 32 MiB). */
  maxOutputBytes?: number;
  /** After a timeout's SIGTERM, wait this long before SIGKILL (default 2 s). */
  killGraceMs?: number;
  /** Called with each chunk of stdout as it arrives (progress parsing), besides buffering it. */
  onStdout?: (chunk: string) => void;
  /** Called with each chunk of stderr as it arrives. */
  onStderr?: (chunk: string) => void;
}

/** What a finished command did. */
export interface CommandResult {
  /** The exit status, or null when the process was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the process was killed for running past `timeoutMs`. */
  timedOut: boolean;
  /** True when stdout or stderr went past `maxOutputBytes` and the rest was dropped. */
  truncated: boolean;
}

/** Default cap per stream: far above any pkgutil or softwareupdate listing, far below memory. */
export const DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 2_000;
/**
 * After the process itself exits, how long to wait for its pipes to close. A background child it
 * left behind can hold them open for ever; what that child writes later is not the command's.
 */
const PIPE_DRAIN_MS = 1_000;

/** A command that ran and failed; carries what an admin needs to see why. */
export class CommandError extends AppError {
  readonly argv: readonly string[];
  /** The command's exit status (not to be confused with `exitCode`, the CLI's). */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines of stderr (at most ~2 KB). */
  readonly stderrTail: string;

  constructor(argv: readonly string[], result: CommandResult, options: { hint?: string } = {}) {
    const tail = tailOf(result.stderr);
    const how = result.timedOut
      ? 'timed out'
      : result.signal !== null
        ? `was killed by ${result.signal}`
        : `exited with status ${result.exitCode ?? '?'}`;
    super('COMMAND_FAILED', `${argv[0] ?? 'command'} ${how}${tail ? `: ${tail}` : ''}`, options);
    this.name = 'CommandError';
    this.argv = [...argv];
    this.status = result.exitCode;
    this.signal = result.signal;
    this.stderrTail = tail;
  }
}

/** Throws a CommandError unless the command exited 0; returns the result for chaining. */
export function assertCommandSucceeded(
  argv: readonly string[],
  result: CommandResult,
): CommandResult {
  if (result.exitCode !== 0 || result.timedOut) throw new CommandError(argv, result);
  return result;
}

/** The shell convention for an exit status: the status itself, or 128 + the signal's number. */
export function shellExitStatus(result: Pick<CommandResult, 'exitCode' | 'signal'>): number {
  if (result.exitCode !== null) return result.exitCode;
  const signo = result.signal === null ? undefined : osConstants.signals[result.signal];
  return 128 + (signo ?? 0);
}

/**
 * Runs `argv` and resolves with its exit status and output once it has finished (or been killed
 * at `timeoutMs`). Rejects with AppError('COMMAND_FAILED') only when the executable cannot be
 * started (missing, not executable, or its `#!` interpreter is missing), naming `argv[0]`.
 * (Where libuv spawns with execvp, as on Linux, a script with no `#!` line runs with /bin/sh.)
 */
export function runCommand(
  argv: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') {
    return Promise.reject(new Error('runCommand: argv must name a command'));
  }
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;

  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(file, args, {
      // Own process group, so the whole tree can be signalled at once on timeout.
      detached: true,
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });

    const { stdout: outPipe, stderr: errPipe } = child;
    if (outPipe === null || errPipe === null) throw new Error('runCommand: stdio pipes missing');
    const stdout = new CappedBuffer(cap);
    const stderr = new CappedBuffer(cap);
    let timedOut = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timers: NodeJS.Timeout[] = [];

    const finish = (): void => {
      if (settled || exit === undefined) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        truncated: stdout.truncated || stderr.truncated,
      });
    };

    // One decoder per stream, so a UTF-8 character split across chunks reaches the callback whole.
    const outDecoder = new TextDecoder();
    const errDecoder = new TextDecoder();
    outPipe.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      options.onStdout?.(outDecoder.decode(chunk, { stream: true }));
    });
    errPipe.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      options.onStderr?.(errDecoder.decode(chunk, { stream: true }));
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      if (child.pid === undefined) {
        // The executable never started: that is the one failure runCommand throws for.
        settled = true;
        for (const t of timers) clearTimeout(t);
        reject(
          new AppError('COMMAND_FAILED', `cannot run ${file}: ${error.code ?? error.message}`, {
            hint:
              error.code === 'ENOENT'
                ? 'the program is not installed at that path'
                : error.code === 'ENOEXEC'
                  ? 'the file is not a program this machine can run'
                  : 'check that the file exists and is executable',
            cause: error,
          }),
        );
      }
      // Other errors (a failed kill) are followed by 'exit'/'close' as usual.
    });

    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Normally 'close' follows at once; if a leftover background child holds the pipes, stop
      // waiting for it after a moment.
      const drain = setTimeout(() => {
        outPipe.destroy();
        errPipe.destroy();
        finish();
      }, PIPE_DRAIN_MS);
      drain.unref();
      timers.push(drain);
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });

    if (options.stdin !== undefined && child.stdin) {
      // A child that exits without reading its stdin makes the write fail with EPIPE: not ours.
      child.stdin.on('error', () => {});
      child.stdin.end(options.stdin);
    }

    if (options.timeoutMs !== undefined) {
      const grace = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
      const timer = setTimeout(() => {
        // Past the limit with the process itself already gone, only a leftover background child
        // holds the pipes: clean it up without calling the command timed out.
        if (exit === undefined) timedOut = true;
        killGroup(child.pid, 'SIGTERM');
        const hard = setTimeout(() => killGroup(child.pid, 'SIGKILL'), grace);
        timers.push(hard);
      }, options.timeoutMs);
      timers.push(timer);
    }
  });
}

/** Signals every process in the group led by `pid`; a group that is already gone is fine. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already exited.
  }
}

/** Collects a stream's bytes up to a cap, remembering whether anything was dropped. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      this.truncated ||= chunk.length > 0;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/** The last few lines of `text`, at most about 2 KB, trimmed. */
function tailOf(text: string): string {
  const trimmed = text.trimEnd();
  const lines = trimmed.split('\n').slice(-10).join('\n');
  return lines.length > 2048 ? `…${lines.slice(-2048)}` : lines;
}
