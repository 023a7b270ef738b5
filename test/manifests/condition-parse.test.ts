import { describe, expect, it } from 'vitest';

import { ConditionError, parseCondition } from 'abbot/manifests';
import type {
  ComparisonPredicate,
  ConditionAst,
  ConditionExpression,
  LiteralValue,
} from 'abbot/manifests';

/** The single comparison a condition parses to. */
function comparison(text: string): ComparisonPredicate {
  const ast = parseCondition(text);
  if (ast.kind !== 'comparison') throw new Error(`${text} parsed to ${ast.kind}`);
  return ast;
}

/** The right-hand side of `x == <literal>`. */
function literal(source: string): LiteralValue {
  const right = comparison(`x == ${source}`).right;
  if (right.kind !== 'literal') throw new Error(`${source} parsed to ${right.kind}`);
  return right.value;
}

/** A compact rendering of an AST, to state precedence tables readably. */
function shape(ast: ConditionAst): string {
  switch (ast.kind) {
    case 'constant':
      return ast.value ? 'TRUE' : 'FALSE';
    case 'not':
      return `not(${shape(ast.operand)})`;
    case 'and':
    case 'or':
      return `${ast.kind}(${ast.operands.map(shape).join(', ')})`;
    case 'comparison':
      return `${expressionShape(ast.left)}${ast.operator}${expressionShape(ast.right)}`;
  }
}

function expressionShape(expression: ConditionExpression): string {
  if (expression.kind === 'keyPath') return expression.path.join('.');
  if (expression.kind === 'literal') return JSON.stringify(expression.value);
  return expression.kind;
}

/** The ConditionError a text raises. */
function parseError(text: string): ConditionError {
  try {
    parseCondition(text);
  } catch (e) {
    if (e instanceof ConditionError) return e;
    throw e;
  }
  throw new Error(`${text} parsed`);
}

describe('parseCondition: comparison operators', () => {
  it.each([
    ['a == 1', '=='],
    ['a = 1', '=='],
    ['a != 1', '!='],
    ['a <> 1', '!='],
    ['a < 1', '<'],
    ['a <= 1', '<='],
    ['a =< 1', '<='],
    ['a > 1', '>'],
    ['a >= 1', '>='],
    ['a => 1', '>='],
    ['a BEGINSWITH "x"', 'BEGINSWITH'],
    ['a ENDSWITH "x"', 'ENDSWITH'],
    ['a CONTAINS "x"', 'CONTAINS'],
    ['a LIKE "x*"', 'LIKE'],
    ['a MATCHES "x.*"', 'MATCHES'],
    ['a IN {1, 2}', 'IN'],
    ['a BETWEEN {1, 2}', 'BETWEEN'],
    ['a beginswith "x"', 'BEGINSWITH'],
    ['a EndsWith "x"', 'ENDSWITH'],
    ['a in {1}', 'IN'],
    ['a==1', '=='],
  ])('reads %s as the %s operator', (text, operator) => {
    expect(comparison(text).operator).toBe(operator);
  });
});

describe('parseCondition: modifiers', () => {
  it.each([
    ['a == "x"', false, false],
    ['a ==[c] "x"', true, false],
    ['a BEGINSWITH[d] "x"', false, true],
    ['a LIKE[cd] "x"', true, true],
    ['a CONTAINS[dc] "x"', true, true],
    ['a CONTAINS[CD] "x"', true, true],
    ['a CONTAINS [c] "x"', true, false],
  ])('reads the modifiers of %s', (text, caseInsensitive, diacriticInsensitive) => {
    expect(comparison(text).options).toEqual({ caseInsensitive, diacriticInsensitive });
  });
});

