/** `abbot bootstrap --set|--clear|--status` and the usage errors of `bootstrap` and `run`. */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapFlagPath } from '../../../client/bootstrap/bootstrap-flag.js';
import { pathsFor } from '../../../client/paths.js';
import { abbotCli } from '../../helpers/cli.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

async function root(): Promise<string> {
  const r = await makeSandboxRoot();
  roots.push(r);
  return r;
}

describe('abbot bootstrap', () => {
  it('sets, shows and clears bootstrap mode', async () => {
    const r = await root();
    const flag = bootstrapFlagPath(pathsFor(r));
    expect((await abbotCli(['bootstrap', '--set', '--root', r])).code).toBe(0);
    expect(JSON.parse(await readFile(flag, 'utf8'))).toMatchObject({ passes: [] });
    const status = await abbotCli(['bootstrap', '--status', '--root', r]);
    expect(status.stdout).toMatch(/^Bootstrap mode is set \(since .*\); 0 of at most 10 passes/);
    expect((await abbotCli(['bootstrap', '--clear', '--root', r])).stdout).toBe(
      'Bootstrap mode cleared.\n',
    );
    expect(existsSync(flag)).toBe(false);
    expect((await abbotCli(['bootstrap', '--clear', '--root', r])).stdout).toBe(
      'Bootstrap mode was not set.\n',
    );
  });

  it.each([
    ['bootstrap', 'bootstrap needs one of --set, --clear or --status'],
    ['bootstrap --set --clear', 'bootstrap needs one of --set, --clear or --status'],
    ['run', 'run needs one of --auto, --bootstrap or --item NAME'],
    ['run --auto --bootstrap', 'run needs one of --auto, --bootstrap or --item NAME'],
    ['daemon --auto', "Unknown option '--auto'"],
  ])('refuses `abbot %s` with a usage error (exit 2)', async (args, message) => {
    const r = await root();
    const result = await abbotCli([...args.split(' '), '--root', r]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names a corrupt flag file and leaves it as it was (exit 2)', async () => {
    const r = await root();
    const flag = bootstrapFlagPath(pathsFor(r));
    await writeFile(flag, '{"setAt": 12');
    const result = await abbotCli(['bootstrap', '--status', '--root', r]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${flag}: not valid JSON`);
    expect(await readFile(flag, 'utf8')).toBe('{"setAt": 12');
  });

  it('refuses an InstallWindow that is not HH:MM-HH:MM, naming the file and key', async () => {
    const r = await makeSandboxRoot({ preferences: { InstallWindow: '1am-5am' } });
    roots.push(r);
    const result = await abbotCli(['bootstrap', '--status', '--root', r]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${pathsFor(r).preferences}: InstallWindow must be`);
  });
});
