/**
 * Shared ajv plumbing for the pkginfo and manifest schemas.
 *
 * Plist values are not JSON: dates are `Date`, data is `Uint8Array`, reals are `PlistReal`, big
 * integers are `bigint`. JSON Schema's `type` cannot tell these apart (a Date is an "object", a
 * bigint is no JSON type at all), so our schemas type every value with one custom keyword,
 * `plistType` (a type name or a list of them, named as in a plist: string, integer, real, boolean,
 * date, data, array, dict), and never use `type`. A sibling `plistTolerated` keyword maps a wrong
 * type that Munki still accepts (or ignores harmlessly) to an explanation, which turns that
 * mismatch into a warning instead of an error; `plistWarnIfMissing` does the same for a key whose
 * absence Munki survives.
 */

import { createRequire } from 'node:module';
import type {
  Ajv2020,
  AnySchemaObject,
  ErrorObject,
  FuncKeywordDefinition,
  SchemaObject,
} from 'ajv/dist/2020.js';
// Not re-exported by the 2020 entry point; a type-only import, so nothing loads at run time.
import type { DataValidateFunction } from 'ajv/dist/types/index.js';

import { PlistReal, isPlistDict } from '../formats/plist-value.js';

/** One finding from a schema check, with a path like `installs[0].path` ('' = the whole value). */
export interface SchemaIssue {
  path: string;
  /** Admin-readable, e.g. "must be a string (found integer)". */
  message: string;
  /** `error`: Munki would ignore or misread the value. `warning`: tolerated, but not as written. */
  severity: 'error' | 'warning';
}

/** The value types a plist can hold, as the `plistType` keyword names them. */
export type PlistTypeName =
  'string' | 'integer' | 'real' | 'boolean' | 'date' | 'data' | 'array' | 'dict';

/** What a value is, in plist terms; `null`/`undefined`/`other` for values no plist can hold. */
export type FoundTypeName = PlistTypeName | 'null' | 'undefined' | 'other';

/** Names a value's plist type; integral JS numbers count as integers, others as reals. */
export function plistTypeOf(value: unknown): FoundTypeName {
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'integer';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'real';
    case 'undefined':
      return 'undefined';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'array';
      if (value instanceof Date) return 'date';
      if (value instanceof Uint8Array) return 'data';
      if (value instanceof PlistReal) return 'real';
      return isPlistDict(value) ? 'dict' : 'other';
    default:
      return 'other';
  }
}

const TYPE_PHRASES: Record<FoundTypeName, string> = {
  string: 'a string',
  integer: 'an integer',
  real: 'a real number',
  boolean: 'a boolean',
  date: 'a date',
  data: 'data',
  array: 'an array',
  dict: 'a dictionary',
  null: 'null',
  undefined: 'undefined',
  other: 'an unsupported value',
};

const FOUND_WORDS: Record<FoundTypeName, string> = {
  string: 'string',
  integer: 'integer',
  real: 'real',
  boolean: 'boolean',
  date: 'date',
  data: 'data',
  array: 'array',
  dict: 'dictionary',
  null: 'null',
  undefined: 'undefined',
  other: 'unsupported value',
};

const PLIST_TYPE_NAMES: ReadonlySet<string> = new Set<PlistTypeName>([
  'string',
  'integer',
  'real',
  'boolean',
  'date',
  'data',
  'array',
  'dict',
]);

function expectedTypes(schema: unknown): PlistTypeName[] {
  const names: unknown[] = Array.isArray(schema) ? schema : [schema];
  return names.map((name) => {
    if (typeof name !== 'string' || !PLIST_TYPE_NAMES.has(name)) {
      // A mistake in our own schema, not in user data.
      throw new Error(`plistType: unknown type ${JSON.stringify(name)}`);
    }
    return name as PlistTypeName;
  });
}

function toleratedTypes(parentSchema: AnySchemaObject): Partial<Record<FoundTypeName, string>> {
  const tolerated: unknown = parentSchema['plistTolerated'];
  if (tolerated === undefined) return {};
  if (!isPlistDict(tolerated)) throw new Error('plistTolerated must map type names to notes');
  const notes: Partial<Record<FoundTypeName, string>> = {};
  for (const [name, note] of Object.entries(tolerated)) {
    if (!PLIST_TYPE_NAMES.has(name) || typeof note !== 'string') {
      throw new Error(`plistTolerated: bad entry ${JSON.stringify(name)}`);
    }
    notes[name as PlistTypeName] = note;
  }
  return notes;
}

/** "must be a string", "must be an array or a string". */
function describeExpected(types: readonly PlistTypeName[]): string {
  const phrases = types.map((t) => TYPE_PHRASES[t]);
  const last = phrases.pop() ?? '';
  return phrases.length === 0 ? last : `${phrases.join(', ')} or ${last}`;
}

const plistTypeKeyword: FuncKeywordDefinition = {
  keyword: 'plistType',
  schemaType: ['string', 'array'],
  errors: true,
  compile(schema: unknown, parentSchema: AnySchemaObject): DataValidateFunction {
    const expected = expectedTypes(schema);
    const tolerated = toleratedTypes(parentSchema);
    const wanted = describeExpected(expected);
    const check: DataValidateFunction = (data: unknown): boolean => {
      const found = plistTypeOf(data);
      if ((expected as readonly string[]).includes(found)) return true;
      const note = tolerated[found];
      check.errors = [
        note === undefined
          ? {
              keyword: 'plistType',
              message: `must be ${wanted} (found ${FOUND_WORDS[found]})`,
              params: { expected, found, severity: 'error' },
            }
          : {
              keyword: 'plistType',
              message: `should be ${wanted} (found ${FOUND_WORDS[found]}): ${note}`,
              params: { expected, found, severity: 'warning' },
            },
      ];
      return false;
    };
    return check;
  },
};

