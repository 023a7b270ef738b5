/**
 * blocking_applications, as Munki matches them against running processes: an item is not installed
 * or removed unattended while one of its blocking applications runs.
 */
import { isPlistDict, type PlistDict } from '../../formats/index.js';

/** The names that block `item`: blocking_applications, else its application installs' bundle names. */
export function blockingNamesFor(item: PlistDict): string[] {
  const explicit = item['blocking_applications'];
  if (Array.isArray(explicit)) return explicit.filter((n): n is string => typeof n === 'string');
  const installs = item['installs'];
  if (!Array.isArray(installs)) return [];
  const names: string[] = [];
  for (const i of installs) {
    if (!isPlistDict(i) || i['type'] !== 'application' || typeof i['path'] !== 'string') continue;
    const base = i['path'].replace(/\/+$/, '').split('/').pop();
    if (base) names.push(base);
  }
  return names;
}

/** True when process `path` is the application `name` (Munki's four matching rules). */
export function processMatches(name: string, path: string): boolean {
  if (name.startsWith('/')) return path === name;
  if (name.endsWith('.app')) return path.includes(`/${name}/Contents/MacOS/`);
  return path.endsWith(`/${name}`) || path.includes(`/${name}.app/Contents/MacOS/`);
}

/** The blocking applications of `item` that are running now. */
export function runningBlockers(item: PlistDict, processes: readonly string[]): string[] {
  return blockingNamesFor(item).filter((name) => processes.some((p) => processMatches(name, p)));
}
