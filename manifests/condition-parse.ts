/**
 * The condition language of `conditional_items` and `installable_condition`: the subset of Apple's
 * NSPredicate format syntax ("Predicate Format String Syntax") that Munki admins write, parsed by a
 * hand-written tokenizer and recursive-descent parser into a typed, immutable AST.
 *
 * Apple's parser is whitespace-insensitive and case-insensitive for keywords; so is this one.
 * Precedence, tightest first: NOT, AND, OR. Anything Apple accepts that Munki conditions never need
 * (format specifiers, FUNCTION, arithmetic, subscripts, assignments) is refused with a clear
 * CONDITION_INVALID error naming the column, rather than being half-supported.
 *
 * Markers: [inf] = Apple's behaviour inferred, not verified against macOS.
 */

import { AppError } from '../lib/errors.js';

// ---------------------------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------------------------

/** A comparison operator, with Apple's spellings folded to one (`=` → `==`, `<>` → `!=`, `=<` → `<=`). */
export type ComparisonOperator =
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'BEGINSWITH'
  | 'ENDSWITH'
  | 'CONTAINS'
  | 'LIKE'
  | 'MATCHES'
  | 'IN'
  | 'BETWEEN';

/** An aggregate qualifier on the left side; `SOME` is parsed as `ANY`. */
export type Quantifier = 'ANY' | 'ALL' | 'NONE';

/** The `[c]`, `[d]`, `[cd]` modifiers: case- and diacritic-insensitive string comparison. */
export interface StringOptions {
  readonly caseInsensitive: boolean;
  readonly diacriticInsensitive: boolean;
}

/** A literal value: strings, numbers, TRUE/YES/FALSE/NO, dates (from a constant CAST) and NIL. */
export type LiteralValue = string | number | boolean | Date | null;

/** The classes CAST converts to. */
export type CastType = 'NSDate' | 'NSNumber' | 'NSString';

/** Key-value-coding collection operators allowed inside a key path. */
export type CollectionOperator = '@count' | '@sum' | '@avg' | '@min' | '@max';

/** A constant: `"10.9"`, `10`, `0x1F`, `TRUE`, `NIL`, or a folded `CAST("…", "NSDate")`. */
export interface LiteralExpression {
  readonly kind: 'literal';
  readonly value: LiteralValue;
}

/** An aggregate literal `{a, b, …}`. */
export interface AggregateExpression {
  readonly kind: 'aggregate';
  readonly items: readonly ConditionExpression[];
}

/**
 * A key path read from the evaluated object (`variable` null: the facts, or inside SUBQUERY the
 * current element) or from a SUBQUERY variable (`$x.name`). An empty path is `SELF` or `$x` itself.
 * Components starting with `@` are collection operators.
 */
export interface KeyPathExpression {
  readonly kind: 'keyPath';
  readonly variable: string | null;
  readonly path: readonly string[];
}

/** `SUBQUERY(collection, $x, predicate)` followed by an optional key path such as `.@count`. */
export interface SubqueryExpression {
  readonly kind: 'subquery';
  readonly collection: ConditionExpression;
  readonly variable: string;
  readonly predicate: ConditionAst;
  readonly path: readonly string[];
}

/** `CAST(value, "NSDate")` whose value is only known when evaluating (constant casts are folded). */
export interface CastExpression {
  readonly kind: 'cast';
  readonly operand: ConditionExpression;
  readonly type: CastType;
}

/** Either side of a comparison. */
export type ConditionExpression =
  LiteralExpression | AggregateExpression | KeyPathExpression | SubqueryExpression | CastExpression;

/** `TRUEPREDICATE` / `FALSEPREDICATE`. */
export interface ConstantPredicate {
  readonly kind: 'constant';
  readonly value: boolean;
}

/** `NOT p` / `!p`. */
export interface NotPredicate {
  readonly kind: 'not';
  readonly operand: ConditionAst;
}

/** A chain `a AND b AND …` or `a OR b OR …`, evaluated left to right with short-circuit. */
export interface CompoundPredicate {
  readonly kind: 'and' | 'or';
  readonly operands: readonly ConditionAst[];
}

/**
 * `[ANY|ALL|NONE] left OP[modifiers] right`. For LIKE and MATCHES with a literal pattern,
 * `pattern` holds the compiled, whole-string-anchored RegExp; `column` is where the comparison starts.
 */
export interface ComparisonPredicate {
  readonly kind: 'comparison';
  readonly quantifier: Quantifier | null;
  readonly left: ConditionExpression;
  readonly operator: ComparisonOperator;
  readonly options: StringOptions;
  readonly right: ConditionExpression;
  readonly pattern: RegExp | null;
  readonly column: number;
}

/** A parsed condition. */
export type ConditionAst =
  ConstantPredicate | NotPredicate | CompoundPredicate | ComparisonPredicate;

/** A condition that does not parse; `column` (1-based, counting line breaks as one character) is where. */
export class ConditionError extends AppError {
  readonly condition: string;
  readonly column: number;

  constructor(reason: string, condition: string, column: number, hint?: string) {
    const shown = excerpt(condition, column);
    super(
      'CONDITION_INVALID',
      `${reason} at column ${column}${shown.trim() === '' ? '' : `: ${shown}`}`,
      hint === undefined ? {} : { hint },
    );
    this.name = 'ConditionError';
    this.condition = condition;
    this.column = column;
  }
}

