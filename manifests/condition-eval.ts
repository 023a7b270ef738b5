/**
 * Evaluates parsed conditions against a Mac's facts the way Munki does: Munki hands the text to
 * `NSPredicate(format:)` and `evaluate(with: facts)`, and any exception (a type mismatch such as
 * comparing a string with a number) is caught and counts as false. So here: an evaluation error
 * anywhere makes the whole condition false, never a throw.
 *
 * Semantic rules (Apple's behaviour per its "Predicate Format String Syntax" and
 * NSComparisonPredicate docs unless marked [inf] = inferred, not verified on macOS):
 * - Undefined keys compare false. A key path naming nothing (a key absent from the facts or from a
 *   dictionary on the way) makes its comparison false for EVERY operator, `!=` included, and with
 *   ANY/ALL/NONE too. Apple would answer `nil != "x"` with true; Munki's documented rule and the
 *   project's choice is false, so a condition on a fact an admin script did not write never fires.
 *   The one exception is an explicit NIL test, which follows Apple: `key == nil` is true and
 *   `key != nil` false when the key is absent.
 * - No coercion between types. `==` on different types is false (and `!=` true), as NSObject
 *   `isEqual:` is; ordering (`<`, BETWEEN, …) or string operators (BEGINSWITH, LIKE, …) across
 *   types raise in Apple's implementation, so the whole condition is false. Booleans are NSNumbers:
 *   `TRUE == 1`.
 * - Strings order by UTF-16 code unit (NSString `compare:` without options; "10.9" > "10.10").
 *   Numbers order numerically, dates as instants.
 * - A key path through an array maps over it (`applications.path` is the array of paths; an element
 *   without the key gives nil). `array CONTAINS x` and `x IN array` test membership
 *   (NSComparisonPredicate docs); `string CONTAINS s` / `s IN string` test substrings.
 * - ANY/SOME is true if some element matches, ALL if every one does (true for an empty array)
 *   and NONE if none does; the left side must be an array. [inf for the empty-array cases]
 * - AND and OR stop at the first operand that decides them, left to right; an error in an operand
 *   that is never reached does not count. [inf]
 * - Inside SUBQUERY, plain key paths and SELF refer to the current element, like `$x`. [inf]
 */

import {
  castLiteral,
  compileLikePattern,
  compileMatchesPattern,
  foldString,
  parseCondition,
} from './condition-parse.js';
import type {
  ComparisonPredicate,
  ConditionAst,
  ConditionExpression,
  LiteralValue,
  StringOptions,
} from './condition-parse.js';

/** A fact value as the client collects it (plist-shaped: no null). */
export type FactValue =
  string | number | boolean | Date | readonly FactValue[] | { readonly [key: string]: FactValue };

/** The facts a condition is evaluated against: hostname, os_vers_major, applications, date, … */
export type Facts = Readonly<Record<string, FactValue>>;

/** Options for evaluation; `onError` hears why a condition counted as false because it raised. */
export interface EvaluateOptions {
  readonly onError?: (reason: string) => void;
}

/** A value during evaluation: `undefined` is "the key path names nothing", `null` is nil. */
type Value = FactValue | null | undefined | readonly Value[];

type Dict = { readonly [key: string]: FactValue };

interface Scope {
  readonly self: Value;
  readonly variables: ReadonlyMap<string, Value>;
}

/** What NSPredicate would raise; caught at the top and turned into false. */
class EvaluationError extends Error {}

/** Parsed conditions by text: the same few conditions are evaluated for every item on every run. */
const cache = new Map<string, ConditionAst>();
const CACHE_LIMIT = 500;

/**
 * Parses (cached by text) and evaluates a condition against facts. Throws ConditionError
 * (CONDITION_INVALID) only when the text does not parse; callers wanting Munki's behaviour treat
 * that as false and warn. Evaluation errors never throw: they make the result false.
 */
export function evaluateCondition(
  text: string,
  facts: Facts,
  options: EvaluateOptions = {},
): boolean {
  let ast = cache.get(text);
  if (ast === undefined) {
    ast = parseCondition(text);
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(text, ast);
  }
  return evaluateAst(ast, facts, options);
}

