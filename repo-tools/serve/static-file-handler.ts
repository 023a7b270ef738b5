/**
 * Answers one GET or HEAD from the files of a folder, streamed from disk (a package of several
 * gigabytes is never read into memory). Only regular files are served; folders get 404, never a
 * listing; a symlink may point anywhere inside the folder but nowhere outside it.
 */
import { createReadStream } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, sep } from 'node:path';
import { contentTypeFor } from './content-type.js';
import { decideRange, isNotModified, validatorsFor } from './conditional-request.js';
import { decodeRequestPath } from './request-path.js';

/** Status and body bytes sent, for the access log. */
export interface StaticResult {
  status: number;
  bytes: number;
}

/** Serves `req` from `realRoot` (the folder's real path, symlinks resolved). */
export async function serveStaticFile(
  realRoot: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<StaticResult> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    return sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  }
  const path = decodeRequestPath(req.url ?? '/');
  if (path.kind === 'refused') {
    return sendText(res, path.status, path.status === 404 ? 'not found\n' : `${path.reason}\n`);
  }
  const real = await realpath(join(realRoot, ...path.segments)).catch(() => undefined);
  // A link that resolves outside the folder is answered as if nothing were there.
  if (real === undefined || !real.startsWith(realRoot + sep)) {
    return sendText(res, 404, 'not found\n');
  }
  const handle = await open(real, 'r').catch(() => undefined);
  if (!handle) return sendText(res, 404, 'not found\n');
  let isStreaming = false;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return sendText(res, 404, 'not found\n');
    const v = validatorsFor(info.size, info.mtimeMs);
    const headers: Record<string, string> = {
      etag: v.etag,
      'last-modified': v.lastModified,
      'accept-ranges': 'bytes',
      'content-type': contentTypeFor(path.segments.at(-1)!),
      'x-content-type-options': 'nosniff',
    };
    if (isNotModified(req.headers, v)) {
      res.writeHead(304, headers).end();
      return { status: 304, bytes: 0 };
    }
    const range = method === 'GET' ? decideRange(req.headers, v) : { kind: 'full' as const };
    if (range.kind === 'unsatisfiable') {
      return sendText(res, 416, 'range not satisfiable\n', {
        'content-range': `bytes */${v.size}`,
      });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, v.size - 1];
    const status = range.kind === 'partial' ? 206 : 200;
    if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${v.size}`;
    headers['content-length'] = String(Math.max(0, end - start + 1));
    res.writeHead(status, headers);
    if (method === 'HEAD' || v.size === 0) {
      res.end();
      return { status, bytes: 0 };
    }
    isStreaming = true;
    return await streamRange(handle, start, end, res, status);
  } finally {
    if (!isStreaming) await handle.close();
  }
}

/** Pipes bytes start..end (inclusive) of `handle` to `res`; the stream closes the handle. */
function streamRange(
  handle: Awaited<ReturnType<typeof open>>,
  start: number,
  end: number,
  res: ServerResponse,
  status: number,
): Promise<StaticResult> {
  return new Promise((done) => {
    const stream = createReadStream('', { fd: handle, start, end, autoClose: true });
    let bytes = 0;
    stream.on('data', (chunk) => (bytes += chunk.length));
    stream.on('error', () => res.destroy());
    // A client that goes away mid-download must not leave the file open.
    res.on('close', () => {
      stream.destroy();
      done({ status, bytes });
    });
    stream.pipe(res);
  });
}

function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
): StaticResult {
  const bytes = Buffer.byteLength(body);
  res
    .writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(bytes),
      ...extra,
    })
    .end(res.req.method === 'HEAD' ? undefined : body);
  return { status, bytes: res.req.method === 'HEAD' ? 0 : bytes };
}
