/**
 * Conditional and partial GETs (RFC 9110 §13 and §14) for one file: validators in nginx's form
 * (ETag `"<mtime hex>-<size hex>"`, Last-Modified in whole seconds), 304 for a matching
 * If-None-Match (weak comparison; If-Modified-Since then ignored) or an If-Modified-Since not older
 * than the file, and a single byte range honoured (206, or 416 when it starts past the end), but
 * only when If-Range, if sent, still names this version. Several ranges get the whole file, which
 * RFC 9110 allows and which is all a resuming download needs.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A file version's validators. */
export interface FileValidators {
  etag: string;
  lastModified: string;
  /** Modification time in whole seconds, as Last-Modified carries it. */
  mtimeSeconds: number;
  size: number;
}

/** What to send for a GET or HEAD. */
export type RangeDecision =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/** Validators for a file of `size` bytes last modified at `mtimeMs`. */
export function validatorsFor(size: number, mtimeMs: number): FileValidators {
  const mtimeSeconds = Math.floor(mtimeMs / 1000);
  return {
    etag: `"${mtimeSeconds.toString(16)}-${size.toString(16)}"`,
    lastModified: new Date(mtimeSeconds * 1000).toUTCString(),
    mtimeSeconds,
    size,
  };
}

/** True when the client's copy is current and a 304 is the answer. */
export function isNotModified(headers: IncomingHttpHeaders, v: FileValidators): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    const tags = inm.split(',').map((t) => t.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(v.etag);
  }
  const ims = headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && v.mtimeSeconds * 1000 <= since;
}

/** Whether to send the whole file, one range of it, or 416. */
export function decideRange(headers: IncomingHttpHeaders, v: FileValidators): RangeDecision {
  const header = headers.range;
  const ifRange = headers['if-range'];
  if (
    header === undefined ||
    !isIfRangeCurrent(typeof ifRange === 'string' ? ifRange : undefined, v)
  ) {
    return { kind: 'full' };
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, v.size - suffix);
    end = v.size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? v.size - 1 : Math.min(Number(m[2]), v.size - 1);
    // "bytes=5-2" is invalid syntax, which RFC 9110 says to ignore.
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  }
  if (start >= v.size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/** If-Range holds when absent, or when it names this version (strong ETag or exact date). */
function isIfRangeCurrent(ifRange: string | undefined, v: FileValidators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === v.etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && date === v.mtimeSeconds * 1000;
}
