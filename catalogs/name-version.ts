/**
 * How Munki reads an item reference such as `Firefox`, `Firefox-120.0` or `Firefox--120.0`:
 * manifest entries (`managed_installs` …), `requires` and `update_for` all use this form.
 * Behaviour from Munki 7's `nameAndVersion(_:onlySplitOnHyphens: true)`
 * (code/cli/munki/shared/utils/pkgutils.swift) and `processInstall` (shared/updatecheck/analyze.swift).
 */

/** An item reference split into its name and the version it pins ('' when none). */
export interface NameAndVersion {
  name: string;
  version: string;
}

const DELIMITERS = ['--', '-'] as const;

// Swift tests `version.first` (a whole grapheme) against "0123456789", so a digit followed by a
// combining mark or joiner is not "a digit". [inf: grapheme rules approximated by these classes]
const STARTS_WITH_DIGIT = /^[0-9](?![\p{Grapheme_Extend}\p{Mc}\u200d])/u;

/**
 * Splits `Name--1.2` / `Name-1.2` into name and version: `--` is tried first, then `-`; on each,
 * the text after the LAST delimiter is the version if it starts with a digit, else the next
 * delimiter is tried. `foo--1.2.3-1` → (`foo`, `1.2.3-1`); `foo-1.2.3-1` → (`foo-1.2.3`, `1`);
 * `Tool-2` → (`Tool`, `2`); `Firefox` → (`Firefox`, '').
 */
export function splitNameAndVersion(s: string): NameAndVersion {
  for (const delimiter of DELIMITERS) {
    if (!s.includes(delimiter)) continue;
    const parts = s.split(delimiter);
    const version = parts.pop() ?? '';
    if (STARTS_WITH_DIGIT.test(version)) {
      return { name: parts.join(delimiter), version };
    }
  }
  // Munki's import-time "loose" mode (onlySplitOnHyphens: false, a version regex) is only used by
  // makepkginfo/munkiimport to guess names from file names; item references never use it.
  return { name: s, version: '' };
}

/**
 * Reads a manifest entry the way Munki's `processInstall` does: a leading path is dropped
 * (`apps/Firefox-120.0` → `Firefox-120.0`, like NSString `lastPathComponent`), then the rest is
 * split by {@link splitNameAndVersion}.
 */
export function itemNameFromManifestEntry(entry: string): NameAndVersion {
  return splitNameAndVersion(lastPathComponent(entry));
}

/**
 * NSString `lastPathComponent`: trailing slashes are ignored ("tmp/" → "tmp"), a string of only
 * slashes gives "/", and "" gives "".
 */
function lastPathComponent(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end -= 1;
  const trimmed = path.slice(0, end);
  if (trimmed === '/') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
