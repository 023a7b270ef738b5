import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../lib/log.js';
import {
  readUpgradeRecord,
  settleUpgrade,
  upgradeRecordPath,
  writeUpgradeRecord,
  type UpgradeRecord,
} from '../../../client/os-upgrade/upgrade-state.js';

const STARTED: UpgradeRecord = {
  name: 'Install_macOS_Sequoia',
  version: '15.1',
  appPath: '/Applications/Install macOS Sequoia.app',
  stage: 'started',
  fromVersion: '14.5',
  stagedAt: '2026-03-01T09:00:00.000Z',
  startedAt: '2026-03-01T10:00:00.000Z',
};
const BEFORE_START = new Date('2026-03-01T08:00:00Z');
const AFTER_START = new Date('2026-03-01T10:20:00Z');

let paths: { stateDir: string };
beforeEach(async () => {
  paths = { stateDir: await mkdtemp(join(tmpdir(), 'abbot-upgrade-')) };
});
afterEach(async () => {
  await rm(paths.stateDir, { recursive: true, force: true });
});

describe('the upgrade record', () => {
  it('is written atomically, root-only, and read back', async () => {
    await writeUpgradeRecord(paths, STARTED);
    expect((await stat(upgradeRecordPath(paths))).mode & 0o777).toBe(0o600);
    expect(await readUpgradeRecord(paths, memoryLogger())).toEqual(STARTED);
  });

  it.each([
    ['not JSON', '{"name":'],
    ['the wrong shape', '{"name":"x","stage":"done"}'],
  ])('is ignored with a warning when it is %s', async (_what, text) => {
    await mkdir(paths.stateDir, { recursive: true });
    await writeFile(upgradeRecordPath(paths), text);
    const logger = memoryLogger();
    expect(await readUpgradeRecord(paths, logger)).toBeUndefined();
    expect(logger.entries[0]?.level).toBe('warn');
  });
});

describe('settleUpgrade', () => {
  it('records the upgrade as installed once the new macOS runs, and clears the record', async () => {
    await writeUpgradeRecord(paths, STARTED);
    const settled = await settleUpgrade(paths, '15.1', AFTER_START, memoryLogger());
    expect(settled).toMatchObject({
      result: 'installed',
      message: 'macOS upgraded from 14.5 to 15.1',
    });
    expect(await readUpgradeRecord(paths, memoryLogger())).toBeUndefined();
  });

  it('waits while the restart is still to come (no boot since it started)', async () => {
    await writeUpgradeRecord(paths, STARTED);
    expect(await settleUpgrade(paths, '14.5', BEFORE_START, memoryLogger())).toBeUndefined();
    expect((await readUpgradeRecord(paths, memoryLogger()))?.stage).toBe('started');
  });

  it('records a failure when the Mac restarted and still runs the old macOS, keeping the app staged', async () => {
    await writeUpgradeRecord(paths, STARTED);
    const settled = await settleUpgrade(paths, '14.5', AFTER_START, memoryLogger());
    expect(settled?.result).toBe('failed');
    expect(settled?.message).toMatch(/did not complete: macOS 14.5 is still running/);
    const left = JSON.parse(await readFile(upgradeRecordPath(paths), 'utf8')) as UpgradeRecord;
    expect(left.stage).toBe('staged');
    expect(left.startedAt).toBeUndefined();
  });

  it('drops a staged record that the running macOS has overtaken, reporting nothing', async () => {
    const { startedAt: _s, ...staged } = STARTED;
    await writeUpgradeRecord(paths, { ...staged, stage: 'staged' });
    expect(await settleUpgrade(paths, '15.2', AFTER_START, memoryLogger())).toBeUndefined();
    expect(await readUpgradeRecord(paths, memoryLogger())).toBeUndefined();
  });
});
