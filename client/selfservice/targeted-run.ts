/**
 * The run a self-service request starts: a check (conditional requests: an unchanged repo costs a
 * few hundred bytes per file), so the plan takes in the new SelfServeManifest, then an install
 * session limited to the requested items and what they need. Other pending work waits for the
 * next scheduled run, so the user's item is not held up by it. Progress goes to the progress file
 * the page reads. The daemon calls this from the `requestRun` it gives the self-service server.
 */
import type { Logger } from '../../lib/log.js';
import type { Progress } from '../../lib/progress.js';
import type { Config } from '../config.js';
import { runCheck } from '../check/run-check.js';
import { runInstall, type InstallOutcome } from '../install/run-install.js';
import type { Platform } from '../platform/platform.js';
import { runProgressRecorder } from './run-progress.js';

/** What a targeted run needs. */
export interface TargetedRunContext {
  platform: Platform;
  config: Config;
  logger: Logger;
  /** The optional items the user asked to install or remove. */
  items: readonly string[];
  /** Also shows progress here (a terminal), besides the page's progress file. */
  progress?: Progress;
}

/** Checks, then installs or removes just `items` (and what they need); throws when the check fails. */
export async function runSelfServiceRequest(ctx: TargetedRunContext): Promise<InstallOutcome> {
  const { platform, config, logger } = ctx;
  const { facts } = await runCheck({ platform, config, logger });
  return runInstall({
    platform,
    config,
    logger,
    // The user asked for these now, so they are done even though a user is logged in.
    mode: 'all',
    kind: 'install',
    only: ctx.items,
    facts,
    progress: teeProgress(runProgressRecorder(platform.paths, ctx.items), ctx.progress),
  });
}

function teeProgress(a: Progress, b: Progress | undefined): Progress {
  if (!b) return a;
  return {
    update(label, done, total) {
      a.update(label, done, total);
      b.update(label, done, total);
    },
    done() {
      a.done();
      b.done();
    },
  };
}
