import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/log.js';
import {
  runStartosinstall,
  startosinstallArgv,
  type StartosinstallRun,
} from '../../../client/os-upgrade/run-startosinstall.js';
import type { PackageInstallProgress } from '../../../client/platform/platform.js';
import { readToolCalls } from '../../helpers/fake-tools.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import {
  APP,
  argvLog,
  placeInstallerApp,
  stdinLog,
  type FakeStartosinstall,
} from './fake-installer.js';

const PASSWORD = 'correct horse battery staple';
let root: string;
beforeEach(async () => {
  root = await makeSandboxRoot();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(
  fake: FakeStartosinstall,
  options: Partial<StartosinstallRun> = {},
): Promise<{
  result: Awaited<ReturnType<typeof runStartosinstall>>;
  logger: ReturnType<typeof memoryLogger>;
  progress: PackageInstallProgress[];
}> {
  await placeInstallerApp(root, fake);
  const logger = memoryLogger();
  const progress: PackageInstallProgress[] = [];
  const result = await runStartosinstall({
    root,
    appPath: APP,
    rebootDelaySeconds: 300,
    timeoutMs: 20_000,
    logger,
    onProgress: (p) => progress.push(p),
    ...options,
  });
  return { result, logger, progress };
}

describe('startosinstallArgv', () => {
  it('is exactly the documented argv, with --user and --stdinpass but no password', () => {
    expect(
      startosinstallArgv({
        root: '/',
        appPath: APP,
        rebootDelaySeconds: 120,
        credentials: { user: 'admin', password: PASSWORD },
        additionalOptions: ['--installpackage', '/Library/Abbot/post.pkg'],
      }),
    ).toEqual([
      `${APP}/Contents/Resources/startosinstall`,
      '--agreetolicense',
      '--nointeraction',
      '--rebootdelay',
      '120',
      '--forcequitapps',
      '--user',
      'admin',
      '--stdinpass',
      '--installpackage',
      '/Library/Abbot/post.pkg',
    ]);
  });

  it.each(['--stdinpass', '--passprompt', '--user', '--rebootdelay'])(
    'refuses %s among the additional options (it is ours to pass)',
    (option) => {
      expect(() =>
        startosinstallArgv({
          root: '/',
          appPath: APP,
          rebootDelaySeconds: 0,
          additionalOptions: [option],
        }),
      ).toThrow(/additional_startosinstall_options may not contain/);
    },
  );
});

describe('runStartosinstall', () => {
  it('passes the password on stdin only and reports progress until it waits to reboot', async () => {
    const { result, logger, progress } = await run(
      { output: 'prepared-reconstructed.txt' },
      { credentials: { user: 'admin', password: PASSWORD } },
    );
    expect(result.ok).toBe(true);
    const [call] = await readToolCalls(argvLog(root));
    expect(call).toEqual([
      join(root, APP, 'Contents/Resources/startosinstall'),
      '--agreetolicense',
      '--nointeraction',
      '--rebootdelay',
      '300',
      '--forcequitapps',
      '--user',
      'admin',
      '--stdinpass',
    ]);
    expect(call?.join(' ')).not.toContain(PASSWORD);
    expect(await readFile(stdinLog(root), 'utf8')).toBe(`${PASSWORD}\n`);
    expect(progress.filter((p) => p.percent !== undefined).map((p) => p.percent)).toEqual([
      0, 0.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3, 3.1,
    ]);
    expect(JSON.stringify(logger.entries)).not.toContain(PASSWORD);
  });

  it('gives nothing on stdin without credentials', async () => {
    await run({ output: 'prepared-reconstructed.txt' });
    expect(await readFile(stdinLog(root), 'utf8')).toBe('');
  });

  it('returns once the upgrade is prepared, without waiting out the reboot delay', async () => {
    const started = Date.now();
    const { result } = await run(
      { output: 'prepared-reconstructed.txt', sleepAfter: 30 },
      { timeoutMs: 4_000 },
    );
    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('fails with the recorded authorisation error and its exit status', async () => {
    const { result } = await run({ output: 'failed-to-authorize.txt', exitCode: 1 });
    expect(result).toMatchObject({
      ok: false,
      exitCode: 1,
      timedOut: false,
      error:
        'startosinstall failed: Error: failed to authorize for installation. Provide a password with --stdinpass or --passprompt.',
    });
  });

  it('fails on a non-zero exit without an error line, naming the status', async () => {
    const { result } = await run({ output: 'preparing-stalled.txt', exitCode: 3 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/exited with status 3/);
  });

  it('fails when it exits 0 without ever preparing the upgrade', async () => {
    const { result } = await run({ output: 'preparing.txt' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/ended without preparing the upgrade/);
  });

  it('fails on output that is not startosinstall’s at all', async () => {
    const { result } = await run({ output: 'fetch-update-not-found.txt' });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.error).toMatch(
        /ended without preparing the upgrade \(last said: Install failed/,
      );
  });

  it('kills a startosinstall that hangs past its time limit', async () => {
    const started = Date.now();
    const { result } = await run(
      { output: 'preparing-stalled.txt', sleepAfter: 60 },
      { timeoutMs: 1_000 },
    );
    expect(result).toMatchObject({ ok: false, timedOut: true, exitCode: 124 });
    if (!result.ok) expect(result.error).toMatch(/still preparing after .* and was stopped/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keeps the password out of errors even when the tool echoes it', async () => {
    const { result } = await run(
      { output: 'could-not-get-authorization.txt', exitCode: 1 },
      { credentials: { user: 'admin', password: 'could' } },
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBe('startosinstall failed: Error: *** not get authorization...');
      expect(result.transcript.join('\n')).not.toContain('could');
    }
  });
});
