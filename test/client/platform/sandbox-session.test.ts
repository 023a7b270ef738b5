import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const cleanup: string[] = [];
afterEach(async () => {
  for (const p of cleanup.splice(0)) await rm(p, { recursive: true, force: true });
});

async function root(spec: Parameters<typeof makeSandboxRoot>[0] = {}): Promise<string> {
  const r = await makeSandboxRoot(spec);
  cleanup.push(r);
  return r;
}

describe('sandbox stand-ins for the session', () => {
  it('reads running processes from Library/Abbot/processes.txt, skipping blanks and comments', async () => {
    const r = await root({
      files: {
        'Library/Abbot/processes.txt':
          '# ps\n/Applications/Foo.app/Contents/MacOS/Foo\n\n/usr/bin/bar\n',
      },
    });
    expect(await sandboxPlatform(r).listProcesses()).toEqual([
      '/Applications/Foo.app/Contents/MacOS/Foo',
      '/usr/bin/bar',
    ]);
  });

  it('has no processes when the file is absent', async () => {
    expect(await sandboxPlatform(await root()).listProcesses()).toEqual([]);
  });

  it.each([
    [{ console_user: 'alice' }, 'alice'],
    [{ console_user: 'root' }, undefined],
    [{}, undefined],
  ])('takes the console user from machine.plist %j', async (machine, expected) => {
    const r = await root({ machine: machine as Record<string, string> });
    expect(await sandboxPlatform(r).consoleUser()).toBe(expected);
  });

  it('removes an item under the root, recursively', async () => {
    const r = await root({ files: { 'Applications/Foo.app/Contents/Info.plist': '<plist/>' } });
    expect(await sandboxPlatform(r).removeItem('/Applications/Foo.app')).toBe(true);
    expect(existsSync(join(r, 'Applications/Foo.app'))).toBe(false);
    expect(await sandboxPlatform(r).removeItem('/Applications/Foo.app')).toBe(false);
  });

  it('refuses to remove through a symlink that leaves the root', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'abbot-outside-'));
    cleanup.push(outside);
    await writeFile(join(outside, 'precious'), 'keep');
    const r = await root();
    await mkdir(join(r, 'Library'), { recursive: true });
    await symlink(outside, join(r, 'Library/Escape'));
    expect(await sandboxPlatform(r).removeItem('/Library/Escape/precious')).toBe(false);
    expect(existsSync(join(outside, 'precious'))).toBe(true);
  });
});
