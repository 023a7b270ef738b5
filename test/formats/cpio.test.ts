import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import {
  CpioParser,
  readCpio,
  writeCpioOdc,
  type CpioEntry,
  type CpioEvent,
  type CpioWriteEntry,
} from '../../formats/cpio.js';
import { writeCpioNewc } from '../helpers/flat-package.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

const SAMPLE: CpioWriteEntry[] = [
  { path: '.', mode: 0o040755, uid: 0, gid: 80, mtime: 1_700_000_000, nlink: 3 },
  { path: './Applications', mode: 0o040775, uid: 0, gid: 80, mtime: 1_700_000_001 },
  {
    path: './Applications/Foo.app/Contents/Info.plist',
    mode: 0o100644,
    data: '<plist/>',
    uid: 501,
    gid: 20,
  },
  { path: './usr/local/bin/tool', mode: 0o100755, data: 'x'.repeat(1000) },
  { path: './usr/local/bin/link', mode: 0o120755, data: 'tool' },
  { path: './empty', mode: 0o100600 },
];

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected an error');
}

/** Offset just past the trailer's name, i.e. the end of the meaningful bytes. */
function trailerEnd(archive: Uint8Array): number {
  const at = Buffer.from(archive).indexOf('TRAILER!!!\0');
  if (at < 0) throw new Error('no trailer');
  return at + 11;
}

describe('readCpio on odc written by writeCpioOdc', () => {
  const entries = readCpio(writeCpioOdc(SAMPLE));
  const byPath = new Map(entries.map((e) => [e.path, e]));

  it('returns every entry in order with ./ stripped and the root as "."', () => {
    expect(entries.map((e) => e.path)).toEqual([
      '.',
      'Applications',
      'Applications/Foo.app/Contents/Info.plist',
      'usr/local/bin/tool',
      'usr/local/bin/link',
      'empty',
    ]);
  });

  it.each([
    ['.', 'directory', 0o040755],
    ['Applications', 'directory', 0o040775],
    ['usr/local/bin/tool', 'file', 0o100755],
    ['usr/local/bin/link', 'symlink', 0o120755],
    ['empty', 'file', 0o100600],
  ])('reads %s as a %s with mode %o', (path, type, mode) => {
    expect(byPath.get(path)).toMatchObject({ type, mode });
  });

  it('keeps uid, gid, mtime and nlink', () => {
    expect(byPath.get('.')).toMatchObject({ uid: 0, gid: 80, mtime: 1_700_000_000, nlink: 3 });
    expect(byPath.get('Applications/Foo.app/Contents/Info.plist')).toMatchObject({
      uid: 501,
      gid: 20,
    });
  });

  it('returns file contents and sizes', () => {
    expect(
      text(byPath.get('Applications/Foo.app/Contents/Info.plist')?.data ?? new Uint8Array()),
    ).toBe('<plist/>');
    expect(byPath.get('usr/local/bin/tool')?.size).toBe(1000);
    expect(byPath.get('empty')?.data.length).toBe(0);
  });

  it('gives a symlink its target', () => {
    const link = byPath.get('usr/local/bin/link');
    expect(link?.linkTarget).toBe('tool');
    expect(text(link?.data ?? new Uint8Array())).toBe('tool');
  });

  it('pads the archive to 512-byte blocks and ignores the padding', () => {
    const archive = writeCpioOdc(SAMPLE);
    expect(archive.length % 512).toBe(0);
    expect(trailerEnd(archive)).toBeLessThan(archive.length);
  });
});

describe('readCpio on newc and crc', () => {
  // Name and data lengths 1..8 exercise every alignment of the 4-byte padding.
  const newcEntries: CpioWriteEntry[] = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({
    path: 'n'.repeat(n),
    mode: 0o100644,
    data: 'd'.repeat(n),
    mtime: n,
  }));

  it('reads every padding alignment', () => {
    const entries = readCpio(writeCpioNewc(newcEntries));
    expect(entries.map((e) => [e.path, text(e.data), e.mtime])).toEqual(
      newcEntries.map((e) => [e.path, e.data, e.mtime]),
    );
  });

  it('reads directories and symlinks', () => {
    const entries = readCpio(
      writeCpioNewc([
        { path: './dir', mode: 0o040700 },
        { path: './dir/ln', mode: 0o120777, data: '../target' },
      ]),
    );
    expect(entries.map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ['dir', 'directory', undefined],
      ['dir/ln', 'symlink', '../target'],
    ]);
  });

  it('reads the crc variant (070702) without verifying its checksum', () => {
    const archive = writeCpioNewc([{ path: 'f', mode: 0o100644, data: 'abc' }]);
    archive.set(bytes('070702'), 0);
    expect(readCpio(archive).map((e) => text(e.data))).toEqual(['abc']);
  });
});

