/**
 * Restart requests, only ever recorded: the file tells `abbot status` and the next run that the
 * machine needs one. Shared by the sandbox and the macOS platform, so both record it alike.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../lib/atomic-write.js';
import type { AbbotPaths } from '../platform.js';

/** Where a pending restart is recorded for `abbot status`. */
export function restartRequestFile(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'restart-requested.json');
}

/** What `<state>/restart-requested.json` holds. */
export interface RestartRequest {
  /** Every reason given since the last restart, first first, without repeats. */
  reasons: string[];
  /** When the first request was made (ISO 8601). */
  requestedAt: string;
  /** When the latest request was made (ISO 8601). */
  updatedAt: string;
}

/**
 * Records a restart request (atomically, merging with one already pending). Nothing is restarted:
 * the file tells `abbot status` and the next run that the machine needs one.
 */
export async function writeRestartRequest(
  paths: Pick<AbbotPaths, 'stateDir'>,
  reason: string,
  now: Date = new Date(),
): Promise<void> {
  const file = restartRequestFile(paths);
  let previous: RestartRequest | undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      Array.isArray((parsed as RestartRequest).reasons) &&
      typeof (parsed as RestartRequest).requestedAt === 'string'
    ) {
      previous = parsed as RestartRequest;
    }
  } catch {
    // none yet, or unreadable: start afresh
  }
  const reasons = (previous?.reasons ?? []).filter((r): r is string => typeof r === 'string');
  if (!reasons.includes(reason)) reasons.push(reason);
  const request: RestartRequest = {
    reasons,
    requestedAt: previous?.requestedAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await writeFileAtomic(file, `${JSON.stringify(request, null, 2)}\n`, { mkdirs: true });
}
