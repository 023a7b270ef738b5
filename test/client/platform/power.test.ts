import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPlist } from '../../../formats/index.js';
import { macosPlatform } from '../../../client/platform/macos/macos-platform.js';
import { parsePmsetBatt } from '../../../client/platform/macos/power.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import type { PowerState } from '../../../client/platform/platform.js';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

describe('parsePmsetBatt (recorded `pmset -g batt` output)', () => {
  it.each<[string, string, PowerState]>([
    [
      // https://github.com/spaceship-prompt/spaceship-prompt/pull/640 (a MacBook on battery)
      'a laptop on battery',
      "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=5374051)\t95%; discharging; 3:06 remaining present: true\n",
      { source: 'battery', batteryPercent: 95 },
    ],
    [
      // https://github.com/imwally/battstat/issues/2 (El Capitan: no id in the battery line)
      'a laptop on AC, not charging',
      "Now drawing from 'AC Power'\n -InternalBattery-0 \t88%; AC attached; not charging present: true\n",
      { source: 'ac', batteryPercent: 88 },
    ],
    [
      // https://github.com/liquidprompt/liquidprompt/pull/317 (an iMac: no battery line at all)
      'a desktop',
      "Now drawing from 'AC Power'\n",
      { source: 'ac' },
    ],
    ['output that names no source', 'pmset: garbage\n', { source: 'unknown' }],
  ])('reads %s', (_what, text, state) => {
    expect(parsePmsetBatt(text)).toEqual(state);
  });
});

describe('the macOS power state', () => {
  it('runs pmset -g batt from under the command root and reads it', async () => {
    const commandRoot = await makeSandboxRoot();
    try {
      const log = join(commandRoot, 'argv.log');
      await writeFakeTool(
        commandRoot,
        log,
        '/usr/bin/pmset',
        'https://github.com/spaceship-prompt/spaceship-prompt/pull/640',
        'cat "$OUT.batt.out"',
        {
          batt: "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=5374051)\t95%; discharging; 3:06 remaining present: true\n",
        },
      );
      expect(await macosPlatform({ commandRoot }).powerState()).toEqual({
        source: 'battery',
        batteryPercent: 95,
      });
      expect(await readToolCalls(log)).toEqual([['/usr/bin/pmset', '-g', 'batt']]);
    } finally {
      await rm(commandRoot, { recursive: true, force: true });
    }
  });

  it('is unknown when pmset fails', async () => {
    const commandRoot = await makeSandboxRoot();
    try {
      await writeFakeTool(
        commandRoot,
        join(commandRoot, 'argv.log'),
        '/usr/bin/pmset',
        'none',
        'exit 1',
      );
      expect(await macosPlatform({ commandRoot }).powerState()).toEqual({ source: 'unknown' });
    } finally {
      await rm(commandRoot, { recursive: true, force: true });
    }
  });
});

describe('the sandbox power state (machine.plist)', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it.each<[Record<string, string | number>, PowerState]>([
    [{}, { source: 'ac' }],
    [
      { power_source: 'Battery Power', battery_percent: 40 },
      { source: 'battery', batteryPercent: 40 },
    ],
    [
      { power_source: 'AC Power', battery_percent: 100 },
      { source: 'ac', batteryPercent: 100 },
    ],
    [{ power_source: 'UPS Power' }, { source: 'unknown' }],
    [{ power_source: 'Battery Power', battery_percent: 140 }, { source: 'battery' }],
  ])('reads %j', async (machine, state) => {
    root = await makeSandboxRoot();
    await writeFile(join(root, 'Library/Abbot/machine.plist'), buildPlist(machine));
    expect(await sandboxPlatform(root).powerState()).toEqual(state);
  });
});