/** Evaluates a parsed condition against facts; never throws (an evaluation error gives false). */
export function evaluateAst(
  ast: ConditionAst,
  facts: Facts,
  options: EvaluateOptions = {},
): boolean {
  try {
    return evaluatePredicate(ast, { self: facts, variables: new Map() });
  } catch (e) {
    options.onError?.(e instanceof Error ? e.message : String(e));
    return false;
  }
}

function evaluatePredicate(ast: ConditionAst, scope: Scope): boolean {
  switch (ast.kind) {
    case 'constant':
      return ast.value;
    case 'not':
      return !evaluatePredicate(ast.operand, scope);
    case 'and':
      return ast.operands.every((operand) => evaluatePredicate(operand, scope));
    case 'or':
      return ast.operands.some((operand) => evaluatePredicate(operand, scope));
    case 'comparison':
      return evaluateComparison(ast, scope);
  }
}

function evaluateComparison(node: ComparisonPredicate, scope: Scope): boolean {
  const left = evaluateExpression(node.left, scope);
  const right = evaluateExpression(node.right, scope);
  if (node.quantifier === null) return compare(node, left, right);
  // Undefined keys compare false, whatever the qualifier (even NONE and ALL over nothing).
  if (left === undefined || right === undefined) return false;
  if (!Array.isArray(left)) {
    // Apple: "The left hand side for an ALL or ANY operator must be either an NSArray or an NSSet."
    throw new EvaluationError(
      `${node.quantifier} needs an array on its left, not ${describeType(left)}`,
    );
  }
  const elements: readonly Value[] = left;
  switch (node.quantifier) {
    case 'ANY':
      return elements.some((element) => compare(node, element, right));
    case 'ALL':
      return elements.every((element) => compare(node, element, right));
    case 'NONE':
      return !elements.some((element) => compare(node, element, right));
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

function evaluateExpression(expression: ConditionExpression, scope: Scope): Value {
  switch (expression.kind) {
    case 'literal':
      return expression.value;
    case 'aggregate':
      return expression.items.map((item) => nilIfUndefined(evaluateExpression(item, scope)));
    case 'keyPath': {
      const base =
        expression.variable === null ? scope.self : scope.variables.get(expression.variable);
      return applyPath(base, expression.path);
    }
    case 'subquery': {
      const collection = evaluateExpression(expression.collection, scope);
      if (collection === undefined) return undefined;
      if (!Array.isArray(collection)) {
        throw new EvaluationError(`SUBQUERY needs an array, not ${describeType(collection)}`);
      }
      const items: readonly Value[] = collection;
      const matches = items.filter((element) =>
        evaluatePredicate(expression.predicate, {
          self: element,
          variables: new Map(scope.variables).set(expression.variable, element),
        }),
      );
      return applyPath(matches, expression.path);
    }
    case 'cast': {
      const value = evaluateExpression(expression.operand, scope);
      if (value === undefined) return undefined;
      if (!isScalar(value)) {
        throw new EvaluationError(`cannot CAST ${describeType(value)} to ${expression.type}`);
      }
      try {
        return castLiteral(value, expression.type);
      } catch (e) {
        throw new EvaluationError(e instanceof Error ? e.message : String(e));
      }
    }
  }
}

/** Key-value coding: each component reads a key; `@count` etc. apply to the array reached so far. */
function applyPath(base: Value, path: readonly string[]): Value {
  let value = base;
  for (let i = 0; i < path.length; i++) {
    const component = path[i] ?? '';
    if (component.startsWith('@'))
      return applyCollectionOperator(value, component, path.slice(i + 1));
    value = valueForKey(value, component);
  }
  return value;
}

function valueForKey(value: Value, key: string): Value {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value)) {
    // NSArray valueForKey: maps over the elements, with NSNull for elements lacking the key.
    const elements: readonly Value[] = value;
    return elements.map((element) => nilIfUndefined(valueForKey(element, key)));
  }
  if (isDict(value)) return Object.hasOwn(value, key) ? value[key] : undefined;
  // NSString, NSNumber and NSDate are not key-value coding compliant for arbitrary keys: Apple raises.
  throw new EvaluationError(`cannot read key '${key}' of ${describeType(value)}`);
}