describe('parseCondition: aggregate qualifiers', () => {
  it.each([
    ['ANY ipv4_address BEGINSWITH "10."', 'ANY'],
    ['SOME ipv4_address BEGINSWITH "10."', 'ANY'],
    ['any ipv4_address BEGINSWITH "10."', 'ANY'],
    ['ALL ipv4_address BEGINSWITH "10."', 'ALL'],
    ['NONE ipv4_address BEGINSWITH "10."', 'NONE'],
    ['ipv4_address CONTAINS "10.0.0.1"', null],
  ])('reads the qualifier of %s', (text, quantifier) => {
    expect(comparison(text).quantifier).toBe(quantifier);
  });
});

describe('parseCondition: literals', () => {
  it.each<[string, LiteralValue]>([
    ['"10.9"', '10.9'],
    ["'10.9'", '10.9'],
    ['""', ''],
    ['"say \\"hi\\""', 'say "hi"'],
    ["'it\\'s'", "it's"],
    ['"a\\\\b"', 'a\\b'],
    ['"line\\nbreak"', 'line\nbreak'],
    ['"tab\\there"', 'tab\there'],
    ['"\\u00e9t\\u00E9"', 'été'],
    ['"single \' inside double"', "single ' inside double"],
    ['"10\\.9"', '10\\.9'],
    ['10', 10],
    ['10.5', 10.5],
    ['0', 0],
    ['-3', -3],
    ['-0.25', -0.25],
    ['0x1F', 31],
    ['0X1f', 31],
    ['0o17', 15],
    ['0b101', 5],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['TRUE', true],
    ['true', true],
    ['YES', true],
    ['FALSE', false],
    ['no', false],
    ['NIL', null],
    ['null', null],
  ])('reads %s as a literal', (source, value) => {
    expect(literal(source)).toEqual(value);
  });

  it('reads an aggregate literal of mixed values', () => {
    expect(comparison('a IN {"x", 2, TRUE, NIL}').right).toEqual({
      kind: 'aggregate',
      items: [
        { kind: 'literal', value: 'x' },
        { kind: 'literal', value: 2 },
        { kind: 'literal', value: true },
        { kind: 'literal', value: null },
      ],
    });
  });

  it('reads an empty aggregate literal', () => {
    expect(comparison('a IN {}').right).toEqual({ kind: 'aggregate', items: [] });
  });
});

describe('parseCondition: key paths', () => {
  it.each<[string, string | null, string[]]>([
    ['os_vers_major', null, ['os_vers_major']],
    ['applications.path', null, ['applications', 'path']],
    ['applications.@count', null, ['applications', '@count']],
    ['applications.@max.version', null, ['applications', '@max', 'version']],
    ['#size', null, ['size']],
    ['#Contains', null, ['Contains']],
    ['custom.#first', null, ['custom', 'first']],
    ['SELF', null, []],
    ['self.os_vers', null, ['os_vers']],
    ['_private2', null, ['_private2']],
  ])('reads %s as a key path', (source, variable, path) => {
    expect(comparison(`${source} == 1`).left).toEqual({ kind: 'keyPath', variable, path });
  });

  it('reads a quoted key name as a string, not a key path', () => {
    expect(comparison('"arch" == "x86_64"').left).toEqual({ kind: 'literal', value: 'arch' });
  });
});

describe('parseCondition: precedence and grouping', () => {
  it.each([
    ['a == 1 OR b == 2 AND c == 3', 'or(a==1, and(b==2, c==3))'],
    ['a == 1 AND b == 2 OR c == 3', 'or(and(a==1, b==2), c==3)'],
    ['NOT a == 1 AND b == 2', 'and(not(a==1), b==2)'],
    ['NOT a == 1 OR b == 2', 'or(not(a==1), b==2)'],
    ['NOT (a == 1 OR b == 2)', 'not(or(a==1, b==2))'],
    ['(a == 1 OR b == 2) AND c == 3', 'and(or(a==1, b==2), c==3)'],
    ['!a == 1 || b == 2 && c == 3', 'or(not(a==1), and(b==2, c==3))'],
    ['a == 1 and b == 2 and c == 3', 'and(a==1, b==2, c==3)'],
    ['NOT NOT a == 1', 'not(not(a==1))'],
    ['((a == 1))', 'a==1'],
    ['TRUEPREDICATE', 'TRUE'],
    ['falsepredicate OR TRUEPREDICATE', 'or(FALSE, TRUE)'],
  ])('groups %s as %s', (text, expected) => {
    expect(shape(parseCondition(text))).toBe(expected);
  });
});

