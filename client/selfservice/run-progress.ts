/**
 * The progress of a self-service run, shared through a small file (`<state>/selfservice/
 * progress.json`) so that the page can show "Installing… 40%" whether the run happens in the
 * daemon's process or in a child it started. The run writes it (at most a few times a second,
 * atomically) and deletes it when done; the page server reads it.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import type { Progress } from '../../lib/progress.js';
import type { AbbotPaths } from '../platform/platform.js';

/** What a run is doing now. */
export interface RunProgress {
  /** The items the run was asked for. */
  items: string[];
  /** What it is doing, e.g. `Downloading (0 of 1 done) MiB` or `Installing Firefox`. */
  label: string;
  percent?: number;
  /** ISO time of this report. */
  at: string;
}

/** `<state>/selfservice/progress.json`. */
export function runProgressPath(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'selfservice', 'progress.json');
}

/** A Progress that records reports for `items` in the progress file (throttled to 4 a second). */
export function runProgressRecorder(
  paths: Pick<AbbotPaths, 'stateDir'>,
  items: readonly string[],
  now: () => number = Date.now,
): Progress {
  const path = runProgressPath(paths);
  let last = 0;
  let writing: Promise<void> = Promise.resolve();
  const write = (report: RunProgress): void => {
    // Reports are written in order; a failed write only costs the page one update.
    writing = writing
      .then(() => writeFileAtomic(path, JSON.stringify(report), { mkdirs: true }))
      .catch(() => {});
  };
  return {
    update(label, done, total) {
      const t = now();
      const finished = total !== undefined && done >= total;
      if (t - last < 250 && !finished) return;
      last = t;
      const percent =
        total !== undefined && total > 0
          ? Math.min(100, Math.floor((done / total) * 100))
          : undefined;
      write({
        items: [...items],
        label,
        ...(percent !== undefined ? { percent } : {}),
        at: new Date(t).toISOString(),
      });
    },
    done() {
      writing = writing.then(() => rm(path, { force: true })).catch(() => {});
    },
  };
}

/** The current run's progress; undefined when no run is reporting (or the file is unreadable). */
export async function readRunProgress(
  paths: Pick<AbbotPaths, 'stateDir'>,
): Promise<RunProgress | undefined> {
  try {
    const value = JSON.parse(
      await readFile(runProgressPath(paths), 'utf8'),
    ) as Partial<RunProgress>;
    if (!Array.isArray(value.items) || typeof value.label !== 'string') return undefined;
    return {
      items: value.items.filter((i): i is string => typeof i === 'string'),
      label: value.label,
      ...(typeof value.percent === 'number' ? { percent: value.percent } : {}),
      at: typeof value.at === 'string' ? value.at : '',
    };
  } catch {
    return undefined;
  }
}
