/**
 * The in-memory model of a property list.
 *
 * - `<integer>` → `number` when it fits in a double exactly, else `bigint` (never rounded).
 * - `<real>` → `PlistReal`, so `<real>1</real>` stays a real when written back.
 * - `<date>` → `Date`; `<data>` → `Uint8Array`; `<dict>` → `PlistDict` (an ordinary object whose
 *   key order is the file's; a `__proto__` key is an own data property, never the prototype).
 * A plain JS `number` given to the builder is written as `<integer>` if integral, else `<real>`.
 */

/** A `<real>` value, kept distinct from integers so it round-trips. */
export class PlistReal {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

/** Any value a property list can hold. */
export type PlistValue =
  string | number | bigint | boolean | Date | Uint8Array | PlistReal | PlistValue[] | PlistDict;

/** A `<dict>`: string keys in file order. */
export interface PlistDict {
  [key: string]: PlistValue;
}

/** True for a `<dict>` value (not an array, date, data or real). */
export function isPlistDict(v: unknown): v is PlistDict {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof PlistReal)
  );
}

/** Sets `key` on `dict` as an own data property, safe for `__proto__`, `constructor` and friends. */
export function setDictKey(dict: PlistDict, key: string, value: PlistValue): void {
  if (key === '__proto__') {
    Object.defineProperty(dict, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    dict[key] = value;
  }
}