describe('parseCondition: CAST', () => {
  it.each<[string, LiteralValue]>([
    ['CAST("2026-01-01T00:00:00Z", "NSDate")', new Date('2026-01-01T00:00:00Z')],
    ["CAST('2016-03-02T00:00:00Z', 'NSDate')", new Date('2016-03-02T00:00:00Z')],
    ['CAST("2013-01-02T00:00:00Z", "NSDATE")', new Date('2013-01-02T00:00:00Z')],
    ['CAST("2026-01-01T09:30:00+02:00", "NSDate")', new Date('2026-01-01T07:30:00Z')],
    ['CAST("2026-01-01T00:00:00.250Z", "NSDate")', new Date('2026-01-01T00:00:00.250Z')],
    ['CAST("2026-01-01", "NSDate")', new Date('2026-01-01T00:00:00Z')],
    ['CAST("2016-03-02 00:00:00 +0000", "NSDate")', new Date('2016-03-02T00:00:00Z')],
    ['CAST(0, "NSDate")', new Date('2001-01-01T00:00:00Z')],
    ['CAST(86400, "NSDate")', new Date('2001-01-02T00:00:00Z')],
    ['CAST(-978307200, "NSDate")', new Date('1970-01-01T00:00:00Z')],
    ['CAST("10", "NSNumber")', 10],
    ['CAST("10.5abc", "NSNumber")', 10.5],
    ['CAST("abc", "NSNumber")', 0],
    ['CAST(TRUE, "NSNumber")', 1],
    ['CAST(10, "NSString")', '10'],
    ['CAST(2.5, "NSString")', '2.5'],
    ['CAST(CAST(0, "NSDate"), "NSString")', '2001-01-01 00:00:00 +0000'],
  ])('folds the constant %s', (source, value) => {
    expect(literal(source)).toEqual(value);
  });

  it('keeps a CAST of a key path for evaluation', () => {
    expect(comparison('CAST(os_vers_major, "NSString") == "15"').left).toEqual({
      kind: 'cast',
      operand: { kind: 'keyPath', variable: null, path: ['os_vers_major'] },
      type: 'NSString',
    });
  });
});

describe('parseCondition: SUBQUERY', () => {
  it('reads SUBQUERY(…).@count with the variable bound inside', () => {
    const node = comparison(
      'SUBQUERY(applications, $app, $app.bundleid BEGINSWITH "com.adobe").@count > 0',
    );
    expect(node.left).toEqual({
      kind: 'subquery',
      collection: { kind: 'keyPath', variable: null, path: ['applications'] },
      variable: 'app',
      predicate: {
        kind: 'comparison',
        quantifier: null,
        left: { kind: 'keyPath', variable: 'app', path: ['bundleid'] },
        operator: 'BEGINSWITH',
        options: { caseInsensitive: false, diacriticInsensitive: false },
        right: { kind: 'literal', value: 'com.adobe' },
        pattern: null,
        column: 30,
      },
      path: ['@count'],
    });
  });

  it('reads nested SUBQUERYs with both variables in scope', () => {
    expect(() =>
      parseCondition(
        'SUBQUERY(groups, $g, SUBQUERY($g.members, $m, $m.name == $g.owner).@count > 0).@count == 1',
      ),
    ).not.toThrow();
  });
});

