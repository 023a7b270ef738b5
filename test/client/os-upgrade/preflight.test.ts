import { describe, expect, it } from 'vitest';
import {
  checkUpgradePower,
  checkUpgradeSpace,
  checkUpgradeVersion,
  DEFAULT_UPGRADE_SPACE_BYTES,
  upgradeSpaceNeeded,
} from '../../../client/os-upgrade/preflight.js';
import type { PowerState } from '../../../client/platform/platform.js';

describe('checkUpgradeVersion', () => {
  it.each([
    ['14.5', '15.1', undefined],
    ['14.7.1', '15.0', undefined],
    ['15.1', '15.1', 'already running'],
    ['15.2', '15.1', 'never downgrades'],
    ['15.0', '14.7.1', 'never downgrades'],
  ])('macOS %s with an installer for %s: %s', (running, installer, refusal) => {
    const problem = checkUpgradeVersion(running, installer);
    if (refusal === undefined) expect(problem).toBeUndefined();
    else
      expect(problem).toMatchObject({
        check: 'version',
        message: expect.stringContaining(refusal),
      });
  });
});

describe('checkUpgradePower', () => {
  it.each<[PowerState, boolean]>([
    [{ source: 'ac' }, true],
    [{ source: 'ac', batteryPercent: 12 }, true],
    [{ source: 'battery', batteryPercent: 51 }, true],
    [{ source: 'battery', batteryPercent: 50 }, false],
    [{ source: 'battery', batteryPercent: 40 }, false],
    [{ source: 'battery' }, false],
    [{ source: 'unknown' }, true],
  ])('%j may upgrade: %s', (power, allowed) => {
    const problem = checkUpgradePower(power);
    expect(problem === undefined).toBe(allowed);
    if (problem) expect(problem.check).toBe('power');
  });
});

describe('free space', () => {
  it.each([
    [undefined, DEFAULT_UPGRADE_SPACE_BYTES],
    [0, DEFAULT_UPGRADE_SPACE_BYTES],
    ['27262976', DEFAULT_UPGRADE_SPACE_BYTES],
    [27_262_976, 27_262_976 * 1024],
  ])('needs installed_size %j as %d bytes', (size, bytes) => {
    expect(upgradeSpaceNeeded(size)).toBe(bytes);
  });

  it('refuses when the volume has less than the need, with both figures', async () => {
    const statfs = () => Promise.resolve({ bavail: 20 * 1024 ** 2, bsize: 1024 });
    const problem = await checkUpgradeSpace('/', DEFAULT_UPGRADE_SPACE_BYTES, statfs);
    expect(problem?.check).toBe('space');
    expect(problem?.message).toMatch(/need 25\.0 GiB, have 20\.0 GiB to upgrade macOS$/);
  });

  it('allows the upgrade when the space is there', async () => {
    const statfs = () => Promise.resolve({ bavail: 30 * 1024 ** 2, bsize: 1024 });
    expect(await checkUpgradeSpace('/', DEFAULT_UPGRADE_SPACE_BYTES, statfs)).toBeUndefined();
  });
});
