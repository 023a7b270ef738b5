/**
 * xar, the container of Apple flat packages: header | zlib-compressed XML TOC | heap.
 *
 * `openXar` reads and verifies the header and TOC (the TOC digest stored in the heap), flattens the
 * file tree into entries with full, safe paths, and checks that every member's bytes lie inside the
 * source, so a truncated archive is refused when opened rather than half-read later. Members are
 * then read whole (`read`) or streamed (`stream`), with archived and extracted checksums verified.
 * Signatures are reported, not verified: that is `pkgutil --check-signature`'s job on a Mac.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, inflateSync } from 'node:zlib';
import { AppError } from '../lib/errors.js';
import { type ByteSource, isSafeRange, readExact } from './byte-source.js';
import { inflateStream } from './payload.js';
import { attribute, child, children, parseXml, textOf, type XmlElement } from './xml.js';

/** Digest algorithms xar uses for the TOC and for member checksums. */
export type XarChecksumAlgorithm =
  'none' | 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** What a TOC `<file>` is. */
export type XarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** A digest recorded in the TOC. */
export interface XarChecksum {
  readonly algorithm: XarChecksumAlgorithm;
  /** Lower-case hex. */
  readonly hex: string;
}

/** Where a member's bytes are and how they are encoded, as the TOC's `<data>` says. */
export interface XarData {
  /** Offset of the stored bytes from the start of the heap. */
  readonly offset: number;
  /** Stored (encoded) length. */
  readonly length: number;
  /** Decoded length. */
  readonly size: number;
  /** The `<encoding style>`, e.g. `application/octet-stream` or `application/x-gzip`. */
  readonly encoding: string;
  readonly archivedChecksum?: XarChecksum;
  readonly extractedChecksum?: XarChecksum;
}

/** One member of the archive. */
export interface XarEntry {
  readonly id: string;
  /** Full path inside the archive, `/`-separated, e.g. `foo.pkg/Payload`. */
  readonly path: string;
  readonly type: XarEntryType;
  /** Permission bits from `<mode>`, when present. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Target of a symlink (`<link>`). */
  readonly linkTarget?: string;
  readonly data?: XarData;
}

/** A signature recorded in the TOC (`<signature>` or Apple's `<x-signature>`); not verified here. */
export interface XarSignature {
  readonly element: 'signature' | 'x-signature';
  readonly style: string;
  /** Absolute offset of the signature blob in the source. */
  readonly offset: number;
  readonly size: number;
  /** Base64 DER certificates from `KeyInfo/X509Data`, leaf first. */
  readonly certificates: readonly string[];
}

/** The fixed header. */
export interface XarHeader {
  readonly headerSize: number;
  readonly version: number;
  readonly tocLengthCompressed: number;
  readonly tocLengthUncompressed: number;
  readonly checksumAlgorithm: XarChecksumAlgorithm;
}

/** A member's stored bytes located absolutely in the source, for callers that stream them. */
export interface XarDataRange {
  readonly offset: number;
  readonly length: number;
  readonly size: number;
  readonly encoding: string;
  readonly archivedChecksum?: XarChecksum;
  readonly extractedChecksum?: XarChecksum;
}

