/**
 * What a line of `startosinstall` output means. The tool prints licence legalese, a
 * "Preparing to run macOS Installer..." line, then "Preparing: 42.5%" lines (padded with spaces,
 * sometimes several on one line when a pty turned carriage returns into nothing), and at the end
 * "Waiting to reboot" / "System going down for install"; failures start with "Error:". The
 * recorded outputs this is tested against are listed in test/fixtures/startosinstall/README.md.
 */

/** One parsed line of startosinstall output. */
export type StartosinstallEvent =
  | { kind: 'progress'; percent: number }
  | { kind: 'status'; text: string }
  /** The upgrade is prepared: the Mac restarts after the reboot delay. */
  | { kind: 'restarting'; text: string }
  | { kind: 'error'; text: string }
  /** Legalese and the signalling chatter: nothing an admin needs. */
  | { kind: 'noise' };

// Printed with every --agreetolicense run; says nothing about this run.
const LEGALESE = ['By using the agreetolicense option', 'If you do not agree,'];
// Around the end of preparing; "Helper tool crashed" is harmless chatter Apple never fixed.
const CHATTER = ['Signaling PID:', 'Process signaled okay', 'Helper tool cr'];
const RESTARTING = /^(Waiting to (reboot|restart)|System going down for install)/i;
const PROGRESS = /Preparing:?\s+(\d+(?:\.\d+)?)\s*%/g;

/** The events in one line (a line may hold several progress reports). */
export function parseStartosinstallLine(line: string): StartosinstallEvent[] {
  const text = line.trim();
  if (text === '') return [];
  if (LEGALESE.some((p) => text.startsWith(p)) || CHATTER.some((p) => text.startsWith(p)))
    return [{ kind: 'noise' }];
  if (RESTARTING.test(text)) return [{ kind: 'restarting', text }];
  if (/^Error\b|^An error occurred/i.test(text)) return [{ kind: 'error', text }];
  const progress = [...text.matchAll(PROGRESS)].map((m) => Number.parseFloat(m[1] ?? ''));
  if (progress.length > 0) {
    // Over 100% has been seen on Apple silicon (erase-install issue 515): cap it.
    return progress.map((p) => ({ kind: 'progress', percent: Math.min(100, p) }));
  }
  return [{ kind: 'status', text }];
}

/** Splits streamed output into whole lines, keeping the unfinished tail for the next chunk. */
export function lineSplitter(onLine: (line: string) => void): {
  push(chunk: string): void;
  end(): void;
} {
  let tail = '';
  return {
    push(chunk) {
      const parts = (tail + chunk).split(/\r\n|\r|\n/);
      tail = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    },
    end() {
      if (tail !== '') onLine(tail);
      tail = '';
    },
  };
}
