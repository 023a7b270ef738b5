/**
 * File access at macOS paths under a root: `/Applications/Foo.app` means `<root>/Applications/Foo.app`.
 * Used by the sandbox (root = its folder) and by the macOS platform (root = `/`).
 *
 * A path that climbs above `/` with `..`, or that resolves through a symlink to somewhere outside
 * the root, counts as missing: a pkginfo's `installs` path must never make the client read (or
 * hash) a file of the host that runs the sandbox.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePlist } from '../../../formats/index.js';
import type { PlistValue } from '../../../formats/index.js';
import { isInside, safeParts } from './sandbox-paths.js';

/** The host path for a macOS `path` under `root`, or undefined when `..` would climb above `/`. */
export function hostPathFor(root: string, path: string): string | undefined {
  const parts = safeParts(path);
  return parts === undefined ? undefined : join(root, ...parts);
}

/** The file operations of a Platform, over macOS paths under one root. */
export interface RootedFiles {
  /** The host path for a macOS path, only if it exists and resolves inside the root. */
  resolve(path: string): Promise<string | undefined>;
  readPlist(path: string): Promise<PlistValue | undefined>;
  exists(path: string): Promise<boolean>;
  md5(path: string): Promise<string | undefined>;
}

/** File access at macOS paths under `root` (see the module comment for what counts as missing). */
export function rootedFiles(root: string): RootedFiles {
  let realRoot: Promise<string> | undefined;
  const resolve = async (path: string): Promise<string | undefined> => {
    const host = hostPathFor(root, path);
    if (host === undefined) return undefined;
    try {
      realRoot ??= realpath(root);
      const [base, real] = await Promise.all([realRoot, realpath(host)]);
      return isInside(base, real) ? real : undefined;
    } catch {
      realRoot = undefined; // the root itself may appear later (a sandbox being built)
      return undefined;
    }
  };
  return {
    resolve,
    async readPlist(path) {
      const host = await resolve(path);
      if (host === undefined) return undefined;
      try {
        return parsePlist(await readFile(host), { source: path });
      } catch {
        return undefined; // unreadable or malformed: the contract says "undefined"
      }
    },
    async exists(path) {
      return (await resolve(path)) !== undefined;
    },
    async md5(path) {
      const host = await resolve(path);
      if (host === undefined) return undefined;
      try {
        if (!(await stat(host)).isFile()) return undefined;
        return await hashFile(host, 'md5');
      } catch {
        return undefined;
      }
    },
  };
}

/** Streams a file through a hash; lowercase hex. */
function hashFile(file: string, algorithm: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash(algorithm);
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}