describe('readCpio path safety', () => {
  it.each(['../evil', './a/../../evil', 'a/..', '..', '/etc/passwd', '//etc/passwd'])(
    'refuses %j',
    (path) => {
      const e = errorOf(() => readCpio(writeCpioOdc([{ path, mode: 0o100644, data: 'x' }])));
      expect(isAppError(e, 'ARCHIVE_INVALID')).toBe(true);
      expect(e.message).toMatch(/refused/);
    },
  );

  it.each([
    ['./a//b/./c', 'a/b/c'],
    ['./', '.'],
    ['a/', 'a'],
    ['a..b/..c', 'a..b/..c'],
  ])('normalises %j to %j', (raw, normal) => {
    expect(readCpio(writeCpioOdc([{ path: raw, mode: 0o040755 }]))[0]?.path).toBe(normal);
  });
});

describe('readCpio hard links', () => {
  it('gives later odc links the first link content, ignoring their dummy data', () => {
    const entries = readCpio(
      writeCpioOdc([
        { path: './a', mode: 0o100644, nlink: 3, ino: 7, dev: 1, data: 'real content' },
        { path: './other', mode: 0o100644, ino: 8, dev: 1, data: 'other' },
        { path: './b', mode: 0o100644, nlink: 3, ino: 7, dev: 1, data: 'dummy!!!!!!!' },
        { path: './c', mode: 0o100644, nlink: 3, ino: 7, dev: 1, data: '' },
      ]),
    );
    expect(entries.map((e) => [e.path, e.hardlinkTo, text(e.data), e.size])).toEqual([
      ['a', undefined, 'real content', 12],
      ['other', undefined, 'other', 5],
      ['b', 'a', 'real content', 12],
      ['c', 'a', 'real content', 12],
    ]);
  });

  it('does not link files that share an inode number on different devices', () => {
    const entries = readCpio(
      writeCpioOdc([
        { path: 'a', mode: 0o100644, nlink: 2, ino: 7, dev: 1, data: 'one' },
        { path: 'b', mode: 0o100644, nlink: 2, ino: 7, dev: 2, data: 'two' },
      ]),
    );
    expect(entries.map((e) => [e.hardlinkTo, text(e.data)])).toEqual([
      [undefined, 'one'],
      [undefined, 'two'],
    ]);
  });

  it('shares newc content stored on the last link with the earlier links', () => {
    const entries = readCpio(
      writeCpioNewc([
        { path: 'a', mode: 0o100644, nlink: 2, ino: 9 },
        { path: 'b', mode: 0o100644, nlink: 2, ino: 9, data: 'shared' },
      ]),
    );
    expect(entries.map((e) => [e.path, e.hardlinkTo, text(e.data)])).toEqual([
      ['a', undefined, 'shared'],
      ['b', 'a', 'shared'],
    ]);
  });
});

