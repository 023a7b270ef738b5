/**
 * Binary property lists (`bplist00`), the format of /var/db/receipts/*.plist and most of macOS.
 *
 * Layout: the 8-byte magic, then objects, then an offset table (one big-endian offset per object),
 * then a 32-byte trailer: 6 unused bytes, sort version, offset size, object-ref size,
 * object count (u64), top object (u64), offset-table offset (u64). Each object starts with a
 * marker byte: high nibble the type, low nibble a small count or size (0xF: an int object follows
 * holding the count).
 *
 * Reading, callers must know:
 * - A UID (`0x8n`, only seen in NSKeyedArchiver output) becomes a plain number.
 * - A set becomes an array; null and fill markers are errors (no plist value stands for them).
 * - An object referenced twice is decoded once and the same JS value is shared (as plistlib
 *   does), which keeps a file that references one array from many places linear to read.
 * - A reference cycle, an offset or reference outside the file, or a truncated object is a
 *   PlistError with the byte offset.
 */

import { PlistError } from '../lib/errors.js';
import {
  PlistReal,
  isPlistDict,
  setDictKey,
  type PlistDict,
  type PlistValue,
} from './plist-value.js';

/** Options for `parseBinaryPlist`. */
export interface ParseBinaryPlistOptions {
  /** Names the file in error messages. */
  source?: string | undefined;
  /** Deepest nesting of arrays, sets and dicts accepted (default 512). */
  maxDepth?: number | undefined;
}

/** Seconds between the Unix epoch and CoreFoundation's reference date, 2001-01-01T00:00:00Z. */
const CF_EPOCH_SECONDS = 978_307_200;
const TRAILER_SIZE = 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Parses a `bplist00` document; throws PlistError naming `source` and the byte offset. */
export function parseBinaryPlist(
  bytes: Uint8Array,
  options: ParseBinaryPlistOptions = {},
): PlistValue {
  return new BinaryPlistReader(bytes, options.source, options.maxDepth ?? 512).read();
}

const IN_PROGRESS = Symbol('in progress');

class BinaryPlistReader {
  private readonly view: DataView;
  /** Objects live before the offset table; nothing may be read at or past this point. */
  private objectsEnd = 0;
  private offsetSize = 0;
  private refSize = 0;
  private objectCount = 0;
  private offsetTableAt = 0;
  private readonly decoded = new Map<number, PlistValue | typeof IN_PROGRESS>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string | undefined,
    private readonly maxDepth: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  read(): PlistValue {
    const b = this.bytes;
    if (b.length < 8 + 1 + TRAILER_SIZE)
      throw this.fail(b.length, 'truncated: no room for a trailer');
    if (b[6] !== 0x30 || b[7] !== 0x30) {
      // bplist15/16 (Swift's newer formats) are not what receipts or Munki use.
      throw this.fail(6, 'unsupported binary plist version (only bplist00 is read)');
    }
    const t = b.length - TRAILER_SIZE;
    this.offsetSize = b[t + 6] ?? 0;
    this.refSize = b[t + 7] ?? 0;
    const count = this.view.getBigUint64(t + 8);
    const top = this.view.getBigUint64(t + 16);
    const tableAt = this.view.getBigUint64(t + 24);
    if (this.offsetSize < 1 || this.offsetSize > 8) {
      throw this.fail(t + 6, `invalid offset size ${this.offsetSize} in the trailer`);
    }
    if (this.refSize < 1 || this.refSize > 8) {
      throw this.fail(t + 7, `invalid object reference size ${this.refSize} in the trailer`);
    }
    if (count < 1n || count > BigInt(t)) throw this.fail(t + 8, `invalid object count ${count}`);
    if (top >= count)
      throw this.fail(t + 16, `top object ${top} is not among the ${count} objects`);
    if (tableAt < 9n || tableAt + count * BigInt(this.offsetSize) > BigInt(t)) {
      throw this.fail(t + 24, `offset table at ${tableAt} does not fit in the file`);
    }
    this.objectCount = Number(count);
    this.offsetTableAt = Number(tableAt);
    this.objectsEnd = this.offsetTableAt;
    return this.object(Number(top), 0, t + 16);
  }

  private fail(offset: number, message: string): PlistError {
    return new PlistError(message, { source: this.source, offset });
  }