/** The condition text on one line, cut to a window around `column` when it is long. */
function excerpt(text: string, column: number): string {
  const flat = text.replace(/[\r\n\t]/g, ' ');
  if (flat.length <= 100) return flat;
  const from = Math.max(0, column - 1 - 45);
  const to = Math.min(flat.length, column - 1 + 45);
  return `${from > 0 ? '…' : ''}${flat.slice(from, to)}${to < flat.length ? '…' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

type Token =
  | {
      readonly kind: 'string';
      readonly value: string;
      readonly start: number;
      readonly end: number;
    }
  | {
      readonly kind: 'number';
      readonly value: number;
      readonly start: number;
      readonly end: number;
    }
  | {
      readonly kind: 'word';
      readonly text: string;
      readonly upper: string;
      /** `#name`: never a keyword. */
      readonly escaped: boolean;
      readonly start: number;
      readonly end: number;
    }
  | {
      readonly kind: 'variable';
      readonly name: string;
      readonly start: number;
      readonly end: number;
    }
  | {
      readonly kind: 'collectionOp';
      readonly name: string;
      readonly start: number;
      readonly end: number;
    }
  | { readonly kind: 'symbol'; readonly text: string; readonly start: number; readonly end: number }
  | { readonly kind: 'end'; readonly start: number; readonly end: number };

/** Words Apple's lexer treats as keywords; as key names they need a `#` prefix (`#size`). */
const KEYWORDS: ReadonlySet<string> = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'BEGINSWITH',
  'ENDSWITH',
  'CONTAINS',
  'LIKE',
  'MATCHES',
  'ANY',
  'SOME',
  'ALL',
  'NONE',
  'TRUEPREDICATE',
  'FALSEPREDICATE',
  'TRUE',
  'YES',
  'FALSE',
  'NO',
  'NIL',
  'NULL',
  'SELF',
  'SUBQUERY',
  'CAST',
  'FUNCTION',
  'FIRST',
  'LAST',
  'SIZE',
  'ANYKEY',
]);

const COLLECTION_OPERATORS: ReadonlySet<string> = new Set([
  '@count',
  '@sum',
  '@avg',
  '@min',
  '@max',
]);

/** Operator and punctuation spellings, longest first so `==` wins over `=` and `!=` over `!`. */
const SYMBOLS = [
  '==',
  '=<',
  '=>',
  '!=',
  '<>',
  '<=',
  '>=',
  '&&',
  '||',
  '**',
  ':=',
  '=',
  '<',
  '>',
  '!',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  '.',
  '+',
  '-',
  '*',
  '/',
];

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const fail = (reason: string, index: number, hint?: string): never => {
    throw new ConditionError(reason, text, index + 1, hint);
  };
  const readIdent = (from: number): number => {
    let j = from;
    while (j < text.length && IDENT_PART.test(text.charAt(j))) j++;
    return j;
  };

  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;

    if (ch === '"' || ch === "'") {
      const { value, end } = readString(text, i, fail);
      tokens.push({ kind: 'string', value, start, end });
      i = end;
      continue;
    }

    if (/[0-9]/.test(ch)) {
      const end = readNumberEnd(text, i);
      const raw = text.slice(i, end);
      // A number running straight into more dots or letters is almost always an unquoted
      // version (`os_vers == 10.9.1`) or a mistyped key; Apple rejects it too.
      const junk = /^[.\w]+/.exec(text.slice(end));
      if (junk) {
        const whole = raw + junk[0];
        fail(`malformed number '${whole}'`, start, `quote strings and versions: "${whole}"`);
      }
      tokens.push({ kind: 'number', value: numberValue(raw), start, end });
      i = end;
      continue;
    }

    if (IDENT_START.test(ch)) {
      const end = readIdent(i);
      const word = text.slice(i, end);
      tokens.push({
        kind: 'word',
        text: word,
        upper: word.toUpperCase(),
        escaped: false,
        start,
        end,
      });
      i = end;
      continue;
    }

    if (ch === '#' || ch === '$' || ch === '@') {
      const end = readIdent(i + 1);
      const name = text.slice(i + 1, end);
      if (name === '' || !IDENT_START.test(name.charAt(0))) {
        const what = ch === '#' ? 'key name' : ch === '$' ? 'variable name' : 'collection operator';
        fail(`expected a ${what} after '${ch}'`, start);
      }
      if (ch === '#') {
        tokens.push({
          kind: 'word',
          text: name,
          upper: name.toUpperCase(),
          escaped: true,
          start,
          end,
        });
      } else if (ch === '$') {
        tokens.push({ kind: 'variable', name, start, end });
      } else {
        tokens.push({ kind: 'collectionOp', name: `@${name}`, start, end });
      }
      i = end;
      continue;
    }

    if (ch === '%') {
      fail(
        'format specifiers such as %@ and %K are not supported',
        start,
        'write the value or key name itself',
      );
    }
    if (ch === '?') {
      // Apple: "The question mark (?) character is not a valid parser token."
      fail("unexpected '?'", start);
    }

    const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
    if (symbol !== undefined) {
      tokens.push({ kind: 'symbol', text: symbol, start, end: i + symbol.length });
      i += symbol.length;
      continue;
    }
    if (ch === '&' || ch === '|') {
      fail(`unexpected '${ch}'`, start, ch === '&' ? 'write && or AND' : 'write || or OR');
    }
    fail(`unexpected character '${ch}'`, start);
  }
  tokens.push({ kind: 'end', start: text.length, end: text.length });
  return tokens;
}

