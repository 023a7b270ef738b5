import { describe, expect, it } from 'vitest';
import { autoInstallMode } from '../../../client/run/auto-run.js';

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