  /** Big-endian unsigned integer of 1–8 bytes that must end before `limit`. */
  private readUnsigned(at: number, size: number, limit: number): number {
    if (at + size > limit) throw this.fail(at, 'truncated: read past the end of the object data');
    let v = 0;
    for (let i = 0; i < size; i++) {
      v = v * 256 + (this.bytes[at + i] ?? 0);
    }
    // Offsets and references above 2^53 cannot be valid in any file we can hold.
    if (v > Number.MAX_SAFE_INTEGER) throw this.fail(at, 'offset or reference out of range');
    return v;
  }

  private offsetOf(ref: number, at: number): number {
    if (ref >= this.objectCount) {
      throw this.fail(at, `object reference ${ref} is out of range (${this.objectCount} objects)`);
    }
    const entryAt = this.offsetTableAt + ref * this.offsetSize;
    const offset = this.readUnsigned(entryAt, this.offsetSize, this.bytes.length - TRAILER_SIZE);
    if (offset < 8 || offset >= this.objectsEnd) {
      throw this.fail(entryAt, `object ${ref} has offset ${offset}, outside the object data`);
    }
    return offset;
  }

  /** Object `ref`, decoded once; `refAt` is where the reference was read, for error messages. */
  private object(ref: number, depth: number, refAt: number): PlistValue {
    const cached = this.decoded.get(ref);
    if (cached === IN_PROGRESS) throw this.fail(refAt, `reference cycle through object ${ref}`);
    if (cached !== undefined) return cached;
    const at = this.offsetOf(ref, refAt);
    const marker = this.bytes[at] ?? 0;
    const type = marker >> 4;
    const info = marker & 0x0f;
    const isContainer = type === 0xa || type === 0xc || type === 0xb || type === 0xd;
    if (isContainer) {
      if (depth >= this.maxDepth) throw this.fail(at, `nesting deeper than ${this.maxDepth}`);
      this.decoded.set(ref, IN_PROGRESS);
    }
    const value = this.decode(at, type, info, depth);
    this.decoded.set(ref, value);
    return value;
  }

