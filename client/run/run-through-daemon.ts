/**
 * `abbot run` when the daemon is running: the daemon owns the one run queue, so the CLI asks it
 * for the run over the control socket and prints the run's output as it comes, instead of racing
 * it for the run lock. When no daemon listens the caller runs by itself.
 */
import { AppError } from '../../lib/errors.js';
import { callDaemon, controlSocketPath } from '../daemon/control-socket.js';
import type { AbbotPaths } from '../platform/platform.js';

/** Where the run's output is printed. */
export interface RunOutputIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Asks the daemon for a run; its exit code, or undefined when no daemon is listening. */
export async function runThroughDaemon(
  paths: Pick<AbbotPaths, 'stateDir'>,
  request: { reason: 'cli' | 'selfservice'; items?: readonly string[] },
  io: RunOutputIo,
  options: { quiet?: boolean } = {},
): Promise<number | undefined> {
  const done = await callDaemon(controlSocketPath(paths), { type: 'run', ...request }, (m) => {
    if (m.type !== 'output') return;
    if (m.stream === 'stderr') io.stderr.write(m.text);
    else if (options.quiet !== true) io.stdout.write(m.text);
  });
  if (done === undefined) return undefined;
  const outcome = done.outcome;
  if (outcome === undefined) {
    throw new AppError('IO', `the abbot daemon at ${controlSocketPath(paths)} gave no outcome`);
  }
  if (outcome.status === 'killed' || outcome.status === 'refused') {
    io.stderr.write(`abbot: the daemon's run was ${outcome.status}: ${outcome.error ?? ''}\n`);
  }
  return outcome.status === 'ok' ? 0 : 1;
}
