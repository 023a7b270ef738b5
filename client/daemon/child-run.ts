/**
 * How the daemon carries out a run: `abbot run --auto --no-daemon` (`--bootstrap` for a bootstrap
 * pass, `--item NAME…` for a self-service request) as a child process, with the daemon's own
 * --root/--config flags. Item names reach the child as argv entries, never through a shell. A
 * child can really be killed when it hangs past the time limit (its whole process group, installer
 * and scripts included), and each run starts with fresh memory and freshly read preferences, which
 * a long-lived daemon wants.
 */
import { runCommand } from '../../lib/run-command.js';
import type { RunExecutor } from './run-coordinator.js';

/** What starts a run. */
export interface ChildRunOptions {
  /** The argv that starts the abbot CLI, e.g. `[node, /usr/local/abbot/bin/abbot]`. */
  abbotCommand: readonly string[];
  /** Flags every run gets (`--root DIR`, `--config FILE`, …). */
  runArgs: readonly string[];
  /** The child's environment (default: the daemon's). */
  env?: Record<string, string | undefined>;
}

/** After a SIGTERM at the time limit, how long a run has to stop before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** An executor that runs each job as a child `abbot run` process. */
export function childRunExecutor(options: ChildRunOptions): RunExecutor {
  return async (job, { timeoutMs, onOutput }) => {
    const what =
      job.kind === 'selfservice'
        ? // `--item=NAME`: a name that starts with `-` stays a value, not a flag.
          job.items.map((item) => `--item=${item}`)
        : [job.kind === 'bootstrap' ? '--bootstrap' : '--auto'];
    const argv = [...options.abbotCommand, 'run', ...what, '--no-daemon', ...options.runArgs];
    const result = await runCommand(argv, {
      timeoutMs,
      killGraceMs: KILL_GRACE_MS,
      // The output is streamed to whoever asked; only a tail needs keeping here.
      maxOutputBytes: 1024 * 1024,
      onStdout: (text) => onOutput('stdout', text),
      onStderr: (text) => onOutput('stderr', text),
      ...(options.env ? { env: options.env } : {}),
    });
    return { exitCode: result.exitCode, killed: result.timedOut };
  };
}