  private decode(at: number, type: number, info: number, depth: number): PlistValue {
    const end = this.objectsEnd;
    switch (type) {
      case 0x0:
        if (info === 0x8) return false;
        if (info === 0x9) return true;
        throw this.fail(
          at,
          info === 0
            ? 'null is not a property-list value'
            : `unknown marker 0x0${info.toString(16)}`,
        );
      case 0x1:
        return this.integer(at + 1, info, end);
      case 0x2: {
        if (info !== 2 && info !== 3) throw this.fail(at, `invalid real size ${2 ** info}`);
        this.need(at + 1, 2 ** info);
        return new PlistReal(
          info === 2 ? this.view.getFloat32(at + 1) : this.view.getFloat64(at + 1),
        );
      }
      case 0x3: {
        if (info !== 3) throw this.fail(at, 'invalid date marker');
        this.need(at + 1, 8);
        // Rounded: CF keeps sub-millisecond precision that a JS Date cannot hold.
        const date = new Date(Math.round((CF_EPOCH_SECONDS + this.view.getFloat64(at + 1)) * 1000));
        if (Number.isNaN(date.getTime())) throw this.fail(at, 'date out of range');
        return date;
      }
      case 0x4: {
        const [count, start] = this.count(at, info);
        this.need(start, count);
        // A copy, and a plain Uint8Array even when the input is a Buffer (whose slice shares memory).
        return new Uint8Array(this.bytes.subarray(start, start + count));
      }
      case 0x5: {
        const [count, start] = this.count(at, info);
        this.need(start, count);
        let s = '';
        // ASCII; chunked so a long string does not build one huge argument list.
        for (let i = start; i < start + count; i += 4096) {
          s += String.fromCharCode(...this.bytes.subarray(i, Math.min(i + 4096, start + count)));
        }
        return s;
      }
      case 0x6: {
        const [count, start] = this.count(at, info);
        this.need(start, count * 2);
        const units = new Array<number>(count);
        for (let i = 0; i < count; i++) units[i] = this.view.getUint16(start + 2 * i);
        let s = '';
        for (let i = 0; i < count; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
        return s;
      }
      case 0x8: {
        // A UID: n+1 bytes, unsigned. Shown as a number (keyed archives only).
        return this.readUnsigned(at + 1, info + 1, end);
      }
      case 0xa:
      case 0xb:
      case 0xc: {
        const [count, start] = this.count(at, info);
        this.need(start, count * this.refSize);
        const items: PlistValue[] = [];
        for (let i = 0; i < count; i++) {
          const refAt = start + i * this.refSize;
          items.push(this.object(this.readUnsigned(refAt, this.refSize, end), depth + 1, refAt));
        }
        return items;
      }
      case 0xd: {
        const [count, start] = this.count(at, info);
        this.need(start, count * 2 * this.refSize);
        const dict: PlistDict = {};
        for (let i = 0; i < count; i++) {
          const keyAt = start + i * this.refSize;
          const valueAt = start + (count + i) * this.refSize;
          const key = this.object(this.readUnsigned(keyAt, this.refSize, end), depth + 1, keyAt);
          if (typeof key !== 'string') throw this.fail(keyAt, 'a dict key is not a string');
          const value = this.object(
            this.readUnsigned(valueAt, this.refSize, end),
            depth + 1,
            valueAt,
          );
          setDictKey(dict, key, value);
        }
        return dict;
      }
      default:
        throw this.fail(at, `unknown object marker 0x${type.toString(16)}${info.toString(16)}`);
    }
  }

  private need(at: number, size: number): void {
    if (at + size > this.objectsEnd) {
      throw this.fail(
        at,
        `truncated: object needs ${size} bytes, only ${Math.max(0, this.objectsEnd - at)} remain`,
      );
    }
  }

  /** An int object of 2^sizeLog2 bytes at `at`: 1/2/4 unsigned, 8 signed, 16 signed 128-bit. */
  private integer(at: number, sizeLog2: number, end: number): number | bigint {
    if (sizeLog2 > 4) throw this.fail(at - 1, `invalid integer size 2^${sizeLog2}`);
    const size = 2 ** sizeLog2;
    if (at + size > end) throw this.fail(at, 'truncated integer');
    if (size <= 4) return this.readUnsigned(at, size, end);
    let v: bigint;
    if (size === 8) v = this.view.getBigInt64(at);
    else {
      // CF writes values above INT64_MAX as 16 bytes; the high half is the sign-extended top.
      v = (this.view.getBigInt64(at) << 64n) | this.view.getBigUint64(at + 8);
      if (v < INT64_MIN || v > UINT64_MAX) throw this.fail(at, 'integer out of the 64-bit range');
    }
    return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
  }

  /** The element count of a data/string/array/dict object and where its payload starts. */
  private count(at: number, info: number): [number, number] {
    if (info !== 0xf) return [info, at + 1];
    const intMarker = this.bytes[at + 1] ?? 0;
    if (intMarker >> 4 !== 0x1) throw this.fail(at + 1, 'expected an integer length');
    const sizeLog2 = intMarker & 0x0f;
    const n = this.integer(at + 2, sizeLog2, this.objectsEnd);
    // Whether the payload fits is checked by the caller, which knows the element size.
    if (typeof n !== 'number' || n < 0) {
      throw this.fail(at + 1, `invalid length ${n}`);
    }
    return [n, at + 2 + 2 ** sizeLog2];
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * Writes `value` as a `bplist00` document. Simple and correct rather than small: objects are not
 * de-duplicated; ints use the smallest of 1/2/4/8 bytes (16 for values above INT64_MAX), reals
 * are 8-byte doubles, strings are ASCII or UTF-16BE.
 */
export function buildBinaryPlist(value: PlistValue): Uint8Array {
  // 1. Flatten into a list of objects; containers hold their children's indexes.
  type Flat =
    | { kind: 'scalar'; value: PlistValue }
    | { kind: 'array'; refs: number[] }
    | { kind: 'dict'; keyRefs: number[]; valueRefs: number[] };
  const objects: Flat[] = [];
  const path = new Set<object>();
  const add = (v: PlistValue): number => {
    const index = objects.length;
    if (Array.isArray(v)) {
      if (path.has(v)) throw new Error('buildBinaryPlist: the value contains a cycle');
      path.add(v);
      const flat: Flat = { kind: 'array', refs: [] };
      objects.push(flat);
      for (const item of v) flat.refs.push(add(item));
      path.delete(v);
    } else if (isPlistDict(v) && isPlainObject(v)) {
      if (path.has(v)) throw new Error('buildBinaryPlist: the value contains a cycle');
      path.add(v);
      const flat: Flat = { kind: 'dict', keyRefs: [], valueRefs: [] };
      objects.push(flat);
      const keys = Object.keys(v);
      for (const k of keys) flat.keyRefs.push(add(k));
      for (const k of keys) flat.valueRefs.push(add(v[k] as PlistValue));
      path.delete(v);
    } else {
      objects.push({ kind: 'scalar', value: v });
    }
    return index;
  };
  add(value);

  // 2. Encode objects in order, remembering each one's offset.
  const refSize = bytesFor(objects.length - 1);
  const out = new ByteWriter();
  out.bytes([0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30]); // "bplist00"
  const offsets: number[] = [];
  for (const o of objects) {
    offsets.push(out.length);
    if (o.kind === 'array') {
      writeMarker(out, 0xa, o.refs.length);
      for (const r of o.refs) out.uint(r, refSize);
    } else if (o.kind === 'dict') {
      writeMarker(out, 0xd, o.keyRefs.length);
      for (const r of o.keyRefs) out.uint(r, refSize);
      for (const r of o.valueRefs) out.uint(r, refSize);
    } else {
      writeScalar(out, o.value);
    }
  }

  // 3. Offset table and trailer.
  const tableAt = out.length;
  const offsetSize = bytesFor(tableAt);
  for (const off of offsets) out.uint(off, offsetSize);
  out.bytes([0, 0, 0, 0, 0, 0, 0, offsetSize, refSize]);
  out.uint(objects.length, 8);
  out.uint(0, 8);
  out.uint(tableAt, 8);
  return out.finish();
}

function writeScalar(out: ByteWriter, v: PlistValue): void {
  if (typeof v === 'boolean') out.byte(v ? 0x09 : 0x08);
  else if (typeof v === 'number') {
    if (Number.isInteger(v)) writeInt(out, BigInt(v));
    else if (Number.isFinite(v)) writeReal(out, v);
    else throw new Error(`buildBinaryPlist: ${v} is not an integer; use new PlistReal(${v})`);
  } else if (typeof v === 'bigint') writeInt(out, v);
  else if (typeof v === 'string') {
    let isAscii = true;
    for (let i = 0; i < v.length; i++) {
      if (v.charCodeAt(i) > 0x7f) {
        isAscii = false;
        break;
      }
    }
    if (isAscii) {
      writeMarker(out, 0x5, v.length);
      for (let i = 0; i < v.length; i++) out.byte(v.charCodeAt(i));
    } else {
      writeMarker(out, 0x6, v.length);
      for (let i = 0; i < v.length; i++) out.uint(v.charCodeAt(i), 2);
    }
  } else if (v instanceof PlistReal) writeReal(out, v.value);
  else if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw new Error('buildBinaryPlist: invalid Date');
    out.byte(0x33);
    out.float64(ms / 1000 - CF_EPOCH_SECONDS);
  } else if (v instanceof Uint8Array) {
    writeMarker(out, 0x4, v.length);
    out.bytes(v);
  } else {
    throw new Error(`buildBinaryPlist: cannot write ${describe(v)}`);
  }
}

function writeReal(out: ByteWriter, n: number): void {
  out.byte(0x23);
  out.float64(n);
}

function writeInt(out: ByteWriter, v: bigint): void {
  if (v < INT64_MIN || v > UINT64_MAX) throw new Error(`buildBinaryPlist: ${v} is outside 64 bits`);
  if (v >= 0n && v <= 0xffffffffn) {
    const size = v <= 0xffn ? 1 : v <= 0xffffn ? 2 : 4;
    out.byte(0x10 | Math.log2(size));
    out.uint(Number(v), size);
  } else if (v <= INT64_MAX) {
    // Negative and large positive values: 8 bytes, two's complement (readers treat 8 as signed).
    out.byte(0x13);
    out.uint64(BigInt.asUintN(64, v));
  } else {
    out.byte(0x14);
    out.uint64(0n);
    out.uint64(v);
  }
}

/** A marker with its count in the low nibble, or 0xF and a following int object. */
function writeMarker(out: ByteWriter, type: number, count: number): void {
  if (count < 15) out.byte((type << 4) | count);
  else {
    out.byte((type << 4) | 0xf);
    writeInt(out, BigInt(count));
  }
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function bytesFor(max: number): number {
  return max < 0x100 ? 1 : max < 0x10000 ? 2 : max < 0x100000000 ? 4 : 8;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object of type ${v.constructor?.name ?? 'null-prototype'}`;
  return typeof v;
}

/** A growable byte buffer; doubling keeps appends amortised O(1). */
class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(b: ArrayLike<number>): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Big-endian unsigned, `size` bytes (up to 8; values here stay below 2^53). */
  uint(v: number, size: number): void {
    this.reserve(size);
    for (let i = size - 1; i >= 0; i--) {
      this.buf[this.length + i] = v % 256;
      v = Math.floor(v / 256);
    }
    this.length += size;
  }

  uint64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
  }

  float64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v);
    this.length += 8;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
