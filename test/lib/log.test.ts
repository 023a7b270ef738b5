import { describe, expect, it } from 'vitest';
import { memoryLogger, redact, streamLogger } from '../../lib/log.js';
import { terminalProgress } from '../../lib/progress.js';
import { AppError, describeError } from '../../lib/errors.js';

describe('redact', () => {
  it.each([
    [
      'https://admin:s3cret@repo.example.com/catalogs/all',
      'https://***@repo.example.com/catalogs/all',
    ],
    ['Authorization: Basic YWRtaW46czNjcmV0', 'Authorization: ***'],
    ['nothing secret here', 'nothing secret here'],
  ])('turns %s into %s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });
});

describe('loggers', () => {
  it('masks secret-looking fields in a memory logger', () => {
    const log = memoryLogger();
    log.info('x.y', 'msg', { password: 'hunter2', url: 'https://u:p@h/x', count: 3 });
    expect(log.entries[0]?.fields).toEqual({ password: '***', url: 'https://***@h/x', count: 3 });
  });

  it('sends info to out and warnings to err, and drops info when quiet', () => {
    let out = '';
    let err = '';
    const sinks = {
      out: { write: (s: string) => (out += s) },
      err: { write: (s: string) => (err += s) },
    };
    streamLogger(sinks).info('a', 'hello');
    streamLogger(sinks).warn('a', 'careful');
    streamLogger({ ...sinks, quiet: true }).info('a', 'hidden');
    expect(out).toBe('hello\n');
    expect(err).toBe('careful\n');
  });
});

describe('terminalProgress', () => {
  it('prints nothing when the stream is not a TTY', () => {
    let text = '';
    const p = terminalProgress({ write: (s: string) => (text += s), isTTY: false });
    p.update('Reading', 1, 10);
    p.done();
    expect(text).toBe('');
  });

  it('overwrites one line on a TTY and clears it when done', () => {
    let text = '';
    let t = 0;
    const p = terminalProgress(
      { write: (s: string) => (text += s), isTTY: true, columns: 80 },
      { now: () => (t += 1000) },
    );
    p.update('Reading', 5, 10);
    p.done();
    expect(text).toBe('\rReading 5/10 (50%)  \r\x1b[K');
  });

  it('prints nothing when quiet, even on a TTY', () => {
    let text = '';
    terminalProgress({ write: (s: string) => (text += s), isTTY: true }, { quiet: true }).update(
      'x',
      1,
    );
    expect(text).toBe('');
  });
});

describe('AppError', () => {
  it.each([
    ['USAGE', 2],
    ['PLIST_INVALID', 2],
    ['NETWORK', 1],
    ['HASH_MISMATCH', 1],
  ] as const)('maps %s to exit code %i', (code, exit) => {
    expect(new AppError(code, 'm').exitCode).toBe(exit);
  });

  it('includes the hint in the one-line description', () => {
    expect(describeError(new AppError('USAGE', 'bad flag', { hint: 'see --help' }))).toBe(
      'bad flag (see --help)',
    );
  });
});
