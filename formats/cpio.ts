/**
 * cpio, the archive inside pkg Payloads and Scripts. Reads the portable ASCII formats, odc (`070707`,
 * what pkgbuild writes) and newc/crc (`070701`/`070702`, 4-byte aligned), either all at once
 * (`readCpio`) or incrementally (`CpioParser`, fed decoded payload chunks of any size).
 *
 * Paths lose their leading `./`; `..` components and absolute names are refused. Hard links are
 * deduplicated by (dev, ino): Apple's writer gives later links dummy data, so only the first link's
 * bytes count, and later links carry `hardlinkTo`. A stream that ends before `TRAILER!!!` is an error.
 */
import { AppError } from '../lib/errors.js';
import { concatBytes } from './byte-source.js';

/** The cpio header variants this reader understands. */
export type CpioFormat = 'odc' | 'newc' | 'crc';

/** File type from the mode's `S_IFMT` bits. */
export type CpioEntryType = 'file' | 'directory' | 'symlink' | 'other';

/** One member's metadata (everything but its bytes). */
export interface CpioHeader {
  /** Normalised path: no leading `./`, no empty or `.` components; the archive root is `.`. */
  readonly path: string;
  readonly type: CpioEntryType;
  /** Full `st_mode`: file type bits and permissions. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  /** Content length; for a hard link, the length of the shared content. */
  readonly size: number;
  readonly nlink: number;
  readonly ino: number;
  readonly dev: number;
  readonly rdev: number;
  /** Symlink target. */
  readonly linkTarget?: string;
  /** For the second and later links to one inode: the path of the first link. */
  readonly hardlinkTo?: string;
}

/** A member with its content (for a symlink, the target's bytes; for a hard link, the shared content). */
export interface CpioEntry extends CpioHeader {
  readonly data: Uint8Array;
}

/**
 * What `CpioParser.push` reports, in order. An `entry` is followed by the `data` events for its
 * content, which alias the pushed chunks. Symlinks get no `data` events (see `linkTarget`), nor do
 * later hard links whose first link already carried the content; a later hard link does get `data`
 * when the first link was stored empty (the newc convention of putting the bytes on the last link):
 * that content belongs to the shared inode. `end` follows `TRAILER!!!`.
 */
export type CpioEvent =
  | { readonly kind: 'entry'; readonly entry: CpioHeader }
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'end' };

/** An entry for `writeCpioOdc`. `path` is written as given (pkgbuild style is `./Applications/…`). */
export interface CpioWriteEntry {
  readonly path: string;
  /** Full `st_mode`, e.g. `0o100644`, `0o040755`, `0o120755`. */
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  readonly nlink?: number;
  /** Defaults to a distinct number per entry. */
  readonly ino?: number;
  readonly dev?: number;
  readonly rdev?: number;
  /** File contents, or a symlink's target. */
  readonly data?: Uint8Array | string;
}

const TRAILER = 'TRAILER!!!';
const ODC_HEADER = 76;
const NEWC_HEADER = 110;
const MAX_NAME = 64 * 1024;
const MAX_LINK_TARGET = 64 * 1024;
const S_IFMT = 0o170000;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

interface Pending {
  header: CpioHeader;
  /** Bytes of content still to come. */
  remaining: number;
  /** Alignment bytes after the content (newc). */
  padding: number;
  /** Content is read but not reported (a later hard link's dummy copy). */
  discard: boolean;
  /** Symlink target bytes collected so far. */
  link: Uint8Array[] | undefined;
}

/** Incremental cpio reader: `push` decoded chunks as they arrive, then `end()`. */
export class CpioParser {
  private offset = 0;
  private head = new Uint8Array(NEWC_HEADER);
  private headFill = 0;
  private headNeed = 6;
  private headerStart = 0;
  private current: Pending | undefined;
  private finished = false;
  private readonly links = new Map<string, { path: string; size: number }>();

  /** True once `TRAILER!!!` has been read. */
  get isDone(): boolean {
    return this.finished;
  }

  /** Consumes a chunk and returns the events it completes. Bytes after the trailer are ignored. */
  push(chunk: Uint8Array): CpioEvent[] {
    const events: CpioEvent[] = [];
    let at = 0;
    while (at < chunk.length && !this.finished) {
      const cur = this.current;
      if (cur !== undefined) {
        at += this.content(cur, chunk.subarray(at), events);
        continue;
      }
      const n = Math.min(this.headNeed - this.headFill, chunk.length - at);
      this.head.set(chunk.subarray(at, at + n), this.headFill);
      this.headFill += n;
      this.offset += n;
      at += n;
      if (this.headFill === this.headNeed) this.header(events);
    }
    return events;
  }