/** Reads a quoted string at `i`; Apple's parser takes single or double quotes with C-style escapes. */
function readString(
  text: string,
  i: number,
  fail: (reason: string, index: number, hint?: string) => never,
): { value: string; end: number } {
  const quote = text.charAt(i);
  let value = '';
  let j = i + 1;
  while (j < text.length) {
    const c = text.charAt(j);
    if (c === quote) return { value, end: j + 1 };
    if (c !== '\\') {
      value += c;
      j++;
      continue;
    }
    const e = text.charAt(j + 1);
    switch (e) {
      case '"':
      case "'":
      case '\\':
        value += e;
        j += 2;
        break;
      case 'n':
        value += '\n';
        j += 2;
        break;
      case 't':
        value += '\t';
        j += 2;
        break;
      case 'r':
        value += '\r';
        j += 2;
        break;
      case 'u': {
        const hex = text.slice(j + 2, j + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) fail('\\u must be followed by four hex digits', j);
        value += String.fromCharCode(parseInt(hex, 16));
        j += 6;
        break;
      }
      case '':
        // A backslash right before the end: the string is unterminated (reported below).
        j += 1;
        break;
      default:
        // Unknown escapes keep their backslash, so a regex written with single backslashes
        // (`MATCHES "10\.9"`) reaches the regex engine intact. [inf]
        value += c + e;
        j += 2;
    }
  }
  return fail(`unterminated string`, i, `close it with ${quote}`);
}

function readNumberEnd(text: string, i: number): number {
  const rest = text.slice(i);
  const m =
    /^0[xX][0-9A-Fa-f]+/.exec(rest) ??
    /^0[oO][0-7]+/.exec(rest) ??
    /^0[bB][01]+/.exec(rest) ??
    /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(rest);
  return i + (m ? m[0].length : 1);
}

