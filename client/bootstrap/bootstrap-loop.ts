/**
 * Bootstrap mode: the first boot after enrollment brings the Mac to its full state before anyone
 * works on it. While the flag is set the daemon, at startup, waits for the network, then makes
 * check-and-install passes that install everything (not only unattended items) until nothing is
 * left. A pass that needs a restart restarts the Mac and the next startup carries on. It ends, and
 * clears the flag, when nothing is left (complete), when a pass made no progress so only failures
 * remain, or after BootstrapMaxPasses passes counted across restarts (failed): never an endless
 * loop. Every pass is recorded in the flag file; the login window's status file shows each step.
 */
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { AbbotPaths } from '../platform/platform.js';
import type { OutputListener, RunOutcome } from '../daemon/run-coordinator.js';
import {
  finishBootstrap,
  readBootstrapState,
  writeBootstrapState,
  type BootstrapFailure,
  type BootstrapPass,
  type BootstrapResult,
  type BootstrapState,
} from './bootstrap-flag.js';
import { writeLoginwindowStatus, type LoginwindowStatus } from './loginwindow-status.js';
import { readPassSummary } from './pass-summary.js';

/** What the loop needs; the daemon builds it. */
export interface BootstrapLoopOptions {
  paths: Pick<AbbotPaths, 'stateDir' | 'installInfo'>;
  logger: Logger;
  maxPasses: number;
  /** Runs one pass (check, then install everything) through the daemon's run queue. */
  runPass(onOutput: OutputListener): Promise<RunOutcome>;
  /** Resolves true once the repo is reachable, false after giving up (bootstrap carries on). */
  waitForNetwork(): Promise<boolean>;
  /** Restarts the Mac (on a sandbox: records the restart for the test to act on). */
  restart(reason: string): Promise<void>;
  now?: () => Date;
}

/** How this startup's bootstrap went. */
export type BootstrapLoopResult =
  | { outcome: 'not-set' }
  | { outcome: 'restarting'; pass: number }
  | { outcome: 'stopped' }
  | ({ outcome: 'complete' | 'failed' } & BootstrapResult);

// The status window shows the latest line of output; more often than this is wasted writes.
const DETAIL_INTERVAL_MS = 500;

/** Runs bootstrap if its flag is set; see the file comment for when it ends. */
export async function runBootstrap(options: BootstrapLoopOptions): Promise<BootstrapLoopResult> {
  const { paths, logger, maxPasses } = options;
  const now = options.now ?? (() => new Date());
  const state = await readBootstrapState(paths);
  if (state === undefined) return { outcome: 'not-set' };
  const status = (s: Omit<LoginwindowStatus, 'updatedAt' | 'maxPasses'>): Promise<void> =>
    writeLoginwindowStatus(paths, { ...s, maxPasses, updatedAt: now().toISOString() }).catch(
      (e: unknown) => logger.warn('bootstrap.status.failed', describeError(e)),
    );

  logger.info('bootstrap.started', `Bootstrap mode: ${state.passes.length} pass(es) made so far.`);
  await status({ phase: 'waiting-for-network', message: 'Waiting for the network' });
  if (!(await options.waitForNetwork())) {
    logger.warn('bootstrap.network', 'The repo is not reachable yet; trying anyway.');
  }

  for (;;) {
    if (state.passes.length >= maxPasses) {
      return finish(options, state, 'failed', `gave up after ${maxPasses} passes`, status);
    }
    const pass = state.passes.length + 1;
    const message = `Installing software (pass ${pass} of ${maxPasses})`;
    await status({ phase: 'running', message, pass });
    const start = now();
    let lastDetail = 0;
    const outcome = await options.runPass((_stream, text) => {
      const line = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .pop();
      if (line === undefined || Date.now() - lastDetail < DETAIL_INTERVAL_MS) return;
      lastDetail = Date.now();
      void status({ phase: 'running', message, detail: line.trim(), pass });
    });
    if (outcome.status === 'refused') {
      logger.info('bootstrap.stopped', `Bootstrap paused: ${outcome.error ?? 'run refused'}.`);
      return { outcome: 'stopped' };
    }
    const summary = await readPassSummary(paths, start);
    const record: BootstrapPass = {
      pass,
      startedAt: start.toISOString(),
      finishedAt: now().toISOString(),
      status: outcome.status,
      exitCode: outcome.exitCode,
      ...summary,
    };
    state.passes.push(record);
    await writeBootstrapState(paths, state);
    logger.info(
      'bootstrap.pass',
      `Bootstrap pass ${pass}: ${summary.installed.length} done, ${summary.failed.length} failed, ` +
        `${summary.remaining.installs + summary.remaining.removals} left` +
        (summary.checkFailed ? ' (check failed)' : ''),
      { pass },
    );
    if (summary.restartRequested) {
      await status({ phase: 'restarting', message: 'Restarting to finish installing', pass });
      logger.info('bootstrap.restart', `Bootstrap pass ${pass} needs a restart; restarting.`);
      await options.restart(`bootstrap pass ${pass}`);
      return { outcome: 'restarting', pass };
    }
    const left = summary.remaining.installs + summary.remaining.removals;
    if (!summary.checkFailed && left === 0 && summary.failed.length === 0) {
      return finish(options, state, 'complete', undefined, status);
    }
    if (summary.installed.length === 0) {
      const why = summary.checkFailed
        ? `the check failed and nothing could be installed (pass ${pass})`
        : `only failures remain after pass ${pass}`;
      return finish(options, state, 'failed', why, status);
    }
  }
}

/** Records the end of bootstrap, clears the flag, and says so at the login window. */
async function finish(
  options: BootstrapLoopOptions,
  state: BootstrapState,
  outcome: 'complete' | 'failed',
  reason: string | undefined,
  status: (s: Omit<LoginwindowStatus, 'updatedAt' | 'maxPasses'>) => Promise<void>,
): Promise<BootstrapLoopResult> {
  const now = options.now ?? (() => new Date());
  const failures = lastFailures(state.passes);
  const result: BootstrapResult = {
    outcome,
    setAt: state.setAt,
    finishedAt: now().toISOString(),
    ...(reason !== undefined ? { reason } : {}),
    failures,
    passes: state.passes,
  };
  await finishBootstrap(options.paths, result);
  if (outcome === 'complete') {
    options.logger.info(
      'bootstrap.complete',
      `Bootstrap complete after ${state.passes.length} pass(es).`,
    );
    await status({ phase: 'complete', message: 'This Mac is ready' });
  } else {
    const names = failures.map((f) => `${f.name} (${f.reason})`).join(', ');
    options.logger.error(
      'bootstrap.failed',
      `Bootstrap ended: ${reason ?? 'failed'}${names ? `; failed: ${names}` : ''}`,
    );
    await status({
      phase: 'failed',
      message: `Some software could not be installed: ${reason ?? 'failed'}`,
      failures,
    });
  }
  return { ...result, outcome };
}

/** Each item's latest failure, for items that never succeeded afterwards. */
function lastFailures(passes: readonly BootstrapPass[]): BootstrapFailure[] {
  const latest = new Map<string, BootstrapFailure>();
  for (const p of passes) {
    for (const name of p.installed) latest.delete(name);
    for (const f of p.failed) latest.set(f.name, f);
  }
  return [...latest.values()];
}
