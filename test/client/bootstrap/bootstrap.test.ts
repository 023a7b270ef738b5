/**
 * Bootstrap mode in the sandbox, end to end: the daemon started in-process with the flag set makes
 * check-and-install passes (child `abbot run --bootstrap` processes) against a repo served over
 * HTTPS. A restart the sandbox records is acted on by the test: it stops the daemon and starts it
 * again, as a reboot would.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bootstrapFlagPath,
  readBootstrapResult,
  readBootstrapState,
} from '../../../client/bootstrap/bootstrap-flag.js';
import { readLoginwindowStatus } from '../../../client/bootstrap/loginwindow-status.js';
import { pathsFor } from '../../../client/paths.js';
import { parsePlist, type PlistDict } from '../../../formats/index.js';
import { abbotCli } from '../../helpers/cli.js';
import { useDaemonSandboxes, type DaemonSandbox } from '../daemon/daemon-sandbox.js';

const sandboxes = useDaemonSandboxes();

/** A sandbox with a user logged in (bootstrap installs everything anyway) and the flag set. */
async function prepare(items: string[], maxPasses?: number): Promise<DaemonSandbox> {
  const sandbox = await sandboxes.sandbox(
    { enroll: items },
    'enroll',
    { machine: { console_user: 'ada' } },
    maxPasses === undefined ? {} : { BootstrapMaxPasses: maxPasses },
  );
  const set = await abbotCli(['bootstrap', '--set', '--root', sandbox.root]);
  expect(set.code).toBe(0);
  expect(set.stdout).toContain('when the daemon next starts');
  return sandbox;
}

const exists = (root: string, path: string) => existsSync(join(root, path));

describe('bootstrap', () => {
  it('installs everything across a restart, then clears the flag', async () => {
    const s = await prepare(['BaseApp', 'Settings', 'Driver']);
    const paths = pathsFor(s.root);

    const first = await sandboxes.start(s);
    expect(await first.bootstrapDone()).toEqual({ outcome: 'restarting', pass: 1 });
    // The sandbox records the restart Driver asked for; the status window says so.
    const request = JSON.parse(
      await readFile(join(paths.stateDir, 'restart-requested.json'), 'utf8'),
    ) as { reasons: string[] };
    expect(request.reasons.join(' ')).toContain('RequireRestart');
    expect((await readLoginwindowStatus(paths))?.phase).toBe('restarting');
    expect((await readBootstrapState(paths))?.passes).toMatchObject([
      { pass: 1, installed: ['BaseApp', 'Settings', 'Driver'], restartRequested: true },
    ]);

    // "Reboot": the daemon stops, the machine comes back up (the restart request is done), the
    // daemon starts again and carries on.
    await sandboxes.stop(first);
    await rm(join(paths.stateDir, 'restart-requested.json'));
    const second = await sandboxes.start(s);
    const result = await second.bootstrapDone();
    expect(result).toMatchObject({ outcome: 'complete', failures: [] });
    expect(result && 'passes' in result ? result.passes.map((p) => p.pass) : []).toEqual([1, 2]);

    expect(existsSync(bootstrapFlagPath(paths))).toBe(false);
    expect(await readBootstrapResult(paths)).toMatchObject({ outcome: 'complete' });
    expect(await readLoginwindowStatus(paths)).toMatchObject({
      phase: 'complete',
      message: 'This Mac is ready',
    });
    expect(exists(s.root, 'Applications/BaseApp/readme.txt')).toBe(true);
    expect(exists(s.root, 'var/db/receipts/org.example.baseapp.plist')).toBe(true);
    expect(exists(s.root, 'Library/Example/Settings.done')).toBe(true);
    expect(exists(s.root, 'Library/Example/Driver.done')).toBe(true);
    const status = await abbotCli(['bootstrap', '--status', '--root', s.root]);
    expect(status.stdout).toContain('Bootstrap mode is not set.');
    expect(status.stdout).toContain('Last bootstrap: complete');
  });

  it('ends after a pass that makes no progress, and reports the failure', async () => {
    const s = await prepare(['BaseApp', 'Broken']);
    const paths = pathsFor(s.root);
    const daemon = await sandboxes.start(s);
    const result = await daemon.bootstrapDone();
    expect(result).toMatchObject({
      outcome: 'failed',
      reason: 'only failures remain after pass 2',
      failures: [{ name: 'Broken', action: 'install' }],
    });
    expect(existsSync(bootstrapFlagPath(paths))).toBe(false);
    const last = await readBootstrapResult(paths);
    expect(last?.passes.map((p) => [p.pass, p.installed, p.failed.map((f) => f.name)])).toEqual([
      [1, ['BaseApp'], ['Broken']],
      [2, [], ['Broken']],
    ]);
    const shown = await readLoginwindowStatus(paths);
    expect(shown?.phase).toBe('failed');
    expect(shown?.failures?.map((f) => f.name)).toEqual(['Broken']);
    // Each pass's run wrote Munki's report; the last one names the failure.
    const report = parsePlist(await readFile(paths.report)) as PlistDict;
    expect(report['RunType']).toBe('checkandinstallatstartup');
    expect(JSON.stringify(report['Errors'])).toContain('Broken');
    expect(exists(s.root, 'Applications/BaseApp/readme.txt')).toBe(true);
    const status = await abbotCli(['bootstrap', '--status', '--root', s.root]);
    expect(status.stdout).toContain('Last bootstrap: failed');
    expect(status.stdout).toContain('failed: Broken: Broken: preinstall_script exited with 1');
  });

  it('gives up after BootstrapMaxPasses passes, counted across restarts', async () => {
    const s = await prepare(['BaseApp', 'Broken'], 1);
    const daemon = await sandboxes.start(s);
    expect(await daemon.bootstrapDone()).toMatchObject({
      outcome: 'failed',
      reason: 'gave up after 1 passes',
    });
    expect((await readBootstrapResult(pathsFor(s.root)))?.passes).toHaveLength(1);
  });

  it('starts at once when set while the daemon runs', async () => {
    const sandbox = await sandboxes.sandbox({ enroll: ['Settings'] }, 'enroll');
    const daemon = await sandboxes.start(sandbox);
    expect(await daemon.bootstrapDone()).toEqual({ outcome: 'not-set' });
    const set = await abbotCli(['bootstrap', '--set', '--root', sandbox.root]);
    expect(set.stdout).toContain('the daemon has started it');
    expect(await daemon.bootstrapDone()).toMatchObject({ outcome: 'complete' });
    expect(exists(sandbox.root, 'Library/Example/Settings.done')).toBe(true);
  });
});