function numberValue(raw: string): number {
  const prefix = raw.slice(0, 2).toLowerCase();
  if (prefix === '0x') return parseInt(raw.slice(2), 16);
  if (prefix === '0o') return parseInt(raw.slice(2), 8);
  if (prefix === '0b') return parseInt(raw.slice(2), 2);
  return Number(raw);
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

const SYMBOL_OPERATORS: ReadonlyMap<string, ComparisonOperator> = new Map([
  ['==', '=='],
  ['=', '=='],
  ['!=', '!='],
  ['<>', '!='],
  ['<', '<'],
  ['<=', '<='],
  ['=<', '<='],
  ['>', '>'],
  ['>=', '>='],
  ['=>', '>='],
]);

const WORD_OPERATORS: ReadonlyMap<string, ComparisonOperator> = new Map([
  ['BEGINSWITH', 'BEGINSWITH'],
  ['ENDSWITH', 'ENDSWITH'],
  ['CONTAINS', 'CONTAINS'],
  ['LIKE', 'LIKE'],
  ['MATCHES', 'MATCHES'],
  ['IN', 'IN'],
  ['BETWEEN', 'BETWEEN'],
]);

const QUANTIFIERS: ReadonlyMap<string, Quantifier> = new Map([
  ['ANY', 'ANY'],
  ['SOME', 'ANY'],
  ['ALL', 'ALL'],
  ['NONE', 'NONE'],
]);

/** Deeper nesting than any real condition; keeps hostile input from overflowing the stack. */
const MAX_DEPTH = 100;

const NO_OPTIONS: StringOptions = { caseInsensitive: false, diacriticInsensitive: false };

class Parser {
  private index = 0;
  private depth = 0;
  private readonly variables: string[] = [];

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): ConditionAst {
    if (this.peek().kind === 'end') this.fail('empty condition', this.peek());
    const ast = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'end') {
      if (this.isSymbol(next, ')')) this.fail("unexpected ')' with no matching '('", next);
      this.fail(
        `unexpected ${describeToken(next)} after a complete condition`,
        next,
        'join conditions with AND or OR',
      );
    }
    return ast;
  }

  // --- predicates ---------------------------------------------------------------------------

  private parseOr(): ConditionAst {
    const operands = [this.parseAnd()];
    while (this.isWord(this.peek(), 'OR') || this.isSymbol(this.peek(), '||')) {
      this.advance();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 && operands[0] !== undefined
      ? operands[0]
      : { kind: 'or', operands };
  }

  private parseAnd(): ConditionAst {
    const operands = [this.parseNot()];
    while (this.isWord(this.peek(), 'AND') || this.isSymbol(this.peek(), '&&')) {
      this.advance();
      operands.push(this.parseNot());
    }
    return operands.length === 1 && operands[0] !== undefined
      ? operands[0]
      : { kind: 'and', operands };
  }

  private parseNot(): ConditionAst {
    const token = this.peek();
    if (this.isWord(token, 'NOT') || this.isSymbol(token, '!')) {
      this.advance();
      return this.nested(token, () => ({ kind: 'not', operand: this.parseNot() }));
    }
    return this.parsePrimary();
  }

  private parsePrimary(): ConditionAst {
    const token = this.peek();
    if (this.isSymbol(token, '(')) {
      this.advance();
      const inner = this.nested(token, () => this.parseOr());
      this.expectClose(')', token);
      return inner;
    }
    if (this.isWord(token, 'TRUEPREDICATE')) {
      this.advance();
      return { kind: 'constant', value: true };
    }
    if (this.isWord(token, 'FALSEPREDICATE')) {
      this.advance();
      return { kind: 'constant', value: false };
    }
    return this.parseComparison();
  }

  private parseComparison(): ComparisonPredicate {
    const first = this.peek();
    let quantifier: Quantifier | null = null;
    if (first.kind === 'word' && !first.escaped && QUANTIFIERS.has(first.upper)) {
      quantifier = QUANTIFIERS.get(first.upper) ?? null;
      this.advance();
    }
    const leftToken = this.peek();
    const left = this.parseExpression();
    const operator = this.parseOperator(leftToken);
    const options = this.parseModifiers();
    const rightToken = this.peek();
    const right = this.parseExpression();
    const pattern = this.checkRight(operator, options, right, rightToken);
    return {
      kind: 'comparison',
      quantifier,
      left,
      operator,
      options,
      right,
      pattern,
      column: first.start + 1,
    };
  }

  private parseOperator(leftToken: Token): ComparisonOperator {
    const token = this.peek();
    if (token.kind === 'symbol') {
      const op = SYMBOL_OPERATORS.get(token.text);
      if (op !== undefined) {
        this.advance();
        return op;
      }
    }
    if (token.kind === 'word' && !token.escaped) {
      const op = WORD_OPERATORS.get(token.upper);
      if (op !== undefined) {
        this.advance();
        return op;
      }
      const after = this.peek(1);
      if (token.upper === 'NOT' && after.kind === 'word' && after.upper === 'IN') {
        this.fail("'NOT IN' is not supported", token, 'write NOT (key IN {…})');
      }
    }
    const leftText = this.text.slice(leftToken.start, token.start).trim();
    if (token.kind === 'end') {
      this.fail(
        `expected an operator such as == or BEGINSWITH after '${leftText}'`,
        token,
        leftText === '' ? undefined : `a condition compares two things, e.g. ${leftText} == TRUE`,
      );
    }
    if (token.kind === 'word' && !token.escaped && !KEYWORDS.has(token.upper)) {
      this.fail(
        `unknown operator '${token.text}'`,
        token,
        'operators are ==, !=, <, <=, >, >=, BEGINSWITH, ENDSWITH, CONTAINS, LIKE, MATCHES, IN, BETWEEN',
      );
    }
    return this.fail(
      `expected an operator after '${leftText}', found ${describeToken(token)}`,
      token,
    );
  }

  private parseModifiers(): StringOptions {
    const open = this.peek();
    if (!this.isSymbol(open, '[')) return NO_OPTIONS;
    this.advance();
    const letters = this.peek();
    if (letters.kind !== 'word' || letters.escaped || !/^[cd]{1,2}$/i.test(letters.text)) {
      this.fail(
        `unknown modifier ${describeToken(letters)}`,
        letters,
        'modifiers are [c] (case-insensitive), [d] (diacritic-insensitive) and [cd]',
      );
    }
    this.advance();
    this.expectClose(']', open);
    const lower = letters.text.toLowerCase();
    return { caseInsensitive: lower.includes('c'), diacriticInsensitive: lower.includes('d') };
  }

  /** Checks what the operator needs of its right side; compiles literal LIKE/MATCHES patterns. */
  private checkRight(
    operator: ComparisonOperator,
    options: StringOptions,
    right: ConditionExpression,
    rightToken: Token,
  ): RegExp | null {
    if (operator === 'BETWEEN') {
      if (right.kind === 'aggregate' && right.items.length !== 2) {
        this.fail('BETWEEN needs exactly two bounds, as in {1, 5}', rightToken);
      }
      if (right.kind === 'literal') {
        this.fail('BETWEEN needs two bounds in braces, as in {1, 5}', rightToken);
      }
      return null;
    }
    if (operator !== 'LIKE' && operator !== 'MATCHES') return null;
    if (
      right.kind === 'aggregate' ||
      (right.kind === 'literal' && typeof right.value !== 'string')
    ) {
      this.fail(`${operator} needs a string pattern`, rightToken);
    }
    if (right.kind !== 'literal' || typeof right.value !== 'string') return null;
    try {
      return operator === 'LIKE'
        ? compileLikePattern(right.value, options)
        : compileMatchesPattern(right.value, options);
    } catch (e) {
      const reason = e instanceof PatternError ? e.message : String(e);
      return this.fail(`${operator} pattern: ${reason}`, rightToken);
    }
  }

  // --- expressions --------------------------------------------------------------------------

  private parseExpression(): ConditionExpression {
    const token = this.peek();
    const expression = this.parseExpressionHead(token);
    const next = this.peek();
    if (this.isSymbol(next, '[')) {
      this.fail(
        'array subscripts such as [0], [FIRST] and [SIZE] are not supported',
        next,
        'use @count',
      );
    }
    if (next.kind === 'symbol' && ['+', '-', '*', '/', '**'].includes(next.text)) {
      this.fail(
        `unexpected '${next.text}': arithmetic is not supported`,
        next,
        'key names may only contain letters, digits and _',
      );
    }
    if (this.isSymbol(next, ':=')) this.fail("assignments (':=') are not supported", next);
    return expression;
  }

  private parseExpressionHead(token: Token): ConditionExpression {
    switch (token.kind) {
      case 'string':
      case 'number':
        this.advance();
        return { kind: 'literal', value: token.value };
      case 'variable': {
        if (!this.variables.includes(token.name)) {
          this.fail(
            `unknown variable '$${token.name}'`,
            token,
            'variables only exist inside SUBQUERY(collection, $x, …)',
          );
        }
        this.advance();
        return { kind: 'keyPath', variable: token.name, path: this.parsePath() };
      }
      case 'symbol':
        return this.parseSymbolExpression(token);
      case 'word':
        return this.parseWordExpression(token);
      case 'collectionOp':
        return this.fail(
          `a collection operator must follow a key path, as in applications.${token.name}`,
          token,
        );
      case 'end':
        return this.fail('expected a key path or a value, found end of condition', token);
    }
  }

  private parseSymbolExpression(token: Token & { kind: 'symbol' }): ConditionExpression {
    if (token.text === '-') {
      const next = this.peek(1);
      if (next.kind === 'number' && next.start === token.end) {
        this.advance();
        this.advance();
        return { kind: 'literal', value: -next.value };
      }
    }
    if (token.text === '{') {
      this.advance();
      return this.nested(token, () => this.parseAggregate(token));
    }
    return this.fail(`expected a key path or a value, found ${describeToken(token)}`, token);
  }

  private parseAggregate(open: Token): AggregateExpression {
    const items: ConditionExpression[] = [];
    if (this.isSymbol(this.peek(), '}')) {
      this.advance();
      return { kind: 'aggregate', items };
    }
    for (;;) {
      items.push(this.parseExpression());
      const token = this.peek();
      if (this.isSymbol(token, ',')) {
        this.advance();
        continue;
      }
      if (this.isSymbol(token, '}')) {
        this.advance();
        return { kind: 'aggregate', items };
      }
      const hint = `the '{' at column ${open.start + 1} is never closed`;
      if (token.kind === 'end') this.fail("missing '}'", token, hint);
      this.fail(`expected ',' or '}' in a list, found ${describeToken(token)}`, token, hint);
    }
  }

  private parseWordExpression(token: Token & { kind: 'word' }): ConditionExpression {
    if (token.escaped || !KEYWORDS.has(token.upper)) {
      const next = this.peek(1);
      if (!token.escaped && this.isSymbol(next, '(')) {
        this.fail(`function calls such as ${token.text}() are not supported`, token);
      }
      this.advance();
      return { kind: 'keyPath', variable: null, path: [token.text, ...this.parsePath()] };
    }
    switch (token.upper) {
      case 'TRUE':
      case 'YES':
        this.advance();
        return { kind: 'literal', value: true };
      case 'FALSE':
      case 'NO':
        this.advance();
        return { kind: 'literal', value: false };
      case 'NIL':
      case 'NULL':
        this.advance();
        return { kind: 'literal', value: null };
      case 'SELF':
        this.advance();
        return { kind: 'keyPath', variable: null, path: this.parsePath() };
      case 'SUBQUERY':
        this.advance();
        return this.nested(token, () => this.parseSubquery(token));
      case 'CAST':
        this.advance();
        return this.nested(token, () => this.parseCast(token));
      case 'FUNCTION':
        return this.fail('FUNCTION() is not supported', token);
      case 'FIRST':
      case 'LAST':
      case 'SIZE':
      case 'ANYKEY':
        return this.fail(
          `'${token.text}' is a reserved word`,
          token,
          `write #${token.text} to use it as a key name`,
        );
      default:
        return this.fail(`expected a key path or a value, found ${describeToken(token)}`, token);
    }
  }

  /** `.key`, `.#key`, `.@count` components after a key path, SELF, a variable or SUBQUERY(…). */
  private parsePath(): string[] {
    const path: string[] = [];
    while (this.isSymbol(this.peek(), '.')) {
      this.advance();
      const token = this.peek();
      if (token.kind === 'collectionOp') {
        if (!COLLECTION_OPERATORS.has(token.name)) {
          this.fail(
            `unsupported collection operator '${token.name}'`,
            token,
            'use @count, @sum, @avg, @min or @max',
          );
        }
        path.push(token.name);
      } else if (token.kind === 'word') {
        if (!token.escaped && KEYWORDS.has(token.upper)) {
          this.fail(
            `'${token.text}' is a reserved word`,
            token,
            `write #${token.text} to use it as a key name`,
          );
        }
        path.push(token.text);
      } else {
        this.fail(`expected a key name after '.', found ${describeToken(token)}`, token);
      }
      this.advance();
    }
    return path;
  }

  private parseSubquery(keyword: Token): SubqueryExpression {
    this.expectOpen('SUBQUERY');
    const collection = this.parseExpression();
    this.expectSymbol(',', 'SUBQUERY(collection, $x, predicate)');
    const variable = this.peek();
    if (variable.kind !== 'variable') {
      return this.fail(
        `expected a variable such as $x in SUBQUERY, found ${describeToken(variable)}`,
        variable,
      );
    }
    this.advance();
    this.expectSymbol(',', 'SUBQUERY(collection, $x, predicate)');
    this.variables.push(variable.name);
    const predicate = this.parseOr();
    this.variables.pop();
    this.expectClose(')', keyword);
    return {
      kind: 'subquery',
      collection,
      variable: variable.name,
      predicate,
      path: this.parsePath(),
    };
  }

  private parseCast(keyword: Token): ConditionExpression {
    this.expectOpen('CAST');
    const operandToken = this.peek();
    const operand = this.parseExpression();
    this.expectSymbol(',', 'CAST(value, "NSDate")');
    const typeToken = this.peek();
    if (typeToken.kind !== 'string') {
      return this.fail(
        `expected a class name in quotes, found ${describeToken(typeToken)}`,
        typeToken,
        'write CAST("2026-01-01T00:00:00Z", "NSDate")',
      );
    }
    // The Munki-era docs spell it "NSDATE" as well as "NSDate"; accept any case. [inf]
    const type = (['NSDate', 'NSNumber', 'NSString'] as const).find(
      (t) => t.toLowerCase() === typeToken.value.toLowerCase(),
    );
    if (type === undefined) {
      return this.fail(
        `CAST to '${typeToken.value}' is not supported`,
        typeToken,
        'cast to "NSDate", "NSNumber" or "NSString"',
      );
    }
    this.advance();
    this.expectClose(')', keyword);
    if (operand.kind === 'aggregate') {
      return this.fail(`cannot CAST a list to ${type}`, operandToken);
    }
    if (operand.kind !== 'literal') return { kind: 'cast', operand, type };
    try {
      return { kind: 'literal', value: castLiteral(operand.value, type) };
    } catch (e) {
      return this.fail(e instanceof Error ? e.message : String(e), operandToken);
    }
  }

  // --- helpers ------------------------------------------------------------------------------

  private nested<T>(token: Token, parse: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail('condition is nested too deeply', token);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private expectOpen(name: string): void {
    const token = this.peek();
    if (!this.isSymbol(token, '(')) {
      this.fail(`expected '(' after ${name}, found ${describeToken(token)}`, token);
    }
    this.advance();
  }

  private expectSymbol(symbol: string, shape: string): void {
    const token = this.peek();
    if (!this.isSymbol(token, symbol)) {
      this.fail(`expected '${symbol}' in ${shape}, found ${describeToken(token)}`, token);
    }
    this.advance();
  }

  private expectClose(symbol: ')' | ']', open: Token): void {
    const token = this.peek();
    if (this.isSymbol(token, symbol)) {
      this.advance();
      return;
    }
    const opener = symbol === ')' ? '(' : '[';
    const hint = `the '${opener}' at column ${open.start + 1} is never closed`;
    if (token.kind === 'end') this.fail(`missing '${symbol}'`, token, hint);
    this.fail(`expected '${symbol}', found ${describeToken(token)}`, token, hint);
  }

  private peek(ahead = 0): Token {
    const token = this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
    if (token === undefined) throw new Error('tokenizer always ends with an end token');
    return token;
  }

  private advance(): void {
    if (this.index < this.tokens.length - 1) this.index++;
  }

  private isWord(token: Token, upper: string): boolean {
    return token.kind === 'word' && !token.escaped && token.upper === upper;
  }

  private isSymbol(token: Token, text: string): boolean {
    return token.kind === 'symbol' && token.text === text;
  }

  private fail(reason: string, token: Token, hint?: string): never {
    throw new ConditionError(reason, this.text, token.start + 1, hint);
  }
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'end of condition';
    case 'string': {
      const shown = token.value.length > 20 ? `${token.value.slice(0, 20)}…` : token.value;
      return `string "${shown}"`;
    }
    case 'number':
      return `number ${token.value}`;
    case 'word':
      return `'${token.escaped ? '#' : ''}${token.text}'`;
    case 'variable':
      return `'$${token.name}'`;
    case 'collectionOp':
      return `'${token.name}'`;
    case 'symbol':
      return `'${token.text}'`;
  }
}

