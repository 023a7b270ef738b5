/**
 * Turns a raw request target into path segments under the served folder, refusing anything that
 * could leave it or reach what a repo server must not show: `..` (plain or percent-encoded),
 * encoded slashes and backslashes, NUL, and dot-files and dot-folders (`.git`, lock files), which
 * Munki's own repo listing skips too.
 */

/** Where a request may go: segments under the root, or a refusal with its status. */
export type RequestPath =
  | { kind: 'path'; segments: string[] }
  | { kind: 'refused'; status: 400 | 403 | 404; reason: string };

/** Decodes and checks the path of `target` (the request line's target, query ignored). */
export function decodeRequestPath(target: string): RequestPath {
  if (!target.startsWith('/')) return refused(400, 'request target is not an absolute path');
  const raw = target.replace(/[?#].*$/s, '');
  // An encoded separator would turn one segment into two after decoding: never legitimate here.
  if (/%(2f|5c|00)/i.test(raw)) return refused(403, 'encoded separator in path');
  const parts = raw.split('/').slice(1);
  const segments: string[] = [];
  for (const [i, part] of parts.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return refused(400, 'malformed percent-encoding');
    }
    if (segment === '') {
      // A trailing slash asks for a folder listing, which is never given.
      if (i === parts.length - 1) return refused(404, 'folder');
      continue;
    }
    if (segment === '..' || segment === '.') return refused(403, 'path traversal');
    if (segment.includes('\\') || segment.includes('\0')) return refused(403, 'bad character');
    if (segment.startsWith('.')) return refused(404, 'hidden file');
    segments.push(segment);
  }
  if (segments.length === 0) return refused(404, 'folder');
  return { kind: 'path', segments };
}

function refused(status: 400 | 403 | 404, reason: string): RequestPath {
  return { kind: 'refused', status, reason };
}