  /** Declares the input finished; throws ARCHIVE_INVALID unless the trailer was reached. */
  end(): void {
    if (this.finished) return;
    const inside =
      this.current !== undefined ? ` inside ${this.current.header.path}` : ' inside a header';
    throw invalid(
      `cpio archive is truncated: it ends at offset ${this.offset}${inside}, before ${TRAILER}`,
    );
  }

  /** Feeds content bytes of the current entry; returns how many were consumed. */
  private content(cur: Pending, bytes: Uint8Array, events: CpioEvent[]): number {
    const n = Math.min(cur.remaining + cur.padding, bytes.length);
    const dataBytes = Math.min(n, cur.remaining);
    if (dataBytes > 0) {
      const part = bytes.subarray(0, dataBytes);
      if (cur.link !== undefined) cur.link.push(part);
      else if (!cur.discard) events.push({ kind: 'data', data: part });
      cur.remaining -= dataBytes;
    }
    cur.padding -= n - dataBytes;
    this.offset += n;
    if (cur.remaining === 0 && cur.padding === 0) {
      if (cur.link !== undefined) this.emitSymlink(cur, events);
      this.current = undefined;
      this.resetHead();
    }
    return n;
  }

  private emitSymlink(cur: Pending, events: CpioEvent[]): void {
    let target: string;
    try {
      target = utf8.decode(concatBytes(cur.link ?? []));
    } catch {
      throw invalid(`cpio symlink ${cur.header.path}: target is not UTF-8`);
    }
    events.push({ kind: 'entry', entry: { ...cur.header, linkTarget: target } });
  }

  private resetHead(): void {
    this.headFill = 0;
    this.headNeed = 6;
    this.headerStart = this.offset;
  }

  /** Called whenever `headNeed` bytes are buffered: decides what more is needed, or parses. */
  private header(events: CpioEvent[]): void {
    const format = this.format();
    const fixed = format === 'odc' ? ODC_HEADER : NEWC_HEADER;
    if (this.headNeed < fixed) {
      this.growHead(fixed);
      return;
    }
    const namesize = this.field(format, 'namesize');
    if (namesize < 1 || namesize > MAX_NAME) {
      throw this.bad(`name size ${namesize} is not plausible`);
    }
    const total = format === 'odc' ? fixed + namesize : align4(fixed + namesize);
    if (this.headNeed < total) {
      this.growHead(total);
      return;
    }
    this.entryFromHeader(format, namesize, events);
  }

  private growHead(need: number): void {
    if (this.head.length < need) {
      const bigger = new Uint8Array(Math.max(need, this.head.length * 2));
      bigger.set(this.head.subarray(0, this.headFill));
      this.head = bigger;
    }
    this.headNeed = need;
  }

  private format(): CpioFormat {
    const magic = String.fromCharCode(...this.head.subarray(0, 6));
    if (magic === '070707') return 'odc';
    if (magic === '070701') return 'newc';
    if (magic === '070702') return 'crc';
    const [b0, b1] = this.head;
    if ((b0 === 0xc7 && b1 === 0x71) || (b0 === 0x71 && b1 === 0xc7)) {
      throw this.bad('binary (old) cpio headers are not supported');
    }
    throw this.bad('bad magic (expected 070707, 070701 or 070702)');
  }

