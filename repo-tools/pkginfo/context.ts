/**
 * The machine-dependent part of makepkginfo's context, taken once at the entry point: who and when
 * (for `_metadata`), which OS, and where Apple's tools are.
 */
import { userInfo } from 'node:os';
import type { Logger } from '../../lib/log.js';
import type { Progress } from '../../lib/progress.js';
import type { MakePkginfoContext } from './make-pkginfo.js';

/**
 * The context for a run on this machine. SOURCE_DATE_EPOCH (seconds), the reproducible-builds
 * convention, fixes `_metadata.creation_date` so a pipeline can make byte-identical pkginfo files.
 */
export function pkginfoContext(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  repo: string | undefined,
  progress?: Progress,
): MakePkginfoContext {
  const epoch = env['SOURCE_DATE_EPOCH'];
  const now =
    epoch !== undefined && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date();
  let user = env['USER'] ?? env['LOGNAME'];
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown'; // no passwd entry for this uid (some containers)
    }
  }
  const ctx: MakePkginfoContext = { now, user, platform: process.platform, toolRoot: '/', logger };
  if (repo !== undefined) ctx.repo = repo;
  if (progress !== undefined) ctx.progress = progress;
  return ctx;
}