function applyCollectionOperator(value: Value, operator: string, rest: readonly string[]): Value {
  if (value === undefined || value === null) return value;
  if (operator === '@count') {
    // KVC: "@count … the right key path, if specified, is ignored".
    if (Array.isArray(value)) return value.length;
    if (isDict(value)) return Object.keys(value).length;
    throw new EvaluationError(`@count needs an array, not ${describeType(value)}`);
  }
  if (!Array.isArray(value)) {
    throw new EvaluationError(`${operator} needs an array, not ${describeType(value)}`);
  }
  const elements: readonly Value[] = value;
  const operands = elements
    .map((element) => (rest.length === 0 ? element : applyPath(element, rest)))
    .filter((operand) => operand !== null && operand !== undefined);
  if (operator === '@min' || operator === '@max') {
    // KVC's @min/@max use compare:, skip nils and give nil for an empty array.
    let best: Value = null;
    for (const operand of operands) {
      if (best === null) best = operand;
      else {
        const order = compareOrder(operand, best, NO_OPTIONS);
        if (operator === '@min' ? order < 0 : order > 0) best = operand;
      }
    }
    return best;
  }
  const numbers = operands.map((operand) => {
    const n = asNumber(operand);
    if (n === null)
      throw new EvaluationError(`${operator} needs numbers, not ${describeType(operand)}`);
    return n;
  });
  const sum = numbers.reduce((total, n) => total + n, 0);
  // @avg of an empty array: 0, like @sum. [inf]
  return operator === '@sum' || numbers.length === 0 ? sum : sum / numbers.length;
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

const NO_OPTIONS: StringOptions = { caseInsensitive: false, diacriticInsensitive: false };

function compare(node: ComparisonPredicate, left: Value, right: Value): boolean {
  const { operator, options } = node;
  if (left === undefined || right === undefined) {
    // Undefined keys compare false, except the explicit nil test `key == nil` / `key != nil`.
    const other = left === undefined ? right : left;
    if (other === null && (operator === '==' || operator === '!=')) return operator === '==';
    return false;
  }
  switch (operator) {
    case '==':
      return isEqual(left, right, options);
    case '!=':
      return !isEqual(left, right, options);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (left === null || right === null) return false;
      const order = compareOrder(left, right, options);
      if (operator === '<') return order < 0;
      if (operator === '<=') return order <= 0;
      if (operator === '>') return order > 0;
      return order >= 0;
    }
    case 'BEGINSWITH':
    case 'ENDSWITH': {
      const strings = stringOperands(operator, left, right);
      if (strings === null) return false;
      const [subject, affix] = [foldString(strings[0], options), foldString(strings[1], options)];
      return operator === 'BEGINSWITH' ? subject.startsWith(affix) : subject.endsWith(affix);
    }
    case 'CONTAINS':
      return contains(left, right, options);
    case 'IN':
      return contains(right, left, options);
    case 'LIKE':
    case 'MATCHES': {
      const strings = stringOperands(operator, left, right);
      if (strings === null) return false;
      return matchPattern(node, strings[0], strings[1]);
    }
    case 'BETWEEN': {
      if (!Array.isArray(right) || right.length !== 2) {
        throw new EvaluationError('BETWEEN needs a list of two bounds');
      }
      const bounds: readonly Value[] = right;
      const [low, high] = [bounds[0], bounds[1]];
      if (left === null || low === null || high === null) return false;
      if (low === undefined || high === undefined) return false;
      return compareOrder(left, low, options) >= 0 && compareOrder(left, high, options) <= 0;
    }
  }
}