/**
 * Parses condition text into an AST; throws ConditionError (an AppError with code
 * CONDITION_INVALID) whose one-line message names the column, e.g.
 * `unknown operator 'EQUALS' at column 9: os_vers EQUALS "10.9"`.
 */
export function parseCondition(text: string): ConditionAst {
  return new Parser(text, tokenize(text)).parse();
}

// ---------------------------------------------------------------------------------------------
// Values shared by the parser (constant folding) and the evaluator
// ---------------------------------------------------------------------------------------------

/** Seconds from 1970-01-01 to NSDate's reference date 2001-01-01T00:00:00Z. */
const REFERENCE_DATE_OFFSET_SECONDS = 978_307_200;

/**
 * Converts a value as CAST does: strings (ISO 8601) and numbers (seconds since 2001-01-01 UTC)
 * to NSDate; strings, dates and booleans to NSNumber; anything scalar to NSString. Throws an Error
 * whose message explains a value that cannot be converted. NIL stays NIL.
 */
export function castLiteral(value: LiteralValue, type: CastType): LiteralValue {
  if (value === null) return null;
  switch (type) {
    case 'NSDate':
      if (value instanceof Date) return value;
      if (typeof value === 'number') {
        return new Date((value + REFERENCE_DATE_OFFSET_SECONDS) * 1000);
      }
      if (typeof value === 'string') {
        const date = parseIsoDate(value);
        if (date === null) {
          throw new Error(`'${value}' is not an ISO 8601 date such as 2026-01-01T00:00:00Z`);
        }
        return date;
      }
      throw new Error('cannot CAST a boolean to NSDate');
    case 'NSNumber':
      if (typeof value === 'number') return value;
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value instanceof Date) return value.getTime() / 1000 - REFERENCE_DATE_OFFSET_SECONDS;
      // Like NSString.doubleValue: the leading number, or 0 when there is none. [inf]
      return Number(/^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(value)?.[0] ?? 0);
    case 'NSString':
      if (typeof value === 'string') return value;
      if (typeof value === 'boolean') return value ? '1' : '0';
      if (value instanceof Date) return describeDate(value);
      return String(value);
  }
}