describe('parseCondition: LIKE and MATCHES patterns', () => {
  it('compiles a literal LIKE pattern once, at parse time', () => {
    expect(comparison('a LIKE "*0.8.3*"').pattern).toBeInstanceOf(RegExp);
  });

  it('anchors a MATCHES pattern to the whole string', () => {
    expect(comparison('a MATCHES "Mac(Book)?Pro.*"').pattern?.source).toBe('^(?:Mac(Book)?Pro.*)$');
  });

  it('leaves a pattern that comes from a key path to evaluation', () => {
    expect(comparison('a MATCHES b').pattern).toBeNull();
  });

  it.each([
    ['a*+', 'possessive quantifiers'],
    ['a++', 'possessive quantifiers'],
    ['(?>abc)', 'atomic groups'],
    ['[[:alpha:]]+', 'POSIX classes'],
    ['[a-z&&[^aeiou]]', 'set intersection (&&)'],
    ['[a-z[0-9]]', 'nested sets'],
    ['ab(?i)c', 'inline flags are only supported at the very start'],
    ['(?i:ab)', 'inline flags are only supported at the very start'],
    ['(?x)a b', 'unsupported flag (?x)'],
    ['\\X', 'unsupported escape \\X'],
    ['\\G', 'unsupported escape \\G'],
    ['a{', "a literal '{' must be escaped"],
    ['[abc', "missing ']'"],
    ['(abc', 'invalid regular expression'],
    ['abc\\', 'trailing backslash'],
  ])('refuses the ICU pattern %s', (pattern, reason) => {
    const error = parseError(`a MATCHES "${pattern.replaceAll('\\', '\\\\')}"`);
    expect(error.message).toContain(reason);
    expect(error.column).toBe(11);
  });
});

