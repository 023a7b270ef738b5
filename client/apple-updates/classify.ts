/**
 * Sorts an Apple update into minor update, security response or major upgrade. Apple's listing
 * has no field for it, so the title and version decide:
 * - a security response (Rapid Security Response, macOS 13–15; renamed Background Security
 *   Improvement in Apple's deployment guide) has a lettered version such as `13.3.1 (a)`, or says
 *   so in its title;
 * - a major upgrade is a `macOS <Name> N…` update whose major version is above the running one
 *   (`macOS Sonoma 14.0` on 13.5); Munki 6 filtered these the same way unless
 *   AppleSoftwareUpdatesIncludeMajorOSUpdates;
 * - everything else (Safari, Command Line Tools, `macOS Ventura 13.6` on 13.5) is minor.
 * Pure.
 */
import type { AppleUpdateKind, ListedUpdate } from './apple-update-types.js';

const SECURITY_RESPONSE_TITLE =
  /rapid security response|security response|background security improvement/i;
const LETTERED_VERSION = /\(\s*[a-z]\s*\)\s*$/i;
const MACOS_TITLE = /^macOS\b.*?\b(\d+)(?:\.\d+)*\b/;

/** The leading number of a version string (`13.5.2` → 13); NaN when there is none. */
function majorOf(version: string): number {
  const m = /^\s*(\d+)/.exec(version);
  return m?.[1] ? Number(m[1]) : Number.NaN;
}

/** The macOS major version an update installs, when it is a macOS update at all. */
function macosMajor(update: Pick<ListedUpdate, 'title' | 'version'>): number | undefined {
  if (!/^macOS\b/.test(update.title)) return undefined;
  const fromVersion = majorOf(update.version);
  if (!Number.isNaN(fromVersion)) return fromVersion;
  const m = MACOS_TITLE.exec(update.title);
  return m?.[1] ? Number(m[1]) : undefined;
}

/** `minor`, `security-response` or `major`, for an update listed on a Mac running `osVersion`. */
export function classifyUpdate(
  update: Pick<ListedUpdate, 'title' | 'version' | 'label'>,
  osVersion: string,
): AppleUpdateKind {
  if (
    SECURITY_RESPONSE_TITLE.test(update.title) ||
    SECURITY_RESPONSE_TITLE.test(update.label) ||
    LETTERED_VERSION.test(update.version) ||
    LETTERED_VERSION.test(update.title)
  ) {
    return 'security-response';
  }
  const target = macosMajor(update);
  const running = majorOf(osVersion);
  // macOS 10.x numbered its majors in the second field (10.14 → 10.15).
  if (target !== undefined && !Number.isNaN(running)) {
    if (target === 10 && running === 10) {
      const minor = (v: string): number => Number(/^\s*10\.(\d+)/.exec(v)?.[1] ?? Number.NaN);
      return minor(update.version) > minor(osVersion) ? 'major' : 'minor';
    }
    if (target > running) return 'major';
  }
  return 'minor';
}
