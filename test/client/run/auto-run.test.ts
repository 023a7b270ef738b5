import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../client/config.js';
import { readNextDeadline } from '../../../client/deadlines/next-deadline.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { autoInstallMode, runAuto } from '../../../client/run/auto-run.js';
import { openClientState } from '../../../client/state/client-state.js';
import { memoryLogger } from '../../../lib/log.js';
import { noProgress } from '../../../lib/progress.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const night = new Date(2026, 0, 15, 2, 0);
const noon = new Date(2026, 0, 15, 12, 0);
const prefs = (over: { SuppressLoginwindowInstall?: boolean; InstallWindow?: string } = {}) => ({
  SuppressLoginwindowInstall: false,
  InstallWindow: undefined,
  ...over,
});

describe('autoInstallMode', () => {
  it.each([
    ['everything at the login window', prefs(), undefined, noon, false, 'all'],
    ['unattended items with a user logged in', prefs(), 'ada', noon, false, 'unattended'],
    [
      'unattended items at the login window with SuppressLoginwindowInstall',
      prefs({ SuppressLoginwindowInstall: true }),
      undefined,
      noon,
      false,
      'unattended',
    ],
    [
      'everything inside the install window',
      prefs({ InstallWindow: '01:00-05:00' }),
      undefined,
      night,
      false,
      'all',
    ],
    [
      'unattended items outside the install window',
      prefs({ InstallWindow: '01:00-05:00' }),
      undefined,
      noon,
      false,
      'unattended',
    ],
    ['everything in a bootstrap pass, user or not', prefs(), 'ada', noon, true, 'all'],
  ] as const)('%s', (_name, config, user, now, bootstrap, mode) => {
    expect(autoInstallMode(config, user, now, bootstrap)).toBe(mode);
  });
});

describe('runAuto with SuppressAutoInstall', () => {
  it('clears the next deadline step: nothing is enforced, so nothing to wake for', async () => {
    const root = await makeSandboxRoot({
      // Nothing listens on port 9: the check fails at once and the run carries on without it.
      preferences: {
        SoftwareRepoURL: 'https://127.0.0.1:9/repo',
        HttpRetries: 0,
        SuppressAutoInstall: true,
      },
    });
    try {
      const platform = sandboxPlatform(root);
      const state = await openClientState(platform.paths);
      await state.recordNextDeadline(new Date('2026-03-02T12:00:00Z'));
      const outcome = await runAuto({
        platform,
        config: await loadConfig({ paths: platform.paths }),
        logger: memoryLogger(),
        progress: noProgress,
      });
      expect(outcome).toMatchObject({ checkFailed: true, exitCode: 1 });
      expect(outcome.install).toBeUndefined();
      expect(await readNextDeadline(platform.paths)).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
