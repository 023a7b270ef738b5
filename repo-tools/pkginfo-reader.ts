/**
 * Reads pkginfo files for makecatalogs: parse, prepare (strip keys, note catalogs and installer
 * items) and serialise each as a catalog fragment. Synchronous on purpose: for thousands of small
 * files, sync reads are several times faster in Node than promise-based ones, and the work is split
 * across threads instead (see pkginfo-reader-worker.ts).
 */
import { readFileSync } from 'node:fs';
import {
  prepareCatalogItem,
  type CatalogCandidate,
  type CatalogFinding,
} from '../catalogs/index.js';
import { buildPlistFragment, parsePlist } from '../formats/index.js';
import { describeError } from '../lib/errors.js';

/** A pkginfo file to read: its path under pkgsinfo/ and on disk. */
export interface PkginfoFile {
  path: string;
  fullPath: string;
}

/** What reading one pkginfo produced. */
export type PkginfoReadResult =
  | {
      path: string;
      ok: true;
      candidate: CatalogCandidate | null;
      findings: CatalogFinding[];
      fragment: Buffer;
    }
  | { path: string; ok: false; error: string };

/** Reads, parses and serialises one pkginfo; a file that is not a plist yields `ok: false`. */
export function readPkginfo(file: PkginfoFile): PkginfoReadResult {
  const where = `pkgsinfo/${file.path}`;
  let value;
  try {
    value = parsePlist(readFileSync(file.fullPath), { source: where });
  } catch (e) {
    return { path: file.path, ok: false, error: describeError(e) };
  }
  const prepared = prepareCatalogItem(file.path, value);
  return {
    path: file.path,
    ok: true,
    candidate: prepared.item?.candidate ?? null,
    findings: prepared.findings,
    fragment: prepared.item
      ? Buffer.from(buildPlistFragment(prepared.item.pkginfo, 1, { sortKeys: true }))
      : Buffer.alloc(0),
  };
}

/** The transferable form of many results: fragments packed into one buffer. */
export interface PackedResults {
  results: (
    | Omit<Extract<PkginfoReadResult, { ok: true }>, 'fragment'>
    | Extract<PkginfoReadResult, { ok: false }>
  )[];
  lengths: number[];
  blob: ArrayBuffer;
}

/** Packs results so a worker can hand them over without copying each fragment. */
export function packResults(results: PkginfoReadResult[]): PackedResults {
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
  return { results: light, lengths, blob };
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
