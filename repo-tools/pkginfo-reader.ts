/**
 * Reads pkginfo files for makecatalogs: each file's bytes go through transcodeCatalogFragment,
 * which writes the stripped catalog fragment in the same pass that parses it and hands back only
 * the keys prepareCatalogItem looks at (CATALOG_CHECK_KEYS), so no pkginfo becomes an object tree.
 * Synchronous on purpose: for thousands of small files, sync reads are several times faster in
 * Node than promise-based ones; the work is shared between threads instead, each taking chunks
 * from one shared counter until none are left.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  CATALOG_CHECK_KEYS,
  isStrippedKey,
  prepareCatalogItem,
  type CatalogCandidate,
  type CatalogFinding,
} from '../catalogs/index.js';
import { transcodeCatalogFragment, type CatalogFragmentResult } from '../formats/index.js';
import { describeError } from '../lib/errors.js';
import { fileKey, type FileKey } from './makecatalogs-cache.js';

/** A pkginfo file to read: its path under pkgsinfo/ and on disk. */
export interface PkginfoFile {
  path: string;
  fullPath: string;
}

/** What reading one pkginfo produced; `key` was taken before the bytes were read. */
export type PkginfoReadResult =
  | {
      path: string;
      key: FileKey;
      ok: true;
      candidate: CatalogCandidate | null;
      findings: CatalogFinding[];
      fragment: Buffer;
    }
  | { path: string; key: FileKey | null; ok: false; error: string };

function readWithKey(fullPath: string): { key: FileKey; bytes: Buffer } {
  const fd = openSync(fullPath, 'r');
  try {
    // fstat on the descriptor we read from: the key can only be older than the bytes, never newer.
    const key = fileKey(fstatSync(fd));
    const bytes = Buffer.allocUnsafe(key.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return { key, bytes: at === bytes.length ? bytes : bytes.subarray(0, at) };
  } finally {
    closeSync(fd);
  }
}

/** Reads, parses and serialises one pkginfo; a file that cannot be read or parsed yields `ok: false`. */
export function readPkginfo(file: PkginfoFile): PkginfoReadResult {
  const where = `pkgsinfo/${file.path}`;
  let key: FileKey | null = null;
  let transcoded: CatalogFragmentResult;
  try {
    const read = readWithKey(file.fullPath);
    key = read.key;
    transcoded = transcodeCatalogFragment(read.bytes, {
      source: where,
      stripKey: isStrippedKey,
      pickKeys: CATALOG_CHECK_KEYS,
    });
  } catch (e) {
    return { path: file.path, key, ok: false, error: describeError(e) };
  }
  // The picked keys are all prepareCatalogItem reads, so it gives the candidate and findings it
  // would give for the whole pkginfo; a root that is not a dict gets its "missing name key".
  // Its stripped `pkginfo` goes unused: the transcoder has written that fragment already.
  const prepared = prepareCatalogItem(
    file.path,
    transcoded.root === 'dict' ? transcoded.picked : transcoded.value,
  );
  return {
    path: file.path,
    key,
    ok: true,
    candidate: prepared.item?.candidate ?? null,
    findings: prepared.findings,
    fragment:
      prepared.item && transcoded.root === 'dict'
        ? Buffer.from(transcoded.fragment)
        : Buffer.alloc(0),
  };
}

/** Chunks of files claimed at a time from the shared counter. */
export const CHUNK = 128;

/**
 * Reads files by claiming chunks from `counter` (shared with other threads) until none are left;
 * returns the indexes it read and their results.
 */
export function readClaimed(
  files: readonly PkginfoFile[],
  counter: Int32Array,
  onProgress?: (claimedSoFar: number) => void,
): { indexes: number[]; results: PkginfoReadResult[] } {
  const indexes: number[] = [];
  const results: PkginfoReadResult[] = [];
  for (;;) {
    const start = Atomics.add(counter, 0, CHUNK);
    if (start >= files.length) break;
    const end = Math.min(files.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      indexes.push(i);
      results.push(readPkginfo(files[i]!));
    }
    onProgress?.(end);
  }
  return { indexes, results };
}

/** The transferable form of many results: fragments packed into one buffer. */
export interface PackedResults {
  indexes: number[];
  results: (
    | Omit<Extract<PkginfoReadResult, { ok: true }>, 'fragment'>
    | Extract<PkginfoReadResult, { ok: false }>
  )[];
  lengths: number[];
  blob: ArrayBuffer;
}

/** Packs results so a worker can hand them over without copying each fragment. */
export function packResults(indexes: number[], results: PkginfoReadResult[]): PackedResults {
  const lengths = results.map((r) => (r.ok ? r.fragment.length : 0));
  const blob = new ArrayBuffer(lengths.reduce((a, b) => a + b, 0));
  const view = new Uint8Array(blob);
  let at = 0;
  const light = results.map((r) => {
    if (!r.ok) return r;
    view.set(r.fragment, at);
    at += r.fragment.length;
    const { fragment: _fragment, ...rest } = r;
    return rest;
  });
  return { indexes, results: light, lengths, blob };
}

/** Reverses packResults. */
export function unpackResults(packed: PackedResults): PkginfoReadResult[] {
  const all = Buffer.from(packed.blob);
  let at = 0;
  return packed.results.map((r, i) => {
    if (!r.ok) return r;
    const length = packed.lengths[i] ?? 0;
    const fragment = all.subarray(at, at + length);
    at += length;
    return { ...r, fragment };
  });
}