/** NSDate's description format, `2016-03-02 00:00:00 +0000`. */
function describeDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}

/**
 * Parses the date strings CAST(…, "NSDate") is given in practice: ISO 8601
 * (`2016-03-02T00:00:00Z`, fractional seconds, `±hh:mm` offsets, date only) and NSDate's own
 * description (`2016-03-02 00:00:00 +0000`). A missing zone means UTC. [inf]
 */
export function parseIsoDate(text: string): Date | null {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      text.trim(),
    );
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
    (part) => Number(part ?? 0),
  ) as [number, number, number, number, number, number];
  const fraction = m[7] === undefined ? 0 : Math.round(Number(m[7]) * 1000);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, fraction);
  const check = new Date(utc);
  // Date.UTC rolls 2026-02-31 over into March; a calendar mistake should not pass silently.
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return null;
  }
  const zone = m[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '');
    const sign = digits.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  return new Date(utc - offsetMinutes * 60_000);
}

/**
 * Folds a string for `[c]`/`[d]`: `[d]` decomposes (NFD) and drops non-spacing marks, `[c]`
 * upper- then lower-cases without a locale, which approximates Unicode full case folding
 * ("ß" matches "SS"). Apple's exact folding tables are not reproduced. [inf]
 */
export function foldString(text: string, options: StringOptions): string {
  let folded = text;
  if (options.diacriticInsensitive) {
    folded = folded
      .normalize('NFD')
      .replace(/\p{Mn}/gu, '')
      .normalize('NFC');
  }
  if (options.caseInsensitive) folded = folded.toUpperCase().toLowerCase();
  return folded;
}