/** An opened, verified xar archive. */
export interface XarArchive {
  readonly header: XarHeader;
  /** The parsed `<toc>` element, for callers that need more than the entries. */
  readonly toc: XmlElement;
  /** Absolute offset of the heap in the source. */
  readonly heapOffset: number;
  /** Every member in TOC order (parents before children). */
  readonly entries: readonly XarEntry[];
  readonly signatures: readonly XarSignature[];
  /** The member at `path`, if any. */
  entry(path: string): XarEntry | undefined;
  /** Decoded bytes of a file member, checksums verified. */
  read(path: string): Promise<Uint8Array>;
  /** Decoded bytes of a file member as chunks; checksums are verified at the end (the last step throws). */
  stream(path: string, chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined>;
  /** Where a file member's stored bytes are in the source, so callers can stream them themselves. */
  dataRange(path: string): XarDataRange;
}

const MAGIC = 0x78617221; // "xar!"
const MIN_HEADER_SIZE = 28;
const MAX_TOC_SIZE = 256 * 1024 * 1024;
const DEFAULT_CHUNK = 1 << 20;
const OCTET_STREAM = 'application/octet-stream';
const ZLIB_ENCODING = 'application/x-gzip';

/** Apple's numbering in the header's cksum_alg field (xar.h). */
const HEADER_ALGORITHMS: readonly XarChecksumAlgorithm[] = [
  'none',
  'sha1',
  'md5',
  'sha256',
  'sha512',
];
const DIGEST_LENGTH: Readonly<Record<Exclude<XarChecksumAlgorithm, 'none'>, number>> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** Opens a xar archive: header, TOC (inflated, parsed, digest-checked) and member table. */
export async function openXar(source: ByteSource): Promise<XarArchive> {
  const header = await readHeader(source);
  const tocOffset = header.headerSize;
  const tocCompressed = await readExact(source, tocOffset, header.tocLengthCompressed, 'xar TOC');
  const tocBytes = inflateToc(tocCompressed, header.tocLengthUncompressed);
  const xarRoot = parseXml(tocBytes, { what: 'xar TOC' });
  const toc = xarRoot.name === 'xar' ? child(xarRoot, 'toc') : undefined;
  if (toc === undefined) throw invalid('xar TOC has no <xar><toc> element');
  const heapOffset = tocOffset + header.tocLengthCompressed;
  const heapSize = source.size - heapOffset;

  await verifyTocChecksum(source, toc, header, tocCompressed, heapOffset, heapSize);
  const signatures = readSignatures(toc, heapOffset, heapSize);
  const entries = flattenFiles(toc, heapSize);
  const byPath = new Map(entries.map((e) => [e.path, e]));

  const fileData = (path: string): { entry: XarEntry; data: XarData | undefined } => {
    const entry = byPath.get(path);
    if (entry === undefined)
      throw new AppError('NOT_FOUND', `no member ${path} in the xar archive`);
    if (entry.type !== 'file' && entry.type !== 'hardlink') {
      throw invalid(`xar member ${path} is a ${entry.type}, not a file`);
    }
    return { entry, data: entry.data };
  };

  return {
    header,
    toc,
    heapOffset,
    entries,
    signatures,
    entry: (path) => byPath.get(path),
    async read(path) {
      const { data } = fileData(path);
      if (data === undefined) return new Uint8Array(0);
      const stored = await readExact(
        source,
        heapOffset + data.offset,
        data.length,
        `xar member ${path}`,
      );
      verifyDigest(stored, data.archivedChecksum, `archived-checksum of xar member ${path}`);
      const decoded = decodeMember(stored, data, path);
      verifyDigest(decoded, data.extractedChecksum, `extracted-checksum of xar member ${path}`);
      return decoded;
    },
    async *stream(path, chunkSize = DEFAULT_CHUNK) {
      const { data } = fileData(path);
      if (data === undefined) return;
      checkEncodingSupported(data.encoding, path);
      const start = heapOffset + data.offset;
      const archived = hasher(data.archivedChecksum);
      const stored = async function* (): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < data.length; at += chunkSize) {
          const n = Math.min(chunkSize, data.length - at);
          const bytes = await readExact(source, start + at, n, `xar member ${path}`);
          archived?.update(bytes);
          yield bytes;
        }
        finishDigest(archived, data.archivedChecksum, `archived-checksum of xar member ${path}`);
      };
      const decoded = data.encoding === OCTET_STREAM ? stored() : inflateStream(stored());
      const extracted = hasher(data.extractedChecksum);
      let total = 0;
      for await (const part of decoded) {
        total += part.length;
        if (total > data.size)
          throw invalid(`xar member ${path} decodes to more than its size ${data.size}`);
        extracted?.update(part);
        yield part;
      }
      if (total !== data.size) {
        throw invalid(`xar member ${path} decodes to ${total} bytes, expected ${data.size}`);
      }
      finishDigest(extracted, data.extractedChecksum, `extracted-checksum of xar member ${path}`);
    },
    dataRange(path) {
      const { data } = fileData(path);
      const range = {
        offset: heapOffset + (data?.offset ?? 0),
        length: data?.length ?? 0,
        size: data?.size ?? 0,
        encoding: data?.encoding ?? OCTET_STREAM,
      };
      return {
        ...range,
        ...(data?.archivedChecksum && { archivedChecksum: data.archivedChecksum }),
        ...(data?.extractedChecksum && { extractedChecksum: data.extractedChecksum }),
      };
    },
  };
}