describe('readCpio on malformed input', () => {
  const archive = writeCpioOdc(SAMPLE);

  it('rejects every truncation before the end of the trailer', () => {
    const end = trailerEnd(archive);
    for (let cut = 0; cut < end; cut++) {
      const e = errorOf(() => readCpio(archive.subarray(0, cut)));
      expect(isAppError(e, 'ARCHIVE_INVALID'), `cut at ${cut}`).toBe(true);
    }
    expect(readCpio(archive.subarray(0, end))).toHaveLength(SAMPLE.length);
  });

  it('says where a truncated archive ends', () => {
    expect(() => readCpio(archive.subarray(0, 200))).toThrow(/truncated: it ends at offset 200/);
  });

  it.each([
    ['bad magic', bytes('070799'), /bad magic/],
    ['binary cpio', new Uint8Array([0xc7, 0x71, 0, 0, 0, 0]), /binary \(old\) cpio/],
    ['gzip bytes', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]), /bad magic/],
  ])('refuses %s', (_name, head, message) => {
    const broken = new Uint8Array(archive);
    broken.set(head, 0);
    expect(() => readCpio(broken)).toThrow(message);
  });

  it('refuses a header field that is not octal', () => {
    const broken = new Uint8Array(archive);
    broken.set(bytes('9'), 18); // first digit of the first entry's mode
    expect(() => readCpio(broken)).toThrow(
      /cpio header at offset 0: field mode "9.*" is not octal/,
    );
  });

  it('refuses a name that is not NUL-terminated', () => {
    const one = writeCpioOdc([{ path: 'abc', mode: 0o100644 }]);
    one[76 + 3] = 0x41; // the NUL after "abc"
    expect(() => readCpio(one)).toThrow(/not NUL-terminated/);
  });

  it('refuses a value too wide for an odc field when writing', () => {
    expect(() => writeCpioOdc([{ path: 'x', mode: 0o100644, uid: 0o10000000 }])).toThrow(
      /uid .* does not fit 6 octal digits/,
    );
  });
});

describe('CpioParser', () => {
  const archive = writeCpioOdc(SAMPLE);

  function collect(chunkSize: number): CpioEntry[] {
    const parser = new CpioParser();
    const events: CpioEvent[] = [];
    for (let at = 0; at < archive.length; at += chunkSize) {
      events.push(...parser.push(archive.subarray(at, at + chunkSize)));
    }
    parser.end();
    const out: { entry: CpioEntry; parts: Uint8Array[] }[] = [];
    for (const ev of events) {
      if (ev.kind === 'entry')
        out.push({ entry: { ...ev.entry, data: new Uint8Array() }, parts: [] });
      if (ev.kind === 'data') out.at(-1)?.parts.push(ev.data);
    }
    return out.map(({ entry, parts }) => ({
      ...entry,
      data: entry.linkTarget !== undefined ? bytes(entry.linkTarget) : Buffer.concat(parts),
    }));
  }

  it.each([1, 3, 76, 100, 4096])('yields the same entries when fed %i-byte chunks', (size) => {
    const whole = readCpio(archive).map((e) => ({ ...e, data: Buffer.from(e.data) }));
    expect(collect(size).map((e) => ({ ...e, data: Buffer.from(e.data) }))).toEqual(whole);
  });

  it('reports done after the trailer and ends with an end event', () => {
    const parser = new CpioParser();
    const events = parser.push(archive);
    expect(parser.isDone).toBe(true);
    expect(events.at(-1)).toEqual({ kind: 'end' });
  });

  it('throws from end() when the trailer never came', () => {
    const parser = new CpioParser();
    parser.push(archive.subarray(0, 300));
    expect(parser.isDone).toBe(false);
    expect(() => parser.end()).toThrow(/truncated/);
  });

  it('emits no data for a later odc hard link', () => {
    const parser = new CpioParser();
    const events = parser.push(
      writeCpioOdc([
        { path: 'a', mode: 0o100644, nlink: 2, ino: 3, data: 'content' },
        { path: 'b', mode: 0o100644, nlink: 2, ino: 3, data: 'garbage' },
      ]),
    );
    expect(events.map((e) => (e.kind === 'entry' ? `entry ${e.entry.path}` : e.kind))).toEqual([
      'entry a',
      'data',
      'entry b',
      'end',
    ]);
  });
});

const hasGnuCpio = spawnSync('cpio', ['--version']).status === 0;

describe.skipIf(!hasGnuCpio)('cross-check with GNU cpio', () => {
  it('lists what writeCpioOdc wrote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'abbot-cpio-'));
    try {
      const file = join(dir, 'a.cpio');
      writeFileSync(file, writeCpioOdc(SAMPLE));
      const r = spawnSync('cpio', ['-it', '--quiet', '-F', file], { encoding: 'utf8' });
      expect(r.stdout.trim().split('\n')).toEqual(SAMPLE.map((e) => e.path));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
