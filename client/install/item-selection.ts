/**
 * Narrowing an install session to named items, for a self-service request: the user asked for one
 * item, so only it and what it cannot do without are done now; everything else waits for the next
 * scheduled run.
 */
import { trimVersionString } from '../../catalogs/index.js';
import type { PlistDict } from '../../formats/index.js';

/**
 * True when a `requires`/`update_for` string names the item `name` at `version`: by bare name, or
 * as `name-version` / `name--version` (versions compared trimmed, so `Foo-1.0` names Foo 1.0.0).
 */
export function refersTo(ref: string, name: string, version: string): boolean {
  if (ref === name) return true;
  for (const sep of ['--', '-']) {
    if (ref === `${name}${sep}${version}`) return true;
    const at = ref.lastIndexOf(sep);
    if (
      at > 0 &&
      ref.slice(0, at) === name &&
      trimVersionString(ref.slice(at + sep.length)) === trimVersionString(version)
    ) {
      return true;
    }
  }
  return false;
}

/** The strings under `key` (`requires`, `update_for`): one string or an array of them. */
function refs(item: PlistDict, key: 'requires' | 'update_for'): string[] {
  const v = item[key];
  return typeof v === 'string'
    ? [v]
    : Array.isArray(v)
      ? v.filter((x): x is string => typeof x === 'string')
      : [];
}

/** The `requires` and `update_for` strings of a plan entry. */
export function dependencyRefs(item: PlistDict): string[] {
  return [...refs(item, 'requires'), ...refs(item, 'update_for')];
}

const nameOf = (e: PlistDict): string => String(e['name']);
const versionOf = (e: PlistDict, key: string): string =>
  typeof e[key] === 'string' ? (e[key] as string) : '';

/**
 * The entries a session limited to `names` does, in plan order. Installs: the named items, the
 * installs they `requires` (transitively) and updates that are `update_for` any of those. Removals:
 * the named items and the removals whose `requires`/`update_for` name one of them (Munki removes
 * dependents and updates with the item).
 */
export function selectNamedItems(
  names: readonly string[],
  installs: readonly PlistDict[],
  removals: readonly PlistDict[],
): { installs: PlistDict[]; removals: PlistDict[] } {
  const wanted = new Set(names);
  const chosenInstalls = new Set(installs.filter((e) => wanted.has(nameOf(e))));
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of installs) {
      if (chosenInstalls.has(entry)) continue;
      const version = versionOf(entry, 'version_to_install');
      const required = [...chosenInstalls].some((c) =>
        refs(c, 'requires').some((r) => refersTo(r, nameOf(entry), version)),
      );
      const updates = refs(entry, 'update_for').some((r) =>
        [...chosenInstalls].some((c) => refersTo(r, nameOf(c), versionOf(c, 'version_to_install'))),
      );
      if (required || updates) {
        chosenInstalls.add(entry);
        grew = true;
      }
    }
  }
  const chosenRemovals = new Set(removals.filter((e) => wanted.has(nameOf(e))));
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of removals) {
      if (chosenRemovals.has(entry)) continue;
      const dependent = dependencyRefs(entry).some((r) =>
        [...chosenRemovals].some((c) => refersTo(r, nameOf(c), versionOf(c, 'installed_version'))),
      );
      if (dependent) {
        chosenRemovals.add(entry);
        grew = true;
      }
    }
  }
  return {
    installs: installs.filter((e) => chosenInstalls.has(e)),
    removals: removals.filter((e) => chosenRemovals.has(e)),
  };
}