async function readHeader(source: ByteSource): Promise<XarHeader> {
  if (source.size < MIN_HEADER_SIZE) {
    throw invalid(`not a xar archive: ${source.size} bytes is shorter than a xar header`);
  }
  const fixed = await readExact(source, 0, MIN_HEADER_SIZE, 'xar header');
  const view = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  if (view.getUint32(0) !== MAGIC) throw invalid('not a xar archive (bad magic; expected "xar!")');
  const headerSize = view.getUint16(4);
  const version = view.getUint16(6);
  if (headerSize < MIN_HEADER_SIZE) {
    throw invalid(`xar header size ${headerSize} is smaller than ${MIN_HEADER_SIZE}`);
  }
  if (version !== 1) throw invalid(`unsupported xar version ${version}`);
  const tocLengthCompressed = safeU64(view.getBigUint64(8), 'xar header: compressed TOC length');
  const tocLengthUncompressed = safeU64(view.getBigUint64(16), 'xar header: TOC length');
  if (tocLengthUncompressed > MAX_TOC_SIZE) {
    throw invalid(`xar header: TOC of ${tocLengthUncompressed} bytes is implausibly large`);
  }
  const alg = view.getUint32(24);
  let checksumAlgorithm = HEADER_ALGORITHMS[alg];
  if (alg === 3 && headerSize > MIN_HEADER_SIZE) {
    // The mackyle/xar fork uses 3 for "named digest", spelling the name after the fixed header.
    const ext = await readExact(
      source,
      MIN_HEADER_SIZE,
      headerSize - MIN_HEADER_SIZE,
      'xar header',
    );
    const nul = ext.indexOf(0);
    const name = new TextDecoder().decode(ext.subarray(0, nul === -1 ? ext.length : nul));
    checksumAlgorithm = parseAlgorithm(name);
    if (checksumAlgorithm === undefined) throw invalid(`xar header names unknown digest "${name}"`);
  }
  if (checksumAlgorithm === undefined)
    throw invalid(`xar header: unknown checksum algorithm ${alg}`);
  return { headerSize, version, tocLengthCompressed, tocLengthUncompressed, checksumAlgorithm };
}

function inflateToc(compressed: Uint8Array, expected: number): Uint8Array {
  let toc: Uint8Array;
  try {
    // maxOutputLength stops a TOC that lies about its size from inflating without bound.
    toc = inflateSync(compressed, { maxOutputLength: Math.max(expected, 1) });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new AppError('ARCHIVE_INVALID', `xar TOC does not inflate (${detail})`, { cause: e });
  }
  if (toc.length !== expected) {
    throw invalid(`xar TOC inflates to ${toc.length} bytes but the header says ${expected}`);
  }
  return toc;
}

async function verifyTocChecksum(
  source: ByteSource,
  toc: XmlElement,
  header: XarHeader,
  tocCompressed: Uint8Array,
  heapOffset: number,
  heapSize: number,
): Promise<void> {
  const el = child(toc, 'checksum');
  const alg = header.checksumAlgorithm;
  if (alg === 'none') return;
  if (el === undefined) throw invalid(`xar TOC has no <checksum> although the header names ${alg}`);
  const style = parseAlgorithm(attribute(el, 'style') ?? '');
  if (style !== alg) {
    throw invalid(
      `xar TOC checksum style "${attribute(el, 'style') ?? ''}" differs from the header's ${alg}`,
    );
  }
  const offset = number(textOf(child(el, 'offset')), 'xar TOC checksum offset');
  const size = number(textOf(child(el, 'size')), 'xar TOC checksum size');
  if (size !== DIGEST_LENGTH[alg])
    throw invalid(`xar TOC checksum size ${size} does not fit ${alg}`);
  checkInHeap(offset, size, heapSize, 'xar TOC checksum');
  const stored = await readExact(source, heapOffset + offset, size, 'xar TOC checksum');
  const actual = createHash(alg).update(tocCompressed).digest();
  if (!actual.equals(stored)) {
    throw invalid(`xar TOC checksum mismatch (${alg}): the archive is corrupt or was altered`);
  }
}

