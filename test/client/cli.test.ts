import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { abbotCli } from '../helpers/cli.js';
import { buildPlist } from '../../formats/index.js';
import { makeSandboxRoot } from '../helpers/sandbox-root.js';

const abbot = (args: string[]) => abbotCli(args);

describe('abbot CLI', () => {
  it('prints the package version', async () => {
    const r = await abbot(['--version']);
    expect(r).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('exits 2 with a one-line error for an unknown command', async () => {
    const r = await abbot(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('abbot: unknown command "frobnicate" (run `abbot --help` for usage)\n');
  });

  it('exits 2 and prints usage when no command is given', async () => {
    const r = await abbot([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: abbot/);
  });
});

describe('abbot status', () => {
  const roots: string[] = [];
  afterEach(async () => {
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });

  /** A sandbox with a state file, an InstallInfo.plist and a restart request, all from just now. */
  async function sandbox(): Promise<{ root: string; at: string }> {
    // Recent, so the real boot time is before them and the restart still counts as pending.
    const at = new Date(Date.now() - 5_000).toISOString();
    const root = await makeSandboxRoot({
      files: {
        'Library/Abbot/state.json': JSON.stringify({
          version: 1,
          lastCheck: { at, result: 'ok', manifest: 'site_default', installs: 1, removals: 0 },
          history: [
            {
              at,
              action: 'install',
              name: 'Zoom',
              version: '6.0',
              result: 'failed',
              durationSeconds: 2,
              error: 'installer exited 1',
              unattended: true,
            },
          ],
        }),
        'Library/Abbot/InstallInfo.plist': buildPlist({
          managed_installs: [
            {
              name: 'Firefox',
              version_to_install: '128.0',
              installed: false,
              installer_item: 'Firefox-128.0.pkg',
              unattended_install: true,
            },
          ],
          removals: [],
        }),
        'Library/Abbot/restart-requested.json': JSON.stringify({
          reasons: ['Foo 1.0 requires a restart'],
          requestedAt: at,
          updatedAt: at,
        }),
      },
    });
    roots.push(root);
    return { root, at };
  }

  it('prints the status of a sandbox', async () => {
    const { root, at } = await sandbox();
    const r = await abbot(['status', '--root', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `Last check: ${at}, ok (manifest site_default): 1 to install, 0 to remove\n`,
    );
    expect(r.stdout).toContain('Pending installs (1):\n  + Firefox 128.0 [unattended]\n');
    expect(r.stdout).toContain(`Restart required since ${at}:\n  Foo 1.0 requires a restart\n`);
    expect(r.stdout).toContain(
      `Recent failures (1):\n  ${at} install of Zoom 6.0: installer exited 1\n`,
    );
  });

  it('prints one JSON object with --json', async () => {
    const { root, at } = await sandbox();
    const r = await abbot(['status', '--json', '--root', root]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      lastCheck: { at, result: 'ok', manifest: 'site_default' },
      lastRun: null,
      pending: {
        installs: [{ name: 'Firefox', version_to_install: '128.0', unattended: true }],
        removals: [],
      },
      restart: { required: true, reasons: ['Foo 1.0 requires a restart'] },
      lastFailures: [{ name: 'Zoom', result: 'failed' }],
      warnings: [],
    });
  });

  it('changes nothing on disk', async () => {
    const { root } = await sandbox();
    const before = await readdir(join(root, 'Library/Abbot'));
    await abbot(['status', '--root', root]);
    expect(await readdir(join(root, 'Library/Abbot'))).toEqual(before);
  });

  it('exits 2 on an unknown flag', async () => {
    const r = await abbot(['status', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^abbot: .*frobnicate/);
  });
});
