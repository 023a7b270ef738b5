import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist, type PlistDict } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { loadConfig } from '../../../client/config.js';
import { runInstall } from '../../../client/install/run-install.js';
import { readNextDeadline } from '../../../client/deadlines/next-deadline.js';
import { notificationLogPath } from '../../../client/notify/notify-user.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';

const T = new Date('2026-03-02T12:00:00Z');
const plus = (minutes: number): Date => new Date(T.getTime() + minutes * 60_000);

let root: string;
beforeEach(async () => {
  root = await makeSandboxRoot({
    machine: { console_user: 'alice' },
    preferences: { DaysBetweenNotifications: 0 },
  });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function plan(item: PlistDict): Promise<void> {
  await writeFile(
    join(root, 'Library/Abbot/InstallInfo.plist'),
    buildPlist({
      managed_installs: [
        {
          version_to_install: '1.0',
          installer_type: 'nopkg',
          installer_item: 'packageless_install',
          installed: false,
          ...item,
        },
      ],
      removals: [],
    }),
  );
}

/** One `run --auto` install session (alice logged in, unless the test logged her out), at `at`. */
async function autoRun(at: Date): Promise<string[]> {
  const platform = sandboxPlatform(root);
  const config = await loadConfig({ paths: platform.paths });
  const outcome = await runInstall({
    platform,
    config,
    logger: memoryLogger(),
    mode: 'unattended',
    kind: 'auto',
    now: () => at,
  });
  return outcome.results.map((r) => `${r.name}:${r.result}`);
}

async function notifications(): Promise<{ kind: string; title: string }[]> {
  const text = await readFile(notificationLogPath(sandboxPlatform(root).paths), 'utf8').catch(
    () => '',
  );
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { kind: string; title: string });
}

describe('deadlines in run --auto with a user logged in', () => {
  it('warns 60, 30, 10 and 5 minutes ahead, then installs a restart item the user was warned about', async () => {
    // A RestartAction keeps Munki's plan from making it unattended: only the warnings can.
    await plan({
      name: 'SecurityPatch',
      RestartAction: 'RequireRestart',
      force_install_after_date: new Date('2026-03-01T00:00:00Z'),
    });
    const runs: string[][] = [];
    for (const minutes of [0, 60, 90, 100, 105]) runs.push(await autoRun(plus(minutes)));
    expect(runs.slice(0, 4).every((r) => r[0] === 'SecurityPatch:skipped')).toBe(true);
    expect(runs[4]).toEqual(['SecurityPatch:success']);
    expect((await notifications()).map((n) => n.title)).toEqual([
      'SecurityPatch will be installed in 60 minutes',
      'SecurityPatch will be installed in 30 minutes',
      'SecurityPatch will be installed in 10 minutes',
      'SecurityPatch will be installed in 5 minutes',
    ]);
  });

  it('counts reminders as deferrals and starts the deadline when they run out', async () => {
    await plan({ name: 'Browser', display_name: 'Web Browser', max_deferrals: 1 });
    await autoRun(plus(0));
    await autoRun(plus(1));
    const sent = await notifications();
    expect(sent.map((n) => n.kind)).toEqual([
      'updates-pending',
      'updates-pending',
      'deadline-warning',
    ]);
    expect(sent[0]?.title).toBe('Web Browser is waiting to be installed');
    const state = JSON.parse(
      await readFile(join(root, 'Library/Abbot/deferrals.json'), 'utf8'),
    ) as { items: Record<string, { deferrals: number; exhaustedAt?: string }> };
    expect(state.items['Browser']).toMatchObject({
      deferrals: 2,
      exhaustedAt: plus(1).toISOString(),
    });
  });

  it('forgets an item once it is no longer pending', async () => {
    await plan({ name: 'Browser', deferral_days: 3 });
    await autoRun(plus(0));
    await writeFile(
      join(root, 'Library/Abbot/InstallInfo.plist'),
      buildPlist({ managed_installs: [], removals: [] }),
    );
    await autoRun(plus(1));
    const state = JSON.parse(
      await readFile(join(root, 'Library/Abbot/deferrals.json'), 'utf8'),
    ) as {
      items: Record<string, unknown>;
    };
    expect(state.items).toEqual({});
  });
});

describe('deadlines at the login window outside the InstallWindow (unattended items only)', () => {
  beforeEach(async () => {
    await rm(root, { recursive: true, force: true });
    root = await makeSandboxRoot({ preferences: { DaysBetweenNotifications: 0 } });
  });

  it('waits for the deadline, wakes the daemon for it, then installs without warning anyone', async () => {
    await plan({
      name: 'SecurityPatch',
      RestartAction: 'RequireRestart',
      force_install_after_date: plus(90),
    });
    expect(await autoRun(plus(0))).toEqual(['SecurityPatch:skipped']);
    expect(await readNextDeadline(sandboxPlatform(root).paths)).toEqual(plus(90));

    expect(await autoRun(plus(90))).toEqual(['SecurityPatch:success']);
    expect(await notifications()).toEqual([]);
    expect(await readNextDeadline(sandboxPlatform(root).paths)).toBeUndefined();
  });
});