function readSignatures(toc: XmlElement, heapOffset: number, heapSize: number): XarSignature[] {
  const out: XarSignature[] = [];
  for (const el of toc.children) {
    if (el.name !== 'signature' && el.name !== 'x-signature') continue;
    const what = `xar <${el.name}>`;
    const offset = number(textOf(child(el, 'offset')), `${what} offset`);
    const size = number(textOf(child(el, 'size')), `${what} size`);
    checkInHeap(offset, size, heapSize, what);
    const certificates = children(child(child(el, 'KeyInfo'), 'X509Data'), 'X509Certificate').map(
      (c) => (textOf(c) ?? '').replace(/\s+/g, ''),
    );
    out.push({
      element: el.name,
      style: attribute(el, 'style') ?? '',
      offset: heapOffset + offset,
      size,
      certificates,
    });
  }
  return out;
}

/** Walks the nested `<file>` elements into a flat list with full paths, refusing unsafe names. */
function flattenFiles(toc: XmlElement, heapSize: number): XarEntry[] {
  const entries: XarEntry[] = [];
  const seen = new Set<string>();
  const visit = (parent: XmlElement, prefix: string): void => {
    for (const file of children(parent, 'file')) {
      const id = attribute(file, 'id') ?? '';
      // Repeated <name> elements occur in real archives; the first one is the name.
      const name = textOf(child(file, 'name'));
      if (name === undefined || name === '') throw invalid(`xar TOC: file id ${id} has no name`);
      if (name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
        throw invalid(
          `xar TOC: unsafe member name "${name}" (file id ${id}${prefix ? ` in ${prefix}` : ''})`,
        );
      }
      const path = prefix ? `${prefix}/${name}` : name;
      if (seen.has(path)) throw invalid(`xar TOC: duplicate member ${path}`);
      seen.add(path);
      entries.push(readEntry(file, id, path, heapSize));
      visit(file, path);
    }
  };
  visit(toc, '');
  return entries;
}

function readEntry(file: XmlElement, id: string, path: string, heapSize: number): XarEntry {
  const rawType = textOf(child(file, 'type')) ?? 'file';
  const type: XarEntryType =
    rawType === 'file' || rawType === 'directory' || rawType === 'symlink' || rawType === 'hardlink'
      ? rawType
      : 'other';
  const entry: {
    -readonly [K in keyof XarEntry]: XarEntry[K];
  } = { id, path, type };
  const mode = textOf(child(file, 'mode'));
  if (mode !== undefined && mode !== '') {
    if (!/^[0-7]{1,7}$/.test(mode)) throw invalid(`xar member ${path}: bad mode "${mode}"`);
    entry.mode = parseInt(mode, 8);
  }
  const uid = optionalNumber(textOf(child(file, 'uid')));
  const gid = optionalNumber(textOf(child(file, 'gid')));
  if (uid !== undefined) entry.uid = uid;
  if (gid !== undefined) entry.gid = gid;
  const link = child(file, 'link');
  if (type === 'symlink' && link !== undefined) entry.linkTarget = link.text;
  const data = child(file, 'data');
  if (data !== undefined) entry.data = readData(data, path, heapSize);
  return entry;
}

function readData(el: XmlElement, path: string, heapSize: number): XarData {
  const what = `xar member ${path}`;
  const offset = number(textOf(child(el, 'offset')), `${what} data offset`);
  const length = number(textOf(child(el, 'length')), `${what} data length`);
  const sizeText = textOf(child(el, 'size'));
  const size = sizeText === undefined ? length : number(sizeText, `${what} data size`);
  checkInHeap(offset, length, heapSize, what);
  const encoding = attribute(child(el, 'encoding'), 'style') ?? OCTET_STREAM;
  const data: { -readonly [K in keyof XarData]: XarData[K] } = { offset, length, size, encoding };
  const archived = readChecksum(child(el, 'archived-checksum'), `${what} archived-checksum`);
  const extracted = readChecksum(child(el, 'extracted-checksum'), `${what} extracted-checksum`);
  if (archived !== undefined) data.archivedChecksum = archived;
  if (extracted !== undefined) data.extractedChecksum = extracted;
  return data;
}

