/**
 * A compact, re-openable index of one catalog. Munki's client re-parses every catalog plist on
 * every run (`makeCatalogDB` in code/cli/munki/shared/updatecheck/catalogs.swift); a 40 MB catalog
 * checked hourly makes that the dominant cost. So the client stores this form beside the catalog:
 * a small JSON header holding Munki's lookup tables (by name and trimmed version, by `update_for`
 * target, by receipt, autoremove names) and every item as its own JSON blob at a byte offset.
 * Opening parses only the header; an item is parsed the first time someone asks for it.
 *
 * Layout: "ABCI" | u32 LE header length | header JSON (UTF-8) | item blobs (UTF-8 JSON each).
 */
import { AppError } from '../lib/errors.js';
import { isPlistDict, type PlistDict, type PlistValue } from '../formats/plist-value.js';
import type { PkgInfo } from './pkginfo.js';
import { decodeItemJson, encodeItemJson } from './catalog-item-json.js';
import { trimVersionString } from './version.js';

/** A catalog opened from its index; items are parsed on first use and then kept. */
export interface CatalogIndex {
  /** Number of usable items (those with a string name and version). */
  readonly size: number;
  /** Item names (NFC), in order of first appearance. */
  names(): readonly string[];
  /** Trimmed version → item ordinals in file order; versions in order of first appearance. */
  versionsOf(name: string): ReadonlyMap<string, readonly number[]>;
  /** The item at `ordinal` (0-based among usable items), parsed once; treat it as read-only. */
  item(ordinal: number): PkgInfo;
  /** The name of the item at `ordinal`, without parsing the item. */
  nameOf(ordinal: number): string;
  /** Every item called `name`, in file order. */
  itemsNamed(name: string): PkgInfo[];
  /** Ordinals of items whose `update_for` lists exactly `target` (`Foo`, `Foo-1.0`, `Foo--1.0`). */
  updatesFor(target: string): readonly number[];
  /** Ordinals of items whose `requires` array lists exactly `target`. */
  itemsRequiring(target: string): readonly number[];
  /** Names of items marked `autoremove`, in order of first appearance. */
  autoremoveNames(): readonly string[];
  /** Ordinals of items with a receipt for `pkgid`, in file order. */
  itemsWithReceipt(pkgid: string): readonly number[];
  /** Every (packageid, receipt version) an item declares, as [ordinal, version] pairs by pkgid. */
  receiptEntries(): ReadonlyMap<string, readonly (readonly [number, string])[]>;
}

const MAGIC = [0x41, 0x42, 0x43, 0x49]; // "ABCI"
const FORMAT = 1;

/** What the header holds. Pair lists, not objects: JSON objects reorder integer-like keys. */
interface Header {
  format: number;
  /** Per usable item: [name, byte offset, byte length] into the blob area. */
  items: [string, number, number][];
  named: [string, [string, number[]][]][];
  updateFor: [string, number[]][];
  requires: [string, number[]][];
  autoremove: string[];
  receipts: [string, [number, string][]][];
}

/**
 * Serialises a parsed catalog (the plist array). Items without a string `name` and `version` are
 * left out, as Munki's client does ("Bad pkginfo"); names are NFC-normalised like Munki's lookups.
 */
export function buildCatalogIndex(items: readonly PlistValue[]): Uint8Array {
  const encoder = new TextEncoder();
  const header: Header = {
    format: FORMAT,
    items: [],
    named: [],
    updateFor: [],
    requires: [],
    autoremove: [],
    receipts: [],
  };
  const named = new Map<string, Map<string, number[]>>();
  const updateFor = new Map<string, number[]>();
  const requires = new Map<string, number[]>();
  const autoremove = new Set<string>();
  const receipts = new Map<string, [number, string][]>();
  const blobs: Uint8Array[] = [];
  let offset = 0;

  for (const raw of items) {
    if (!isPlistDict(raw)) continue;
    const rawName = raw['name'];
    const version = raw['version'];
    if (typeof rawName !== 'string' || typeof version !== 'string') continue;
    const ordinal = header.items.length;
    const name = rawName.normalize('NFC');
    const blob = encoder.encode(encodeItemJson(raw));
    header.items.push([name, offset, blob.length]);
    blobs.push(blob);
    offset += blob.length;

    pushTo(
      getOrCreate(named, name, () => new Map()),
      trimVersionString(version),
      ordinal,
    );
    // Munki wraps a single-string update_for (or requires) into an array when it reads one.
    for (const target of stringList(raw['update_for'])) pushTo(updateFor, target, ordinal);
    // Munki's removal pass only looks at `requires` when it is an array of strings.
    const req = raw['requires'];
    if (Array.isArray(req)) for (const target of stringList(req)) pushTo(requires, target, ordinal);
    if (raw['autoremove'] === true) autoremove.add(name);
    for (const receipt of dictList(raw['receipts'])) {
      const pkgid = receipt['packageid'];
      const rv = receipt['version'];
      if (typeof pkgid === 'string' && typeof rv === 'string') {
        getOrCreate(receipts, pkgid, () => []).push([ordinal, rv]);
      }
    }
  }

  header.named = [...named].map(([name, versions]) => [name, [...versions]]);
  header.updateFor = [...updateFor];
  header.requires = [...requires];
  header.autoremove = [...autoremove];
  header.receipts = [...receipts];

  const headerBytes = encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, headerBytes.length, true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.length;
  }
  return out;
}

