/** The version of Abbot, read once from its package.json. */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** Abbot's version string (package.json `version`), from source or from the built dist/. */
export function abbotVersion(): string {
  if (cached) return cached;
  // Source runs from lib/, built code from dist/lib/: look upward for our package.json.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'abbot' && pkg.version) return (cached = pkg.version);
    } catch {
      // not at this level; try the next one up
    }
  }
  throw new Error('package.json of abbot not found');
}