// ---------------------------------------------------------------------------------------------
// LIKE and MATCHES patterns
// ---------------------------------------------------------------------------------------------

/** A pattern LIKE or MATCHES cannot use; the message says why. */
export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}

const REGEX_SYNTAX = '^$\\.*+?()[]{}|/';

function escapeRegexChar(ch: string): string {
  return REGEX_SYNTAX.includes(ch) ? `\\${ch}` : ch;
}

/**
 * Compiles a LIKE pattern: `*` is any run of characters, `?` exactly one, `\` makes the next
 * character literal; the whole string must match. `[c]`/`[d]` fold the pattern here and the
 * subject at evaluation (with foldString).
 */
export function compileLikePattern(pattern: string, options: StringOptions): RegExp {
  const chars = Array.from(foldString(pattern, options));
  let source = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else if (ch === '\\' && i + 1 < chars.length) source += escapeRegexChar(chars[++i] ?? '');
    else source += escapeRegexChar(ch);
  }
  return new RegExp(`^${source}$`, 'u');
}

/** ICU's vertical-whitespace set (`\v`), which JavaScript spells differently. */
const ICU_VERTICAL_SPACE = '\\n\\x0B\\f\\r\\x85\\u2028\\u2029';
const ICU_HORIZONTAL_SPACE = '\\t\\p{Zs}';

/**
 * Compiles a MATCHES pattern (ICU regex syntax, per Apple's docs) to a JavaScript RegExp that must
 * match the whole string, as ICU's `matches()` does: `^(?:…)$` with the `u` flag. `[c]` adds the
 * `i` flag; `[d]` strips diacritics from pattern and subject. ICU-only syntax that JavaScript
 * cannot express the same way (possessive quantifiers, atomic groups, nested sets and set
 * operations, POSIX classes, mid-pattern inline flags, `\G`, `\X`, `\N{…}`) throws PatternError.
 * Known difference: `\d`, `\w`, `\b` are ASCII-only in JavaScript but Unicode-aware in ICU. [inf]
 */
export function compileMatchesPattern(pattern: string, options: StringOptions): RegExp {
  const text = options.diacriticInsensitive
    ? foldString(pattern, { caseInsensitive: false, diacriticInsensitive: true })
    : pattern;
  const { source, flags } = translateIcuPattern(text);
  if (options.caseInsensitive) flags.add('i');
  // With (?m), ^ and $ match at line breaks, so the whole-string anchors become look-arounds.
  const anchored = flags.has('m') ? `(?<![\\s\\S])(?:${source})(?![\\s\\S])` : `^(?:${source})$`;
  try {
    return new RegExp(anchored, ['u', ...flags].join(''));
  } catch (e) {
    const detail = e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : '';
    throw new PatternError(`invalid regular expression (${detail})`);
  }
}

function translateIcuPattern(pattern: string): { source: string; flags: Set<string> } {
  const flags = new Set<string>();
  let i = 0;
  // ICU allows flag settings anywhere; JavaScript (Node 20) only as RegExp flags, so only a
  // leading (?ims) is honoured.
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (lead?.[1] !== undefined) {
    for (const flag of lead[1]) {
      if (!'ims'.includes(flag)) throw new PatternError(`unsupported flag (?${flag})`);
      flags.add(flag);
    }
    i = lead[0].length;
  }

  let out = '';
  let inClass = false;
  let classStart = false;
  const quantifierTail = (): void => {
    // After a quantifier: '?' makes it lazy (JavaScript has that too), '+' makes it possessive (not).
    if (pattern.charAt(i) === '?') {
      out += '?';
      i++;
    }
    if (pattern.charAt(i) === '+') {
      throw new PatternError('possessive quantifiers (*+, ++, ?+) are not supported');
    }
  };

  while (i < pattern.length) {
    const ch = pattern.charAt(i);
    if (ch === '\\') {
      const { text, next } = translateEscape(pattern, i, inClass);
      out += text;
      i = next;
      classStart = false;
      continue;
    }
    if (inClass) {
      if (ch === '[') {
        throw new PatternError(
          'nested sets and POSIX classes such as [[:alpha:]] are not supported',
        );
      }
      if (ch === '&' && pattern.charAt(i + 1) === '&') {
        throw new PatternError('set intersection (&&) is not supported');
      }
      if (ch === ']' && !classStart) inClass = false;
      out += ch === ']' && classStart ? '\\]' : ch;
      classStart = false;
      i++;
      continue;
    }
    switch (ch) {
      case '[':
        inClass = true;
        classStart = true;
        out += '[';
        i++;
        if (pattern.charAt(i) === '^') {
          out += '^';
          i++;
        }
        break;
      case '(':
        out += translateGroupOpen(pattern, i);
        i = groupOpenEnd(pattern, i);
        break;
      case '*':
      case '+':
      case '?':
        out += ch;
        i++;
        quantifierTail();
        break;
      case '{': {
        const m = /^\{\d+(?:,\d*)?\}/.exec(pattern.slice(i));
        if (!m) throw new PatternError("a literal '{' must be escaped as \\{");
        out += m[0];
        i += m[0].length;
        quantifierTail();
        break;
      }
      default:
        out += ch;
        i++;
    }
  }
  if (inClass) throw new PatternError("missing ']'");
  return { source: out, flags };
}

function groupOpenEnd(pattern: string, i: number): number {
  if (pattern.charAt(i + 1) !== '?') return i + 1;
  const rest = pattern.slice(i + 2);
  if (rest.startsWith('#')) {
    const close = pattern.indexOf(')', i);
    return close === -1 ? pattern.length : close + 1;
  }
  const m = /^(?::|=|!|<=|<!|<(?=[A-Za-z]))/.exec(rest);
  return i + 2 + (m?.[0].length ?? 0);
}