/**
 * `plistWarnIfMissing: { key: note }` on a dict schema: a missing key is a warning (Munki skips the
 * entry and carries on) rather than an error.
 */
const plistWarnIfMissingKeyword: FuncKeywordDefinition = {
  keyword: 'plistWarnIfMissing',
  schemaType: 'object',
  errors: true,
  compile(schema: unknown): DataValidateFunction {
    if (!isPlistDict(schema)) throw new Error('plistWarnIfMissing must map keys to notes');
    const notes = Object.entries(schema).map(([key, note]) => {
      if (typeof note !== 'string') throw new Error(`plistWarnIfMissing: bad note for ${key}`);
      return [key, note] as const;
    });
    const check: DataValidateFunction = (data: unknown): boolean => {
      // A value that is not a dict gets its own plistType finding.
      if (!isPlistDict(data)) return true;
      const errors = notes
        .filter(([key]) => !Object.hasOwn(data, key))
        .map(([key, note]) => ({
          keyword: 'plistWarnIfMissing',
          message: `is missing: ${note}`,
          params: { missingProperty: key, severity: 'warning' },
        }));
      check.errors = errors;
      return errors.length === 0;
    };
    return check;
  },
};

let sharedAjv: Ajv2020 | undefined;

/**
 * The one ajv instance for our plist schemas, built on first use. ajv is loaded only then: it costs
 * ~40 ms at start-up, which tools that only build catalogs (makecatalogs, the client) never need.
 */
function plistAjv(): Ajv2020 {
  const ajv = createRequire(import.meta.url)('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 };
  sharedAjv ??= new ajv.Ajv2020({
    allErrors: true,
    strict: true,
    // strictTypes wants a JSON `type` beside `properties`/`items`; we type with plistType instead.
    strictTypes: false,
    // strictRequired cannot see that an `else: {required: [...]}` key is declared by the parent.
    strictRequired: false,
    keywords: [
      plistTypeKeyword,
      plistWarnIfMissingKeyword,
      { keyword: 'plistTolerated', schemaType: 'object' },
    ],
  });
  return sharedAjv;
}

/**
 * Wraps a schema as `value => issues`, compiling it on first use. Each schema needs a distinct
 * `$id` because they share one ajv instance.
 */
export function createPlistValidator(schema: SchemaObject): (value: unknown) => SchemaIssue[] {
  let validate: ReturnType<Ajv2020['compile']> | undefined;
  return (value: unknown): SchemaIssue[] => {
    validate ??= plistAjv().compile(schema);
    if (validate(value)) return [];
    return issuesFromErrors(validate.errors ?? [], value);
  };
}

/** Turns ajv errors into admin-readable issues, dropping the noise under a wrongly typed value. */
function issuesFromErrors(errors: readonly ErrorObject[], root: unknown): SchemaIssue[] {
  // A value of the wrong type makes every keyword below it meaningless ("type is required" on a
  // string installs item): keep only the type finding for that value.
  const mistyped = errors.filter((e) => e.keyword === 'plistType').map((e) => e.instancePath);
  const isUnderMistyped = (e: ErrorObject): boolean =>
    e.keyword !== 'plistType' &&
    mistyped.some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`));

  const found: { issue: SchemaIssue; order: number[] }[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // An `if` error only says "must match the else schema"; that branch's own errors say why.
    if (error.keyword === 'if' || isUnderMistyped(error)) continue;
    const segments = pointerSegments(error.instancePath);
    // `required` and `plistWarnIfMissing` report the missing key as a param; the issue is about it.
    const missing: unknown = error.params['missingProperty'];
    if (typeof missing === 'string') segments.push(missing);
    const message = error.keyword === 'required' ? 'is required' : (error.message ?? 'is invalid');
    const severity = error.params['severity'] === 'warning' ? 'warning' : 'error';
    const { path, order } = locate(segments, root);
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ issue: { path, message, severity }, order });
  }
  // ajv reports in schema order; admins read files top to bottom, so report in the value's order
  // (missing keys after present ones, alphabetically).
  found.sort(
    (a, b) => compareOrder(a.order, b.order) || compareStrings(a.issue.path, b.issue.path),
  );
  return found.map((f) => f.issue);
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Splits a JSON Pointer ("/installs/0/path") into unescaped segments. */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Renders segments as `installs[0].path`, walking the value so that array indexes and dict keys
 * that look like numbers are told apart; odd keys are quoted (`["Flip Player"]`). Also returns
 * each segment's position in the value (a missing key sorts after every present one).
 */
function locate(segments: readonly string[], root: unknown): { path: string; order: number[] } {
  let path = '';
  const order: number[] = [];
  let node: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(node)) {
      path += `[${segment}]`;
      order.push(Number(segment));
      node = node[Number(segment)];
    } else {
      path += IDENTIFIER.test(segment)
        ? path === ''
          ? segment
          : `.${segment}`
        : `[${JSON.stringify(segment)}]`;
      const keys = isPlistDict(node) ? Object.keys(node) : [];
      const position = keys.indexOf(segment);
      order.push(position === -1 ? Number.MAX_SAFE_INTEGER : position);
      node = isPlistDict(node) && position !== -1 ? node[segment] : undefined;
    }
  }
  return { path, order };
}
