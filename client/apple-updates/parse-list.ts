/**
 * Reads `softwareupdate --list` output. Two formats exist in the wild (see
 * test/fixtures/softwareupdate/):
 *
 * - Mojave and earlier: `   * LABEL` then a tab-indented `TITLE (VERSION), SIZEK [recommended] [restart]`;
 * - Catalina and later: `* Label: LABEL` then an indented
 *   `Title: T, Version: V, Size: 123K|123KiB, Recommended: YES, Action: restart, `.
 *
 * Titles may hold commas and colons (`Command Line Tools (macOS High Sierra version 10.13) for
 * Xcode`), so the new format is split on the known field names, not on every comma. Lines that
 * belong to neither format (the `Software Update Tool` banner, `XType: … is not accessible`
 * warnings that Apple's font code prints into the same stream) are kept as notes, never parsed
 * as updates. Pure: text in, values out.
 */
import { AppError } from '../../lib/errors.js';
import type { ListedUpdate } from './apple-update-types.js';

/** What one listing said. */
export interface ParsedList {
  updates: ListedUpdate[];
  /** True when softwareupdate said there is nothing (`No new software available.`). */
  noUpdates: boolean;
  /** Lines that are neither updates nor the known banner lines (warnings such as XType's). */
  notes: string[];
}

const NEW_LABEL = /^\s*\*\s+Label:\s*(.+?)\s*$/;
// The old format marks recommended updates `*` and others `-` (softwareupdate(8)'s example).
const OLD_LABEL = /^\s*[*-]\s+(\S.*?)\s*$/;
const FIELD_NAMES = ['Title', 'Version', 'Size', 'Recommended', 'Action'] as const;
const BANNER = [
  /^Software Update Tool$/,
  /^Copyright \d{4}/,
  /^Finding available software/,
  /^Software Update found the following new or updated software:$/,
];
const NO_UPDATES = /^No (new software|updates are) available\.?$/;

/** `123K` / `123KiB` / `123 KB` → 123; undefined when it is not a size. */
export function parseSizeKb(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(K|KiB|KB)?$/i.exec(text.trim());
  if (!m?.[1]) return undefined;
  return Math.round(Number(m[1]));
}

/**
 * The fields of a new-format detail line. Each field starts at `, Name: ` (or the line's start for
 * Title), so a comma or colon inside the title stays in the title.
 */
export function parseDetailFields(
  line: string,
): Partial<Record<(typeof FIELD_NAMES)[number], string>> {
  const text = line.trim().replace(/,\s*$/, '');
  const starts: { name: (typeof FIELD_NAMES)[number]; at: number; valueAt: number }[] = [];
  for (const name of FIELD_NAMES) {
    const re = name === 'Title' ? /^Title:\s*/ : new RegExp(`,\\s*${name}:\\s*`, 'g');
    let m: RegExpExecArray | null;
    // The last occurrence wins for the trailing fields, the first for Title.
    let found: { at: number; valueAt: number } | undefined;
    while ((m = re.exec(text)) !== null) {
      found = { at: m.index, valueAt: m.index + m[0].length };
      if (!re.global) break;
    }
    if (found) starts.push({ name, ...found });
  }
  starts.sort((a, b) => a.at - b.at);
  const out: Partial<Record<(typeof FIELD_NAMES)[number], string>> = {};
  for (const [i, s] of starts.entries()) {
    const end = starts[i + 1]?.at ?? text.length;
    out[s.name] = text.slice(s.valueAt, end).trim();
  }
  return out;
}

function fromNewFormat(label: string, detail: string): ListedUpdate | undefined {
  const f = parseDetailFields(detail);
  if (f.Title === undefined || f.Version === undefined) return undefined;
  return {
    label,
    title: f.Title,
    version: f.Version,
    sizeKb: f.Size === undefined ? undefined : parseSizeKb(f.Size),
    recommended: (f.Recommended ?? '').toUpperCase() === 'YES',
    restartRequired: (f.Action ?? '').toLowerCase() === 'restart',
  };
}

// `Safari (14.0), 67309K [recommended] [restart]`; the title itself may hold parentheses.
const OLD_DETAIL = /^\s*(.+) \(([^()]*)\),\s*(\d+(?:\.\d+)?K)((?:\s*\[[^\]]+\])*)\s*$/;

function fromOldFormat(label: string, detail: string): ListedUpdate | undefined {
  const m = OLD_DETAIL.exec(detail);
  if (!m?.[1] || m[2] === undefined || !m[3]) return undefined;
  const tags = m[4] ?? '';
  return {
    label,
    title: m[1].trim(),
    version: m[2].trim(),
    sizeKb: parseSizeKb(m[3]),
    recommended: /\[recommended\]/i.test(tags),
    restartRequired: /\[restart\]/i.test(tags),
  };
}

const isBanner = (line: string): boolean => BANNER.some((re) => re.test(line));

/**
 * Parses a listing. Throws AppError('COMMAND_FAILED') naming `source` when the text is not a
 * listing at all: neither "no new software" nor any update, and something other than banner
 * lines and warnings was printed (garbage is never read as "nothing to do").
 */
export function parseSoftwareUpdateList(
  text: string,
  source = 'softwareupdate --list',
): ParsedList {
  const lines = text.split(/\r?\n/);
  const updates: ListedUpdate[] = [];
  const notes: string[] = [];
  let noUpdates = false;
  let sawHeader = false;
  let unreadable: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (NO_UPDATES.test(trimmed)) {
      noUpdates = true;
      continue;
    }
    if (isBanner(trimmed)) {
      if (trimmed.startsWith('Software Update found')) sawHeader = true;
      continue;
    }
    const newLabel = NEW_LABEL.exec(line);
    const oldLabel = newLabel ? undefined : sawHeader ? OLD_LABEL.exec(line) : undefined;
    const label = newLabel?.[1] ?? oldLabel?.[1];
    if (label !== undefined) {
      const detail = lines[i + 1] ?? '';
      const update = newLabel ? fromNewFormat(label, detail) : fromOldFormat(label, detail);
      if (update) {
        updates.push(update);
        i++;
      } else {
        unreadable ??= `${line.trim()} / ${detail.trim()}`;
      }
      continue;
    }
    notes.push(trimmed);
  }
  if (unreadable !== undefined) {
    throw new AppError(
      'COMMAND_FAILED',
      `${source}: cannot read the update entry "${unreadable}"`,
      {
        hint: 'softwareupdate printed a listing in a format Abbot does not know',
      },
    );
  }
  if (!noUpdates && updates.length === 0 && !sawHeader) {
    const first = notes.find((n) => !/XType:|^\d{4}-\d\d-\d\d /.test(n)) ?? notes[0];
    throw new AppError(
      'COMMAND_FAILED',
      `${source}: output is not a software update listing${first ? ` ("${first.slice(0, 120)}")` : ' (it printed nothing)'}`,
      { hint: 'run softwareupdate --list by hand to see what it says' },
    );
  }
  return { updates, noUpdates, notes };
}
