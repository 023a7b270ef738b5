/**
 * Path rules shared by the payload checks and the payload writer, so both agree on what stays
 * inside the root.
 */
import { sep } from 'node:path';

/** True when `real` is `base` or lies under it (both real paths). */
export function isInside(base: string, real: string): boolean {
  return base === sep || real === base || real.startsWith(base + sep);
}

/** A relative or absolute macOS path's parts; undefined when `..` would climb above `/`. */
export function safeParts(path: string): string[] | undefined {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts;
}
