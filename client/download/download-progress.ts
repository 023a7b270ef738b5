/**
 * One progress line for several downloads at once: bytes so far of the bytes expected, the rate over
 * the last few seconds and the time left, drawn through `lib/progress.ts` (which draws nothing when
 * the output is not a terminal).
 */
import type { Progress } from '../../lib/progress.js';
import type { DownloadProgress } from './download-item.js';

/** What the queue reports into. */
export interface AggregateProgress {
  /** A download's latest progress (bytes of its file present so far). */
  report(name: string, progress: DownloadProgress): void;
  /** A download ended, successfully or not. */
  finished(name: string): void;
  /** The figures the line shows, for tests and the run report. */
  snapshot(): ProgressSnapshot;
  /** Clears the line. */
  done(): void;
}

/** Totals across all downloads. */
export interface ProgressSnapshot {
  received: number;
  /** Undefined until every unfinished item's length is known. */
  total: number | undefined;
  /** Bytes per second over the recent window (0 before there is a window). */
  bytesPerSecond: number;
  /** Seconds left at the current rate, when both the total and a rate are known. */
  etaSeconds: number | undefined;
  finishedItems: number;
  items: number;
}

const MIB = 1024 * 1024;
// Long enough to smooth TCP's bursts, short enough to follow a change of network.
const RATE_WINDOW_MS = 5_000;
// Reports arrive per network chunk (thousands a second); sampling and drawing happen at most this often.
const SAMPLE_MS = 100;

/** Tracks `items` (name → expected size in bytes, if known) and draws the line on `progress`. */
export function aggregateProgress(
  items: ReadonlyMap<string, number | undefined>,
  progress: Progress,
  now: () => number = Date.now,
): AggregateProgress {
  const state = new Map<string, { received: number; total: number | undefined }>();
  for (const [name, size] of items) state.set(name, { received: 0, total: size });
  const finishedNames = new Set<string>();
  // Bytes that really moved: jumps to an item's first figure (a cache hit, a resumed partial)
  // are not transfer, so they do not count towards the rate.
  let transferred = 0;
  const seenFirst = new Set<string>();
  const samples: { at: number; bytes: number }[] = [{ at: now(), bytes: 0 }];

  const snapshot = (): ProgressSnapshot => {
    let received = 0;
    let total: number | undefined = 0;
    for (const entry of state.values()) {
      received += entry.received;
      if (total !== undefined) total = entry.total === undefined ? undefined : total + entry.total;
    }
    const first = samples[0];
    const span = first ? now() - first.at : 0;
    const bytesPerSecond = first && span > 0 ? ((transferred - first.bytes) * 1000) / span : 0;
    const etaSeconds =
      total !== undefined && bytesPerSecond > 0
        ? Math.max(0, total - received) / bytesPerSecond
        : undefined;
    return {
      received,
      total,
      bytesPerSecond,
      etaSeconds,
      finishedItems: finishedNames.size,
      items: state.size,
    };
  };

  const draw = (): void => {
    const s = snapshot();
    const rate = s.bytesPerSecond > 0 ? `, ${formatRate(s.bytesPerSecond)}` : '';
    const eta = s.etaSeconds !== undefined ? `, ${formatDuration(s.etaSeconds)} left` : '';
    progress.update(
      `Downloading (${s.finishedItems} of ${s.items} done${rate}${eta}) MiB`,
      Math.floor(s.received / MIB),
      s.total === undefined ? undefined : Math.ceil(s.total / MIB),
    );
  };

  return {
    report(name, p) {
      const entry = state.get(name) ?? { received: 0, total: undefined };
      if (seenFirst.has(name)) transferred += Math.max(0, p.received - entry.received);
      seenFirst.add(name);
      entry.received = p.received;
      if (p.total !== undefined) entry.total = p.total;
      state.set(name, entry);
      const t = now();
      const last = samples[samples.length - 1];
      if (last && t - last.at < SAMPLE_MS) return;
      samples.push({ at: t, bytes: transferred });
      while (samples.length > 2 && (samples[0]?.at ?? t) < t - RATE_WINDOW_MS) samples.shift();
      draw();
    },
    finished(name) {
      finishedNames.add(name);
      const entry = state.get(name);
      // A failed item no longer counts towards what is left.
      if (entry) entry.total = entry.received;
      draw();
    },
    snapshot,
    done: () => progress.done(),
  };
}

/** `12.3 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= MIB) return `${(bytesPerSecond / MIB).toFixed(1)} MiB/s`;
  return `${(bytesPerSecond / 1024).toFixed(0)} KiB/s`;
}

/** `0:07`, `12:34`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