function readChecksum(el: XmlElement | undefined, what: string): XarChecksum | undefined {
  if (el === undefined) return undefined;
  const style = attribute(el, 'style') ?? '';
  const algorithm = parseAlgorithm(style);
  if (algorithm === undefined) throw invalid(`${what}: unsupported checksum style "${style}"`);
  if (algorithm === 'none') return undefined;
  const hex = (textOf(el) ?? '').toLowerCase();
  if (!/^[0-9a-f]*$/.test(hex) || hex.length !== DIGEST_LENGTH[algorithm] * 2) {
    throw invalid(`${what}: "${hex}" is not a ${algorithm} digest`);
  }
  return { algorithm, hex };
}

function decodeMember(stored: Uint8Array, data: XarData, path: string): Uint8Array {
  checkEncodingSupported(data.encoding, path);
  let decoded: Uint8Array;
  if (data.encoding === OCTET_STREAM) {
    decoded = stored;
  } else {
    try {
      // Despite its name, xar's "x-gzip" is a zlib stream; accept real gzip too, told apart by magic.
      decoded =
        stored[0] === 0x1f && stored[1] === 0x8b
          ? gunzipSync(stored, { maxOutputLength: Math.max(data.size, 1) })
          : inflateSync(stored, { maxOutputLength: Math.max(data.size, 1) });
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new AppError('ARCHIVE_INVALID', `xar member ${path} does not decode (${detail})`, {
        cause: e,
      });
    }
  }
  if (decoded.length !== data.size) {
    throw invalid(`xar member ${path} decodes to ${decoded.length} bytes, expected ${data.size}`);
  }
  return decoded;
}

function checkEncodingSupported(encoding: string, path: string): void {
  if (encoding === OCTET_STREAM || encoding === ZLIB_ENCODING) return;
  if (encoding === 'application/x-bzip2') {
    throw invalid(`xar member ${path} is bzip2-encoded, which is not supported`);
  }
  throw invalid(`xar member ${path} has unsupported encoding "${encoding}"`);
}

function verifyDigest(bytes: Uint8Array, expected: XarChecksum | undefined, what: string): void {
  const h = hasher(expected);
  h?.update(bytes);
  finishDigest(h, expected, what);
}

function hasher(expected: XarChecksum | undefined): ReturnType<typeof createHash> | undefined {
  return expected === undefined || expected.algorithm === 'none'
    ? undefined
    : createHash(expected.algorithm);
}

function finishDigest(
  h: ReturnType<typeof createHash> | undefined,
  expected: XarChecksum | undefined,
  what: string,
): void {
  if (h === undefined || expected === undefined) return;
  const actual = h.digest('hex');
  if (actual !== expected.hex) {
    throw invalid(`${what} mismatch (${expected.algorithm} ${actual}, TOC says ${expected.hex})`);
  }
}

function parseAlgorithm(style: string): XarChecksumAlgorithm | undefined {
  const s = style.toLowerCase().replace(/-/g, '');
  return s === 'none' || s in DIGEST_LENGTH ? (s as XarChecksumAlgorithm) : undefined;
}

function checkInHeap(offset: number, length: number, heapSize: number, what: string): void {
  if (!isSafeRange(offset, length) || offset + length > heapSize) {
    throw invalid(
      `${what} (heap offset ${offset}, ${length} bytes) lies beyond the end of the archive; the file is truncated`,
    );
  }
}

function number(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d{1,16}$/.test(text))
    throw invalid(`${what} is missing or not a number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw invalid(`${what} ${text} is too large`);
  return n;
}

function optionalNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

function safeU64(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw invalid(`${what} ${value} is implausibly large`);
  return Number(value);
}

function invalid(message: string): AppError {
  return new AppError('ARCHIVE_INVALID', message);
}