/** `container CONTAINS item`: membership for arrays (values for dictionaries), substring for strings. */
function contains(container: Value, item: Value, options: StringOptions): boolean {
  if (container === null || container === undefined || item === undefined) return false;
  if (Array.isArray(container)) {
    const elements: readonly Value[] = container;
    return elements.some((element) => isEqual(element, item, options));
  }
  if (isDict(container)) {
    // IN on an NSDictionary looks at its values (Apple's docs for IN).
    return Object.values(container).some((element) => isEqual(element, item, options));
  }
  if (typeof container === 'string') {
    if (item === null) return false;
    if (typeof item !== 'string') {
      throw new EvaluationError(`cannot look for ${describeType(item)} inside a string`);
    }
    return foldString(container, options).includes(foldString(item, options));
  }
  throw new EvaluationError(
    `CONTAINS/IN needs an array or a string, not ${describeType(container)}`,
  );
}

/** Both sides of a string-only operator, or null when either is nil (which makes it false). */
function stringOperands(operator: string, left: Value, right: Value): [string, string] | null {
  if (left === null || right === null) return null;
  if (typeof left === 'string' && typeof right === 'string') return [left, right];
  // Apple raises: "Can't do a substring operation with something that isn't a string".
  throw new EvaluationError(
    `${operator} needs strings, not ${describeType(left)} and ${describeType(right)}`,
  );
}

function matchPattern(node: ComparisonPredicate, subject: string, pattern: string): boolean {
  const { operator, options } = node;
  let regex = node.pattern;
  if (regex === null) {
    try {
      regex =
        operator === 'LIKE'
          ? compileLikePattern(pattern, options)
          : compileMatchesPattern(pattern, options);
    } catch (e) {
      throw new EvaluationError(
        `${operator} pattern: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  // LIKE folds both sides itself; MATCHES leaves case to the regex's `i` flag.
  const folded =
    operator === 'LIKE'
      ? foldString(subject, options)
      : foldString(subject, {
          caseInsensitive: false,
          diacriticInsensitive: options.diacriticInsensitive,
        });
  return regex.test(folded);
}

/** NSObject isEqual: semantics: same type and value; numbers and booleans are both NSNumber. */
function isEqual(a: Value, b: Value, options: StringOptions): boolean {
  if (a === null || a === undefined || b === null || b === undefined) {
    return nilIfUndefined(a) === nilIfUndefined(b);
  }
  if (typeof a === 'string' && typeof b === 'string') {
    return foldString(a, options) === foldString(b, options);
  }
  const [na, nb] = [asNumber(a), asNumber(b)];
  if (na !== null && nb !== null) return na === nb;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) {
    const [xs, ys]: [readonly Value[], readonly Value[]] = [a, b];
    return xs.length === ys.length && xs.every((x, i) => isEqual(x, ys[i], options));
  }
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && isEqual(a[key], b[key], options))
    );
  }
  return false;
}

/** `compare:` for two non-nil values of one kind; mixed kinds raise as they do in Apple's code. */
function compareOrder(a: Value, b: Value, options: StringOptions): number {
  const [na, nb] = [asNumber(a), asNumber(b)];
  if (na !== null && nb !== null) return Math.sign(na - nb);
  if (typeof a === 'string' && typeof b === 'string') {
    const [fa, fb] = [foldString(a, options), foldString(b, options)];
    return fa < fb ? -1 : fa > fb ? 1 : 0;
  }
  if (a instanceof Date && b instanceof Date) return Math.sign(a.getTime() - b.getTime());
  throw new EvaluationError(`cannot order ${describeType(a)} against ${describeType(b)}`);
}

// ---------------------------------------------------------------------------------------------
// Value helpers
// ---------------------------------------------------------------------------------------------

function isDict(value: Value): value is Dict {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

function isScalar(value: Value): value is LiteralValue {
  return value === null || !(Array.isArray(value) || isDict(value));
}

function asNumber(value: Value): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

function nilIfUndefined(value: Value): Value {
  return value === undefined ? null : value;
}

function describeType(value: Value): string {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (isDict(value)) return 'a dictionary';
  if (typeof value === 'string') return `the string "${value}"`;
  if (typeof value === 'boolean') return `the boolean ${value ? 'TRUE' : 'FALSE'}`;
  return `the number ${String(value)}`;
}
