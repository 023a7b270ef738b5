/**
 * A single self-overwriting progress line for long work on a terminal. It prints nothing when the
 * stream is not a TTY or when quiet, so logs and CI output stay clean.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What long-running work reports progress through. */
export interface Progress {
  /** Shows `label done/total`; throttled to a few updates a second. */
  update(label: string, done: number, total?: number): void;
  /** Clears the line. */
  done(): void;
}

/** A progress reporter that does nothing. */
export const noProgress: Progress = { update: () => {}, done: () => {} };

/** A progress line on `stream` when it is a TTY and not `quiet`; otherwise `noProgress`. */
export function terminalProgress(
  stream: ProgressStream,
  options: { quiet?: boolean; now?: () => number } = {},
): Progress {
  if (!stream.isTTY || options.quiet) return noProgress;
  const now = options.now ?? Date.now;
  let last = 0;
  let shown = false;
  return {
    update(label, done, total) {
      const t = now();
      if (t - last < 100 && (total === undefined || done < total)) return;
      last = t;
      const pct = total ? ` (${Math.floor((done / total) * 100)}%)` : '';
      const text = `${label} ${done}${total !== undefined ? `/${total}` : ''}${pct}`;
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r${text.slice(0, width).padEnd(Math.min(width, text.length + 2))}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