/**
 * Opens bytes made by {@link buildCatalogIndex}, parsing only the header. Throws AppError
 * `ARCHIVE_INVALID` when the bytes are not an index or are truncated (the caller rebuilds it).
 */
export function openCatalogIndex(bytes: Uint8Array): CatalogIndex {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw invalid('not a catalog index (bad magic)');
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    4,
    true,
  );
  if (8 + headerLength > bytes.length) throw invalid('truncated header');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let header: Header;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(8, 8 + headerLength))) as Header;
  } catch (e) {
    throw invalid('header is not valid JSON', e);
  }
  if (header.format !== FORMAT || !Array.isArray(header.items)) {
    throw invalid(`unsupported format ${String(header.format)}`);
  }
  const blobStart = 8 + headerLength;
  const last = header.items[header.items.length - 1];
  if (last && blobStart + last[1] + last[2] > bytes.length) throw invalid('truncated items');
  return new OpenedIndex(bytes, blobStart, header, (b) => decoder.decode(b));
}

class OpenedIndex implements CatalogIndex {
  readonly size: number;
  private readonly named: Map<string, Map<string, readonly number[]>>;
  private readonly updateFor: Map<string, readonly number[]>;
  private readonly requires: Map<string, readonly number[]>;
  private readonly receipts: Map<string, readonly (readonly [number, string])[]>;
  private readonly cache = new Map<number, PkgInfo>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly blobStart: number,
    private readonly header: Header,
    private readonly decode: (bytes: Uint8Array) => string,
  ) {
    this.size = header.items.length;
    this.named = new Map(header.named.map(([name, versions]) => [name, new Map(versions)]));
    this.updateFor = new Map(header.updateFor);
    this.requires = new Map(header.requires);
    this.receipts = new Map(header.receipts);
  }

  names(): readonly string[] {
    return [...this.named.keys()];
  }

  versionsOf(name: string): ReadonlyMap<string, readonly number[]> {
    return this.named.get(name.normalize('NFC')) ?? EMPTY_MAP;
  }

  item(ordinal: number): PkgInfo {
    const cached = this.cache.get(ordinal);
    if (cached) return cached;
    const entry = this.header.items[ordinal];
    if (!entry) throw new RangeError(`catalog index has no item ${ordinal}`);
    const start = this.blobStart + entry[1];
    let value: PlistValue;
    try {
      value = decodeItemJson(this.decode(this.bytes.subarray(start, start + entry[2])));
    } catch (e) {
      throw invalid(`item ${ordinal} (${entry[0]}) is corrupt`, e);
    }
    if (!isPlistDict(value)) throw invalid(`item ${ordinal} (${entry[0]}) is not a dictionary`);
    const item = value as PkgInfo;
    this.cache.set(ordinal, item);
    return item;
  }

  nameOf(ordinal: number): string {
    const entry = this.header.items[ordinal];
    if (!entry) throw new RangeError(`catalog index has no item ${ordinal}`);
    return entry[0];
  }

  itemsNamed(name: string): PkgInfo[] {
    const ordinals = [...this.versionsOf(name).values()].flat().sort((a, b) => a - b);
    return ordinals.map((o) => this.item(o));
  }

  updatesFor(target: string): readonly number[] {
    return this.updateFor.get(target) ?? [];
  }

  itemsRequiring(target: string): readonly number[] {
    return this.requires.get(target) ?? [];
  }

  autoremoveNames(): readonly string[] {
    return this.header.autoremove;
  }

  itemsWithReceipt(pkgid: string): readonly number[] {
    return (this.receipts.get(pkgid) ?? []).map(([ordinal]) => ordinal);
  }

  receiptEntries(): ReadonlyMap<string, readonly (readonly [number, string])[]> {
    return this.receipts;
  }
}

const EMPTY_MAP: ReadonlyMap<string, readonly number[]> = new Map();

function invalid(message: string, cause?: unknown): AppError {
  return new AppError('ARCHIVE_INVALID', `catalog index: ${message}`, {
    hint: 'delete the cached index; it is rebuilt from the catalog',
    cause,
  });
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}

function pushTo(map: Map<string, number[]>, key: string, ordinal: number): void {
  const list = getOrCreate(map, key, () => []);
  // an item listing the same target twice is still one updater
  if (list[list.length - 1] !== ordinal) list.push(ordinal);
}

/** Munki casts to `[String]`: one non-string element and the whole array counts as absent. */
function stringList(value: PlistValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : [];
}

function dictList(value: PlistValue | undefined): PlistDict[] {
  return Array.isArray(value) && value.every(isPlistDict) ? (value as PlistDict[]) : [];
}