  private entryFromHeader(format: CpioFormat, namesize: number, events: CpioEvent[]): void {
    const fixed = format === 'odc' ? ODC_HEADER : NEWC_HEADER;
    const nameBytes = this.head.subarray(fixed, fixed + namesize);
    if (nameBytes[namesize - 1] !== 0) throw this.bad('name is not NUL-terminated');
    let rawName: string;
    try {
      rawName = utf8.decode(nameBytes.subarray(0, namesize - 1));
    } catch {
      throw this.bad('name is not UTF-8');
    }
    const size = this.field(format, 'filesize');
    const padding = format === 'odc' ? 0 : align4(size) - size;
    if (rawName === TRAILER) {
      this.finished = true;
      events.push({ kind: 'end' });
      return;
    }
    const mode = this.field(format, 'mode');
    const dev =
      format === 'odc'
        ? this.field(format, 'dev')
        : this.field(format, 'devmajor') * 0x100000000 + this.field(format, 'devminor');
    const ino = this.field(format, 'ino');
    const nlink = this.field(format, 'nlink');
    const type = typeOf(mode);
    const header: { -readonly [K in keyof CpioHeader]: CpioHeader[K] } = {
      path: this.normalise(rawName),
      type,
      mode,
      uid: this.field(format, 'uid'),
      gid: this.field(format, 'gid'),
      mtime: this.field(format, 'mtime'),
      size,
      nlink,
      ino,
      dev,
      rdev:
        format === 'odc'
          ? this.field(format, 'rdev')
          : this.field(format, 'rdevmajor') * 0x100000000 + this.field(format, 'rdevminor'),
    };
    if (!Number.isSafeInteger(header.dev) || !Number.isSafeInteger(header.rdev)) {
      throw this.bad('device number is not plausible');
    }
    let discard = false;
    if (type === 'file' && nlink > 1) {
      const key = `${dev}:${ino}`;
      const first = this.links.get(key);
      if (first === undefined) {
        this.links.set(key, { path: header.path, size });
      } else {
        header.hardlinkTo = first.path;
        if (first.size > 0) {
          // Apple's cpio gives later links dummy bytes: skip them, the first link has the content.
          discard = true;
          header.size = first.size;
        } else {
          first.size = size;
        }
      }
    }
    if (type === 'symlink' && size > MAX_LINK_TARGET) {
      throw this.bad(`symlink ${header.path} has an implausible ${size}-byte target`);
    }
    const pending: Pending = {
      header,
      remaining: size,
      padding,
      discard,
      link: type === 'symlink' ? [] : undefined,
    };
    if (type !== 'symlink') events.push({ kind: 'entry', entry: header });
    // The header's bytes are consumed; content (if any) starts at the current offset.
    this.current = pending;
    if (size === 0 && padding === 0) {
      if (pending.link !== undefined) this.emitSymlink(pending, events);
      this.current = undefined;
      this.resetHead();
    }
  }

  private normalise(raw: string): string {
    if (raw.startsWith('/')) throw this.bad(`absolute member name "${raw}" refused`);
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.bad(`member name "${raw}" refused: it contains ".."`);
    return parts.length === 0 ? '.' : parts.join('/');
  }

  private field(format: CpioFormat, name: FieldName): number {
    const layout = format === 'odc' ? ODC_FIELDS : NEWC_FIELDS;
    const [start, width] = layout[name];
    const text = String.fromCharCode(...this.head.subarray(start, start + width));
    const ok = format === 'odc' ? /^[0-7]+$/.test(text) : /^[0-9A-Fa-f]+$/.test(text);
    if (!ok) throw this.bad(`field ${name} "${text}" is not ${format === 'odc' ? 'octal' : 'hex'}`);
    return parseInt(text, format === 'odc' ? 8 : 16);
  }

  private bad(message: string): AppError {
    return invalid(`cpio header at offset ${this.headerStart}: ${message}`);
  }
}

type FieldName =
  | 'dev'
  | 'devmajor'
  | 'devminor'
  | 'rdevmajor'
  | 'rdevminor'
  | 'ino'
  | 'mode'
  | 'uid'
  | 'gid'
  | 'nlink'
  | 'rdev'
  | 'mtime'
  | 'namesize'
  | 'filesize';

// [offset, width] of each ASCII field after the 6-byte magic.
const ODC_FIELDS: Readonly<Record<FieldName, readonly [number, number]>> = {
  dev: [6, 6],
  devmajor: [6, 6],
  devminor: [6, 6],
  ino: [12, 6],
  mode: [18, 6],
  uid: [24, 6],
  gid: [30, 6],
  nlink: [36, 6],
  rdev: [42, 6],
  rdevmajor: [42, 6],
  rdevminor: [42, 6],
  mtime: [48, 11],
  namesize: [59, 6],
  filesize: [65, 11],
};
const NEWC_FIELDS: Readonly<Record<FieldName, readonly [number, number]>> = {
  ino: [6, 8],
  mode: [14, 8],
  uid: [22, 8],
  gid: [30, 8],
  nlink: [38, 8],
  mtime: [46, 8],
  filesize: [54, 8],
  devmajor: [62, 8],
  devminor: [70, 8],
  rdevmajor: [78, 8],
  rdevminor: [86, 8],
  namesize: [94, 8],
  dev: [62, 8],
  rdev: [78, 8],
  // 102..110 is the checksum, unused for newc and not verified for crc.
};

