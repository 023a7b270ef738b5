/**
 * A property list being edited: its value and its text change together, one splice per edit, so
 * the file keeps its formatting. Before anything is written the text is parsed again and must
 * equal the intended value; when it cannot be kept (a binary plist, a layout the splicer does
 * not know) the whole plist is written afresh in Apple's layout and `isFormattingKept` says so.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  buildPlist,
  isPlistDict,
  parsePlist,
  setDictKey,
  type PlistValue,
} from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';
import { locatePlistText, type PlistTextNode } from './plist-text-tree.js';
import {
  childSpans,
  entryLines,
  insertLines,
  layoutOf,
  removeSpan,
  valueLines,
} from './plist-text-splice.js';

/** Keys and indexes from the root to a value. */
export type PlistPath = readonly (string | number)[];

/** What to write back. */
export interface SerializedPlist {
  text: string;
  /** False when the file had to be rewritten whole (its formatting was not kept). */
  isFormattingKept: boolean;
}

/** A plist value and its text, edited in step. */
export class EditablePlist {
  /** The value after the edits so far. */
  readonly value: PlistValue;
  private text: string | undefined;

  private constructor(value: PlistValue, text: string | undefined) {
    this.value = value;
    this.text = text;
  }

  /** Opens plist bytes; `source` names the file in errors (PLIST_INVALID). */
  static open(bytes: Uint8Array, source: string): EditablePlist {
    const value = parsePlist(bytes, { source });
    let text: string | undefined;
    if (Buffer.from(bytes.subarray(0, 6)).toString('latin1') !== 'bplist') {
      const decoded = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      // Only UTF-8 text is spliced; anything else is rewritten whole.
      text = /^\uFEFF?<\?xml[^>]*encoding=["'](?!utf-8["'])/i.test(decoded) ? undefined : decoded;
    }
    return new EditablePlist(value, text);
  }

  /** Starts from a value that has no file yet. */
  static fromValue(value: PlistValue): EditablePlist {
    return new EditablePlist(value, buildPlist(value));
  }

  /** The value at `path` (undefined when absent). */
  get(path: PlistPath): PlistValue | undefined {
    let at: PlistValue | undefined = this.value;
    for (const step of path) {
      if (typeof step === 'number') at = Array.isArray(at) ? at[step] : undefined;
      else at = isPlistDict(at) && Object.hasOwn(at, step) ? at[step] : undefined;
    }
    return at;
  }

  /** Inserts `item` into the array at `path`, at `index` (default: the end). */
  insertItem(path: PlistPath, item: PlistValue, index?: number): void {
    const list = this.array(path);
    const at = index ?? list.length;
    this.editText((text, node, layout) => {
      const container = arrayAt(node, path);
      const before = childSpans(container)[at];
      return insertLines(text, layout, container, before, valueLines(item));
    });
    list.splice(at, 0, item);
  }

  /** Removes the item at `index` of the array at `path`. */
  removeItem(path: PlistPath, index: number): void {
    const list = this.array(path);
    this.editText((text, node) => {
      const span = childSpans(arrayAt(node, path))[index];
      return span ? removeSpan(text, span) : undefined;
    });
    list.splice(index, 1);
  }

  /** Adds `key` (which must be absent) to the dict at `path`, in key order when keys are sorted. */
  addKey(path: PlistPath, key: string, value: PlistValue): void {
    const dict = this.get(path);
    if (!isPlistDict(dict) || Object.hasOwn(dict, key)) {
      throw new Error(`addKey: no dict at ${path.join('.')} or ${key} already there`);
    }
    const keys = Object.keys(dict);
    const isSorted = keys.every((k, i) => i === 0 || keys[i - 1]! < k);
    const at = isSorted ? keys.findIndex((k) => k > key) : -1;
    this.editText((text, node, layout) => {
      const container = nodeAt(node, path);
      if (container?.kind !== 'dict') return undefined;
      const before = at >= 0 ? childSpans(container)[at] : undefined;
      return insertLines(text, layout, container, before, entryLines(key, value));
    });
    const entries = Object.entries(dict);
    for (const k of keys) delete dict[k];
    entries.splice(at >= 0 ? at : entries.length, 0, [key, value]);
    for (const [k, v] of entries) setDictKey(dict, k, v);
  }

  /** The text to write: the edited text when it reads back as the value, else a fresh plist. */
  serialize(): SerializedPlist {
    if (this.text !== undefined) {
      let reread: PlistValue | undefined;
      try {
        reread = parsePlist(this.text);
      } catch {
        reread = undefined;
      }
      if (isDeepStrictEqual(reread, this.value)) return { text: this.text, isFormattingKept: true };
    }
    return { text: buildPlist(this.value), isFormattingKept: false };
  }

  private array(path: PlistPath): PlistValue[] {
    const list = this.get(path);
    if (!Array.isArray(list)) {
      throw new AppError('SCHEMA_INVALID', `${path.join('.')} is not an array`);
    }
    return list;
  }

  /** Applies a text edit; once one fails, the text is given up and the value alone is edited. */
  private editText(
    edit: (
      text: string,
      root: PlistTextNode,
      layout: ReturnType<typeof layoutOf>,
    ) => string | undefined,
  ): void {
    if (this.text === undefined) return;
    const root = locatePlistText(this.text);
    try {
      this.text = root ? edit(this.text, root, layoutOf(this.text, root)) : undefined;
    } catch (e) {
      if (!(e instanceof TextLost)) throw e;
      this.text = undefined;
    }
  }
}

/** The located node at `path`, if the text has one. */
function nodeAt(root: PlistTextNode, path: PlistPath): PlistTextNode | undefined {
  let at: PlistTextNode | undefined = root;
  for (const step of path) {
    if (at?.kind === 'array' && typeof step === 'number') at = at.items[step];
    else if (at?.kind === 'dict' && typeof step === 'string') {
      // Munki reads the last of duplicate keys, as plist parsers do.
      at = [...at.entries].reverse().find((e) => e.key === step)?.value;
    } else return undefined;
  }
  return at;
}

function arrayAt(root: PlistTextNode, path: PlistPath): Extract<PlistTextNode, { kind: 'array' }> {
  const node = nodeAt(root, path);
  if (node?.kind !== 'array') throw new TextLost();
  return node;
}

/** The text has no node where the value has one: the edit falls back to a rewrite. */
class TextLost extends Error {}