function translateGroupOpen(pattern: string, i: number): string {
  if (pattern.charAt(i + 1) !== '?') return '(';
  const rest = pattern.slice(i + 2);
  if (rest.startsWith('#')) {
    if (!rest.includes(')')) throw new PatternError("missing ')' after (?#");
    return ''; // an ICU comment group
  }
  const m = /^(?::|=|!|<=|<!|<(?=[A-Za-z]))/.exec(rest);
  if (m) return `(?${m[0]}`;
  if (rest.startsWith('>')) throw new PatternError('atomic groups (?>…) are not supported');
  if (/^[a-zA-Z-]+[:)]/.test(rest)) {
    throw new PatternError('inline flags are only supported at the very start, as in (?i)…');
  }
  throw new PatternError(`unsupported group '(?${rest.charAt(0)}'`);
}

function translateEscape(
  pattern: string,
  i: number,
  inClass: boolean,
): { text: string; next: number } {
  const c = pattern.charAt(i + 1);
  const one = (text: string): { text: string; next: number } => ({ text, next: i + 2 });
  const outsideOnly = (text: string): { text: string; next: number } => {
    if (inClass) throw new PatternError(`\\${c} cannot be used inside [...]`);
    return one(text);
  };
  if (c === '') throw new PatternError('trailing backslash');
  switch (c) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S':
    case 'n':
    case 't':
    case 'r':
    case 'f':
      return one(`\\${c}`);
    case 'b':
    case 'B':
      return outsideOnly(`\\${c}`);
    case 'a':
      return one('\\x07');
    case 'e':
      return one('\\x1B');
    case 'A':
      return outsideOnly('(?<![\\s\\S])');
    case 'z':
      return outsideOnly('(?![\\s\\S])');
    case 'Z':
      return outsideOnly('(?=\\n?(?![\\s\\S]))');
    case 'h':
      return one(inClass ? ICU_HORIZONTAL_SPACE : `[${ICU_HORIZONTAL_SPACE}]`);
    case 'H':
      return outsideOnly(`[^${ICU_HORIZONTAL_SPACE}]`);
    case 'v':
      return one(inClass ? ICU_VERTICAL_SPACE : `[${ICU_VERTICAL_SPACE}]`);
    case 'V':
      return outsideOnly(`[^${ICU_VERTICAL_SPACE}]`);
    case 'R':
      return outsideOnly(`(?:\\r\\n|[${ICU_VERTICAL_SPACE}])`);
    case 'x': {
      const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(pattern.slice(i + 2));
      if (braced?.[1] !== undefined) {
        return { text: `\\u{${braced[1]}}`, next: i + 2 + braced[0].length };
      }
      const hex = pattern.slice(i + 2, i + 4);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new PatternError('\\x needs two hex digits');
      return { text: `\\x${hex}`, next: i + 4 };
    }
    case 'u': {
      const hex = pattern.slice(i + 2, i + 6);
      if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new PatternError('\\u needs four hex digits');
      return { text: `\\u${hex}`, next: i + 6 };
    }
    case 'U': {
      const hex = pattern.slice(i + 2, i + 10);
      if (!/^[0-9A-Fa-f]{8}$/.test(hex)) throw new PatternError('\\U needs eight hex digits');
      return { text: `\\u{${hex}}`, next: i + 10 };
    }
    case '0': {
      const octal = /^[0-7]{0,3}/.exec(pattern.slice(i + 2))?.[0] ?? '';
      const code = octal === '' ? 0 : parseInt(octal, 8);
      return { text: `\\u{${code.toString(16)}}`, next: i + 2 + octal.length };
    }
    case 'p':
    case 'P': {
      const braced = /^\{[^}]*\}/.exec(pattern.slice(i + 2));
      if (braced) return { text: `\\${c}${braced[0]}`, next: i + 2 + braced[0].length };
      const letter = pattern.charAt(i + 2);
      if (!/[A-Za-z]/.test(letter)) throw new PatternError(`\\${c} needs a property name`);
      return { text: `\\${c}{${letter}}`, next: i + 3 };
    }
    case 'c': {
      const letter = pattern.charAt(i + 2);
      if (!/[A-Za-z]/.test(letter)) throw new PatternError('\\c needs a letter');
      return { text: `\\c${letter}`, next: i + 3 };
    }
    case 'k': {
      const name = /^<[A-Za-z][A-Za-z0-9]*>/.exec(pattern.slice(i + 2));
      if (!name || inClass) throw new PatternError('\\k needs a group name, as in \\k<name>');
      return { text: `\\k${name[0]}`, next: i + 2 + name[0].length };
    }
    case 'Q': {
      const end = pattern.indexOf('\\E', i + 2);
      const literal = pattern.slice(i + 2, end === -1 ? pattern.length : end);
      const text = Array.from(literal)
        .map((ch) => (inClass && ch === '-' ? '\\-' : escapeRegexChar(ch)))
        .join('');
      return { text, next: end === -1 ? pattern.length : end + 2 };
    }
    default:
      break;
  }
  if (/[1-9]/.test(c)) {
    const digits = /^[0-9]+/.exec(pattern.slice(i + 1))?.[0] ?? c;
    if (inClass) throw new PatternError('back references cannot be used inside [...]');
    return { text: `\\${digits}`, next: i + 1 + digits.length };
  }
  if (/[A-Za-z]/.test(c)) throw new PatternError(`unsupported escape \\${c}`);
  // ICU lets any other character be escaped; JavaScript's `u` mode only syntax characters.
  if (c === '-') return one(inClass ? '\\-' : '-');
  return one(escapeRegexChar(c));
}