describe('parseCondition: errors name the column', () => {
  it.each([
    ['', 1, 'empty condition'],
    ['   ', 4, 'empty condition'],
    ['os_vers == "10.9', 12, 'unterminated string'],
    ["os_vers == '10.9\\'", 12, 'unterminated string'],
    ['os_vers EQUALS "10.9"', 9, "unknown operator 'EQUALS'"],
    ['(os_vers == "10.9"', 19, "missing ')'"],
    ['os_vers BEGINSWITH ")")', 23, "unexpected ')' with no matching '('"],
    ['os_vers == "10.9" machine_type == "laptop"', 19, "unexpected 'machine_type'"],
    ['os_vers == "10.9" AND', 22, 'expected a key path or a value, found end of condition'],
    ['os_vers ==', 11, 'expected a key path or a value, found end of condition'],
    ['x86_64_capable', 15, "expected an operator such as == or BEGINSWITH after 'x86_64_capable'"],
    ['os_vers "10.9"', 9, 'expected an operator after \'os_vers\', found string "10.9"'],
    ['FUNCTION(os_vers, "length") == 4', 1, 'FUNCTION() is not supported'],
    ['now() > date', 1, 'function calls such as now() are not supported'],
    ['os_vers == %@', 12, 'format specifiers'],
    ['os_vers == 10.9.1', 12, "malformed number '10.9.1'"],
    ['os_vers_major == 15abc', 18, "malformed number '15abc'"],
    ['ipv4_address[0] == "10.0.0.1"', 13, 'array subscripts'],
    ['os_vers_major + 1 > 15', 15, 'arithmetic is not supported'],
    ['Group-A == TRUE', 6, 'arithmetic is not supported'],
    ['serial_number NOT IN {"C02"}', 15, "'NOT IN' is not supported"],
    ['a BETWEEN {1}', 11, 'BETWEEN needs exactly two bounds'],
    ['a BETWEEN 1', 11, 'BETWEEN needs two bounds in braces'],
    ['a LIKE 5', 8, 'LIKE needs a string pattern'],
    ['a ==[x] 1', 6, "unknown modifier 'x'"],
    ['a ==[c 1', 8, "expected ']', found number 1"],
    ['$x == 1', 1, "unknown variable '$x'"],
    ['a == 1 & b == 2', 8, "unexpected '&'"],
    ['a == 1 | b == 2', 8, "unexpected '|'"],
    ['a == ?', 6, "unexpected '?'"],
    ['a == 1 ; b', 8, "unexpected character ';'"],
    ['CAST("yesterday", "NSDate") < date', 6, "'yesterday' is not an ISO 8601 date"],
    ['CAST("2026-02-31T00:00:00Z", "NSDate") < date', 6, 'not an ISO 8601 date'],
    ['CAST(1, "NSArray") == 1', 9, "CAST to 'NSArray' is not supported"],
    ['CAST(1, NSDate) == 1', 9, 'expected a class name in quotes'],
    ['CAST({1}, "NSDate") == 1', 6, 'cannot CAST a list'],
    ['CAST(TRUE, "NSDate") == 1', 6, 'cannot CAST a boolean to NSDate'],
    ['a.size == 1', 3, "'size' is a reserved word"],
    ['first == 1', 1, "'first' is a reserved word"],
    ['a IN {1, 2', 11, "missing '}'"],
    ['a IN {1 2}', 9, "expected ',' or '}'"],
    ['a == "\\u12"', 7, '\\u must be followed by four hex digits'],
    [
      'a.@distinctUnionOfObjects.b == 1',
      3,
      "unsupported collection operator '@distinctUnionOfObjects'",
    ],
    ['@count == 1', 1, 'a collection operator must follow a key path'],
    ['a. == 1', 4, "expected a key name after '.'"],
    ['SUBQUERY(apps, x, x.name == "a").@count > 0', 16, 'expected a variable such as $x'],
    ['SUBQUERY(apps $x, $x.name == "a").@count > 0', 15, "expected ',' in SUBQUERY"],
    ['SUBQUERY(apps, $x, $y.name == "a").@count > 0', 20, "unknown variable '$y'"],
    ['a == AND', 6, "expected a key path or a value, found 'AND'"],
    ['$x := 1', 1, "unknown variable '$x'"],
    ['a := 1', 3, "assignments (':=') are not supported"],
    ['a == #', 6, "expected a key name after '#'"],
  ])('rejects %j at column %i', (text, column, reason) => {
    const error = parseError(text);
    expect(error.column).toBe(column);
    expect(error.message).toContain(reason);
    expect(error.message).toContain(`at column ${column}`);
  });

  it('reports errors as AppError CONDITION_INVALID, exit code 2', () => {
    const error = parseError('os_vers EQUALS "10.9"');
    expect(error.code).toBe('CONDITION_INVALID');
    expect(error.exitCode).toBe(2);
  });

  it('shows the condition text in the message', () => {
    expect(parseError('os_vers EQUALS "10.9"').message).toBe(
      `unknown operator 'EQUALS' at column 9: os_vers EQUALS "10.9"`,
    );
  });

  it('keeps the message on one line when the condition spans lines', () => {
    const error = parseError('machine_type == "laptop"\nAND\nos_vers EQUALS "15"');
    expect(error.message).not.toMatch(/\n/);
    expect(error.column).toBe(38);
  });

  it('cuts a long condition to a window around the column', () => {
    const text = `${'a == 1 AND '.repeat(30)}b EQUALS 2`;
    const error = parseError(text);
    expect(error.message).toBe(
      "unknown operator 'EQUALS' at column 333: … == 1 AND a == 1 AND a == 1 AND a == 1 AND b EQUALS 2",
    );
  });

  it('names the unclosed parenthesis in the hint', () => {
    expect(parseError('(a == 1 OR (b == 2)').hint).toBe("the '(' at column 1 is never closed");
  });

  it('leaves the excerpt out of the message for an empty condition', () => {
    expect(parseError('').message).toBe('empty condition at column 1');
  });

  it('gives a hint for an unquoted version', () => {
    expect(parseError('os_vers == 10.9.1').hint).toBe('quote strings and versions: "10.9.1"');
  });

  it('refuses nesting deeper than any real condition', () => {
    expect(parseError(`${'('.repeat(500)}a == 1${')'.repeat(500)}`).message).toContain(
      'nested too deeply',
    );
  });
});