/**
 * Reads a whole cpio archive. Hard links share the first link's bytes; symlinks' `data` is the
 * target. Entries' `data` are views into `bytes`, not copies. Throws ARCHIVE_INVALID on any
 * malformed or truncated input; never returns a partial list.
 */
export function readCpio(bytes: Uint8Array): CpioEntry[] {
  const parser = new CpioParser();
  const events = parser.push(bytes);
  parser.end();
  const entries: { header: CpioHeader; parts: Uint8Array[] }[] = [];
  for (const event of events) {
    if (event.kind === 'entry') entries.push({ header: event.entry, parts: [] });
    else if (event.kind === 'data') entries.at(-1)?.parts.push(event.data);
  }
  const content = new Map<string, Uint8Array>();
  const out = entries.map(({ header, parts }) => {
    const data =
      header.linkTarget !== undefined ? encoder.encode(header.linkTarget) : concatBytes(parts);
    if (header.type === 'file' && header.nlink > 1 && data.length > 0) {
      content.set(header.hardlinkTo ?? header.path, data);
    }
    return { ...header, data };
  });
  // Every link of an inode reads the same bytes, wherever in the stream they were stored.
  return out.map((e) => {
    const shared =
      e.type === 'file' && e.nlink > 1 ? content.get(e.hardlinkTo ?? e.path) : undefined;
    return shared === undefined ? e : { ...e, data: shared, size: shared.length };
  });
}

/**
 * Writes an odc (`070707`) archive, padded with NULs to a 512-byte block as GNU cpio does. Used by
 * tests and the package builder; the reader, not the writer, polices unsafe names.
 */
export function writeCpioOdc(entries: readonly CpioWriteEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  entries.forEach((e, i) => {
    if (e.path === '' || e.path.includes('\0'))
      throw new Error(`cpio: bad member name ${JSON.stringify(e.path)}`);
    const data =
      typeof e.data === 'string' ? encoder.encode(e.data) : (e.data ?? new Uint8Array(0));
    const name = encoder.encode(e.path);
    parts.push(odcHeader(e, i, name.length + 1, data.length), name, new Uint8Array(1), data);
  });
  const trailerName = encoder.encode(TRAILER);
  parts.push(odcHeader({ path: TRAILER, mode: 0, nlink: 1, ino: 0 }, 0, trailerName.length + 1, 0));
  parts.push(trailerName, new Uint8Array(1));
  const body = concatBytes(parts);
  const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
  padded.set(body);
  return padded;
}

function odcHeader(
  e: CpioWriteEntry,
  index: number,
  namesize: number,
  filesize: number,
): Uint8Array {
  const octal = (value: number, width: number, what: string): string => {
    const text = value.toString(8);
    if (!Number.isSafeInteger(value) || value < 0 || text.length > width) {
      throw new AppError(
        'ARCHIVE_INVALID',
        `cpio odc: ${what} ${value} of ${e.path} does not fit ${width} octal digits`,
      );
    }
    return text.padStart(width, '0');
  };
  const text =
    '070707' +
    octal(e.dev ?? 0, 6, 'dev') +
    octal(e.ino ?? index + 1, 6, 'ino') +
    octal(e.mode, 6, 'mode') +
    octal(e.uid ?? 0, 6, 'uid') +
    octal(e.gid ?? 0, 6, 'gid') +
    octal(e.nlink ?? 1, 6, 'nlink') +
    octal(e.rdev ?? 0, 6, 'rdev') +
    octal(e.mtime ?? 0, 11, 'mtime') +
    octal(namesize, 6, 'name size') +
    octal(filesize, 11, 'size');
  return encoder.encode(text);
}

function typeOf(mode: number): CpioEntryType {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function align4(n: number): number {
  // Arithmetic, not bit masks: newc sizes go up to 4 GiB, beyond 32-bit integer operators.
  return Math.ceil(n / 4) * 4;
}

function invalid(message: string): AppError {
  return new AppError('ARCHIVE_INVALID', message);
}
