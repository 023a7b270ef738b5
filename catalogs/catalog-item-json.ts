/**
 * Plist values as JSON, losslessly, for the catalog index. JSON has no dates, data, big integers
 * or a real/integer distinction, so those travel as one-key wrapper objects:
 * `{"$date": ISO}`, `{"$data": base64}`, `{"$int": "digits"}`, `{"$real": n | "NaN" | "-0" …}`
 * (and `{"$num": "-0"}` for the plain numbers JSON cannot spell).
 * A dictionary whose only key happens to look like a wrapper is itself wrapped as `{"$dict": …}`,
 * so no plist value can be mistaken for another on the way back.
 */
import { PlistReal, setDictKey, type PlistDict, type PlistValue } from '../formats/plist-value.js';

type Json = string | number | boolean | Json[] | { [key: string]: Json };

const WRAPPERS = new Set(['$date', '$data', '$int', '$real', '$num', '$dict']);

/** The JSON text for a plist value; {@link decodeItemJson} gives back an equal value. */
export function encodeItemJson(value: PlistValue): string {
  return JSON.stringify(toJson(value));
}

/** The plist value for JSON text made by {@link encodeItemJson}. */
export function decodeItemJson(text: string): PlistValue {
  return fromJson(JSON.parse(text) as Json);
}

function toJson(value: PlistValue): Json {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // JSON cannot carry -0, NaN or ±Infinity; no <integer> holds them, but the model allows a
    // plain number to, so keep them exactly rather than letting JSON turn them into 0 or null.
    return Number.isFinite(value) && !Object.is(value, -0) ? value : { $num: specialReal(value) };
  }
  if (typeof value === 'bigint') return { $int: value.toString() };
  if (value instanceof Date) {
    // toISOString throws on an invalid date; "Invalid Date" parses back to one.
    return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() };
  }
  if (value instanceof Uint8Array) return { $data: Buffer.from(value).toString('base64') };
  if (value instanceof PlistReal) {
    const n = value.value;
    return { $real: Number.isFinite(n) && !Object.is(n, -0) ? n : specialReal(n) };
  }
  if (Array.isArray(value)) return value.map(toJson);
  const out: { [key: string]: Json } = {};
  const keys = Object.keys(value);
  for (const key of keys) {
    const v = value[key];
    if (v !== undefined) defineJsonKey(out, key, toJson(v));
  }
  const only = keys.length === 1 ? keys[0] : undefined;
  return only !== undefined && WRAPPERS.has(only) ? { $dict: out } : out;
}

function fromJson(json: Json): PlistValue {
  if (typeof json !== 'object') return json;
  if (Array.isArray(json)) return json.map(fromJson);
  const keys = Object.keys(json);
  const only = keys.length === 1 ? keys[0] : undefined;
  if (only !== undefined && WRAPPERS.has(only)) {
    const inner = json[only];
    switch (only) {
      case '$date':
        return new Date(String(inner));
      case '$data':
        return new Uint8Array(Buffer.from(String(inner), 'base64'));
      case '$int':
        return BigInt(String(inner));
      case '$real':
        return new PlistReal(typeof inner === 'number' ? inner : Number(String(inner)));
      case '$num':
        return Number(String(inner));
      default:
        return reviveDict(inner as { [key: string]: Json });
    }
  }
  return reviveDict(json);
}

function reviveDict(json: { [key: string]: Json }): PlistDict {
  const dict: PlistDict = {};
  for (const key of Object.keys(json)) {
    const v = json[key];
    if (v !== undefined) setDictKey(dict, key, fromJson(v));
  }
  return dict;
}

/** `Number("-0")` is -0 and `Number("NaN")` NaN, so these strings decode with `Number`. */
function specialReal(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/** Like setDictKey, for the JSON side: a `__proto__` key must stay an own property. */
function defineJsonKey(obj: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
