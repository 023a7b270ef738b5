/**
 * The daemon's record of its runs: one JSON line per run in `Logs/runs.jsonl` under the state
 * folder (id, reasons, items, start, end, ok/failed/killed, exit code, error), so a run killed for
 * running too long, or one that failed to start, is on record for admins and tests.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AbbotPaths } from '../platform/platform.js';
import type { RunOutcome } from './run-coordinator.js';

/** `<state>/Logs/runs.jsonl`. */
export function runLogPath(paths: Pick<AbbotPaths, 'logsDir'>): string {
  return join(paths.logsDir, 'runs.jsonl');
}

/** Appends one run's outcome to the run log. */
export async function appendRunLog(
  paths: Pick<AbbotPaths, 'logsDir'>,
  outcome: RunOutcome,
): Promise<void> {
  await mkdir(paths.logsDir, { recursive: true });
  // One short line appended with O_APPEND lands whole: no reader sees half a record.
  await appendFile(runLogPath(paths), `${JSON.stringify(outcome)}\n`, { mode: 0o644 });
}

/** The run log's records, oldest first; lines that do not parse are skipped. */
export async function readRunLog(paths: Pick<AbbotPaths, 'logsDir'>): Promise<RunOutcome[]> {
  const text = await readFile(runLogPath(paths), 'utf8').catch(() => '');
  const records: RunOutcome[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as RunOutcome);
    } catch {
      // a line cut short by a crash mid-append
    }
  }
  return records;
}
