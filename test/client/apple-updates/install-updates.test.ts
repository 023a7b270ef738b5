import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VolumeOwnerCredentials } from '../../../client/apple-updates/credentials.js';
import {
  installAppleUpdateLabels,
  parseInstallLine,
  scrubSecret,
} from '../../../client/apple-updates/install-updates.js';
import {
  installStdin,
  softwareupdateCalls,
  writeFakeSoftwareUpdate,
} from './fake-softwareupdate.js';

const PASSWORD = 'Pa55 word!';
const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});
async function root(): Promise<string> {
  const r = await mkdtemp(join(tmpdir(), 'abbot-su-'));
  roots.push(r);
  return r;
}

describe('parseInstallLine', () => {
  it.each([
    ['Downloading macOS Sequoia 15.4', { kind: 'downloading', name: 'macOS Sequoia 15.4' }],
    ['Downloaded: macOS Sequoia 15.4', { kind: 'downloaded', name: 'macOS Sequoia 15.4' }],
    [
      'Downloaded Command Line Tools for Xcode',
      { kind: 'downloaded', name: 'Command Line Tools for Xcode' },
    ],
    [
      'Installing Command Line Tools for Xcode',
      { kind: 'installing', name: 'Command Line Tools for Xcode' },
    ],
    [
      'Done with Command Line Tools for Xcode',
      { kind: 'done', name: 'Command Line Tools for Xcode' },
    ],
    ['Installed Safari', { kind: 'done', name: 'Safari' }],
    ['Done.', { kind: 'finished' }],
    ['Progress: 42%', { kind: 'progress', percent: 42 }],
    ['Failed to authenticate', { kind: 'auth-failed' }],
    ['Package failed: no space', { kind: 'failed', message: 'Package failed: no space' }],
    [
      'You have installed one or more updates that requires that you restart your computer.',
      { kind: 'restart-required' },
    ],
    ['Please call halt(8) or select Shut Down from the Apple menu.', { kind: 'shutdown-required' }],
    ['Software Update Tool', undefined],
    ['Finding available software', undefined],
    ['something new', { kind: 'other', text: 'something new' }],
  ])('%s', (line, event) => {
    expect(parseInstallLine(line)).toEqual(event);
  });
});

describe('scrubSecret', () => {
  it('replaces every occurrence', () => {
    expect(scrubSecret('a Pa55 b Pa55', 'Pa55')).toBe('a *** b ***');
    expect(scrubSecret('nothing', undefined)).toBe('nothing');
  });
});

describe('installAppleUpdateLabels', () => {
  it('passes the labels, --agree-to-license and --user, and the password on stdin only', async () => {
    const r = await root();
    await writeFakeSoftwareUpdate(r, { install: 'install-bigsur-download.txt' });
    const events: string[] = [];
    const run = await installAppleUpdateLabels(r, {
      labels: ['macOS Big Sur 11.1 Beta 2-20C5061b', 'Safari14.0CatalinaAuto-14.0'],
      allowRestart: false,
      credentials: new VolumeOwnerCredentials('admin', PASSWORD),
      timeoutMs: 10_000,
      onEvent: (e) => events.push(e.kind),
    });
    expect(run).toMatchObject({ ok: true, exitCode: 0, downloaded: ['macOS Big Sur 11.1 Beta 2'] });
    const calls = await softwareupdateCalls(r);
    expect(calls).toEqual([
      [
        '--install',
        'macOS Big Sur 11.1 Beta 2-20C5061b',
        'Safari14.0CatalinaAuto-14.0',
        '--agree-to-license',
        '--user',
        'admin',
        '--stdinpass',
      ],
    ]);
    expect(calls.flat().join(' ')).not.toContain(PASSWORD);
    expect(run.argv.join(' ')).not.toContain(PASSWORD);
    expect(await installStdin(r)).toBe(`${PASSWORD}\n`);
    expect(events).toEqual(['downloading', 'downloaded']);
  });

  it('adds --restart only when allowed, and writes nothing to stdin without credentials', async () => {
    const r = await root();
    await writeFakeSoftwareUpdate(r, { install: 'install-bigsur-download.txt' });
    await installAppleUpdateLabels(r, { labels: ['X-1'], allowRestart: true, timeoutMs: 10_000 });
    expect(await softwareupdateCalls(r)).toEqual([
      ['--install', 'X-1', '--agree-to-license', '--restart'],
    ]);
    expect(await installStdin(r)).toBe('');
  });

  it('fails on "Failed to authenticate" even when softwareupdate exits 0', async () => {
    const r = await root();
    await writeFakeSoftwareUpdate(r, { install: 'install-sequoia-failed-to-authenticate.txt' });
    const run = await installAppleUpdateLabels(r, {
      labels: ['macOS Sequoia 15.4-24E248'],
      allowRestart: true,
      credentials: new VolumeOwnerCredentials('admin', PASSWORD),
      timeoutMs: 10_000,
    });
    expect(run).toMatchObject({ ok: false, authFailed: true });
    expect(run.error).toMatch(/could not authenticate the volume owner/);
  });

  it('fails on a non-zero exit, quoting the last line', async () => {
    const r = await root();
    await writeFakeSoftwareUpdate(r, { install: 'install-bigsur-download.txt', installExit: 1 });
    const run = await installAppleUpdateLabels(r, {
      labels: ['X-1'],
      allowRestart: false,
      timeoutMs: 10_000,
    });
    expect(run).toMatchObject({ ok: false, exitCode: 1 });
    expect(run.error).toBe(
      'softwareupdate exited with status 1: Downloaded: macOS Big Sur 11.1 Beta 2',
    );
  });

  it('kills a hung softwareupdate at the time limit and says so', async () => {
    const r = await root();
    await writeFakeSoftwareUpdate(r, { install: 'install-bigsur-download.txt', installSleep: 30 });
    const started = Date.now();
    const run = await installAppleUpdateLabels(r, {
      labels: ['X-1'],
      allowRestart: false,
      timeoutMs: 300,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run).toMatchObject({ ok: false, timedOut: true });
    expect(run.error).toMatch(/did not finish within .* minutes and was killed/);
  });

  it('reports a missing softwareupdate as a failure, not a throw', async () => {
    const run = await installAppleUpdateLabels(await root(), {
      labels: ['X-1'],
      allowRestart: false,
      timeoutMs: 1000,
    });
    expect(run.ok).toBe(false);
    expect(run.error).toMatch(/cannot run .*softwareupdate: ENOENT/);
  });
});
