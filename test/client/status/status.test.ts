import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClientStateData } from '../../../client/state/client-state.js';
import {
  formatStatus,
  formatStatusJson,
  readStatus,
  type StatusReport,
} from '../../../client/status/status.js';
import { buildPlist } from '../../../formats/index.js';

let stateDir: string;
let paths: { stateDir: string; installInfo: string };
const BOOT = new Date('2026-05-01T00:00:00Z');

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'abbot-status-'));
  paths = { stateDir, installInfo: join(stateDir, 'InstallInfo.plist') };
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const state: ClientStateData = {
  version: 1,
  lastCheck: {
    at: '2026-05-01T09:00:00.000Z',
    result: 'ok',
    manifest: 'site_default',
    installs: 2,
    removals: 1,
  },
  lastRun: {
    at: '2026-05-01T09:01:00.000Z',
    kind: 'auto',
    finishedAt: '2026-05-01T09:03:00.000Z',
    result: 'partial',
    restartRequired: false,
    logoutRequired: false,
  },
  history: [
    {
      at: '2026-05-01T08:00:00.000Z',
      action: 'install',
      name: 'Zoom',
      version: '6.0',
      result: 'failed',
      durationSeconds: 3,
      error: 'installer exited 1',
      unattended: true,
    },
    {
      at: '2026-05-01T09:02:00.000Z',
      action: 'install',
      name: 'Slack',
      version: '4.0',
      result: 'success',
      durationSeconds: 9,
      unattended: true,
    },
    {
      at: '2026-05-01T09:02:30.000Z',
      action: 'removal',
      name: 'OldTool',
      result: 'failed',
      durationSeconds: 1,
      error: 'removepackages failed',
      unattended: true,
    },
  ],
};

const installInfo = {
  managed_installs: [
    {
      name: 'Firefox',
      display_name: 'Mozilla Firefox',
      version_to_install: '128.0',
      installed: false,
      installer_item: 'Firefox-128.0.pkg',
      unattended_install: true,
    },
    { name: 'Office', version_to_install: '16.80', installed: false, installer_item: 'O.pkg' },
  ],
  removals: [
    { name: 'OldTool', installed: true, installed_version: '1.0' },
    { name: 'Gone', installed: false },
  ],
  problem_items: [{ name: 'Broken', installed: false, note: 'Integrity check failed' }],
  optional_installs: [],
};

async function put(name: string, content: string): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFile(join(stateDir, name), content);
}

describe('readStatus', () => {
  it('reports nothing known on a fresh machine', async () => {
    expect(await readStatus(paths, { bootedAt: BOOT })).toEqual({
      lastCheck: null,
      lastRun: null,
      pending: { installs: [], removals: [], problems: [] },
      restart: { required: false, logoutRequired: false, reasons: [], items: [] },
      nextDeadlineAt: null,
      lastFailures: [],
      warnings: [],
    });
  });

  it('gathers the last check, the pending work and the recent failures', async () => {
    await put('state.json', JSON.stringify(state));
    await put('InstallInfo.plist', buildPlist(installInfo));
    const report = await readStatus(paths, { bootedAt: BOOT });
    expect(report.lastCheck).toEqual(state.lastCheck);
    expect(report.lastRun).toEqual(state.lastRun);
    expect(report.pending).toEqual({
      installs: [
        {
          name: 'Firefox',
          display_name: 'Mozilla Firefox',
          version_to_install: '128.0',
          unattended: true,
        },
        { name: 'Office', display_name: 'Office', version_to_install: '16.80', unattended: false },
      ],
      removals: [
        { name: 'OldTool', display_name: 'OldTool', installed_version: '1.0', unattended: false },
      ],
      problems: [{ name: 'Broken', reason: 'Integrity check failed' }],
    });
    expect(report.lastFailures.map((f) => f.name)).toEqual(['OldTool', 'Zoom']);
    expect(report.warnings).toEqual([]);
  });

  it('limits the failures listed', async () => {
    await put('state.json', JSON.stringify(state));
    const report = await readStatus(paths, { bootedAt: BOOT, failures: 1 });
    expect(report.lastFailures.map((f) => f.name)).toEqual(['OldTool']);
  });

  it("reads a restart request in the platform's shape", async () => {
    await put(
      'restart-requested.json',
      JSON.stringify({
        reasons: ['Foo 1.0 requires a restart', 'macOS update'],
        requestedAt: '2026-05-01T09:02:00.000Z',
        updatedAt: '2026-05-01T09:03:00.000Z',
      }),
    );
    expect((await readStatus(paths, { bootedAt: BOOT })).restart).toEqual({
      required: true,
      logoutRequired: false,
      reasons: ['Foo 1.0 requires a restart', 'macOS update'],
      items: [],
      since: '2026-05-01T09:02:00.000Z',
    });
  });

  it('reads a restart request of the form { at, reason, items }', async () => {
    await put(
      'restart-requested.json',
      JSON.stringify({ at: '2026-05-01T09:02:00Z', reason: 'RequireRestart', items: ['Foo'] }),
    );
    expect((await readStatus(paths, { bootedAt: BOOT })).restart).toEqual({
      required: true,
      logoutRequired: false,
      reasons: ['RequireRestart'],
      items: ['Foo'],
      since: '2026-05-01T09:02:00Z',
    });
  });

  it('ignores a restart request older than the last boot', async () => {
    await put(
      'restart-requested.json',
      JSON.stringify({ at: '2026-04-30T09:02:00Z', reason: 'RequireRestart', items: ['Foo'] }),
    );
    expect((await readStatus(paths, { bootedAt: BOOT })).restart.required).toBe(false);
  });

  it('counts an unreadable restart request as a restart request, with a warning', async () => {
    await put('restart-requested.json', '{"reasons": [');
    const report = await readStatus(paths, { bootedAt: BOOT });
    expect(report.restart).toMatchObject({ required: true, reasons: ['a restart was requested'] });
    expect(report.warnings).toEqual([expect.stringContaining('restart-requested.json')]);
  });

  it('reports the restart the last run asked for until the machine boots', async () => {
    const needs = { ...state, lastRun: { ...state.lastRun!, restartRequired: true } };
    await put('state.json', JSON.stringify(needs));
    expect((await readStatus(paths, { bootedAt: BOOT })).restart).toEqual({
      required: true,
      logoutRequired: false,
      reasons: ['the last auto run (started 2026-05-01T09:01:00.000Z) asked for one'],
      items: [],
      since: '2026-05-01T09:03:00.000Z',
    });
    const after = new Date('2026-05-01T12:00:00Z');
    expect((await readStatus(paths, { bootedAt: after })).restart.required).toBe(false);
  });

  it('reports a corrupt state file without moving it aside', async () => {
    await put('state.json', '{"version": 1, "hist');
    const report = await readStatus(paths, { bootedAt: BOOT });
    expect(report.lastCheck).toBeNull();
    expect(report.warnings).toEqual([
      expect.stringMatching(/state\.json: not valid JSON .*; the next run moves it aside$/),
    ]);
    expect(await readdir(stateDir)).toEqual(['state.json']);
  });

  it('reports the next deadline step the last run recorded', async () => {
    await put(
      'state.json',
      JSON.stringify({ ...state, nextDeadlineAt: '2026-05-01T11:50:00.000Z' }),
    );
    const report = await readStatus(paths, { bootedAt: BOOT });
    expect(report.nextDeadlineAt).toBe('2026-05-01T11:50:00.000Z');
  });

  it('names a malformed InstallInfo.plist in a warning', async () => {
    await put('InstallInfo.plist', '<plist><dict><key>managed_installs</key>');
    const report = await readStatus(paths, { bootedAt: BOOT });
    expect(report.pending.installs).toEqual([]);
    expect(report.warnings).toEqual([expect.stringContaining('InstallInfo.plist')]);
  });
});

describe('formatStatus', () => {
  const full: StatusReport = {
    lastCheck: state.lastCheck!,
    lastRun: state.lastRun!,
    pending: {
      installs: [
        {
          name: 'Firefox',
          display_name: 'Mozilla Firefox',
          version_to_install: '128.0',
          unattended: true,
        },
      ],
      removals: [
        { name: 'OldTool', display_name: 'OldTool', installed_version: '1.0', unattended: false },
      ],
      problems: [{ name: 'Broken', reason: 'Integrity check failed' }],
    },
    restart: {
      required: true,
      logoutRequired: false,
      reasons: ['macOS update'],
      items: ['Foo'],
      since: '2026-05-01T09:02:00Z',
    },
    nextDeadlineAt: null,
    lastFailures: [state.history[2]!],
    warnings: [],
  };

  it('prints the whole status readably', () => {
    expect(formatStatus(full)).toBe(
      [
        'Last check: 2026-05-01T09:00:00.000Z, ok (manifest site_default): 2 to install, 1 to remove',
        'Last run:   auto, 2026-05-01T09:01:00.000Z to 2026-05-01T09:03:00.000Z, partial',
        '',
        'Pending installs (1):',
        '  + Mozilla Firefox 128.0 [unattended]',
        '',
        'Pending removals (1):',
        '  - OldTool 1.0',
        '',
        'Problems (1):',
        '  ! Broken: Integrity check failed',
        '',
        'Restart required since 2026-05-01T09:02:00Z:',
        '  macOS update',
        '  Foo asked for it',
        '',
        'Recent failures (1):',
        '  2026-05-01T09:02:30.000Z removal of OldTool: removepackages failed',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing has happened yet', () => {
    expect(
      formatStatus({
        lastCheck: null,
        lastRun: null,
        pending: { installs: [], removals: [], problems: [] },
        restart: { required: false, logoutRequired: false, reasons: [], items: [] },
        nextDeadlineAt: null,
        lastFailures: [],
        warnings: [],
      }),
    ).toBe('Last check: never\nLast run:   never\n\nNothing pending.\n');
  });

  it('shows a failed check with its error and an unfinished run', () => {
    const text = formatStatus({
      ...full,
      lastCheck: {
        at: 'T1',
        result: 'failed',
        error: 'HTTP 500 from repo',
        installs: 0,
        removals: 0,
      },
      lastRun: {
        at: 'T2',
        kind: 'install',
        result: 'running',
        restartRequired: false,
        logoutRequired: false,
      },
    });
    expect(text).toContain('Last check: T1, failed: HTTP 500 from repo\n');
    expect(text).toContain(
      'Last run:   install, started T2, not finished (running, or interrupted)\n',
    );
  });

  it('shows the next deadline step in local time, with the offset', () => {
    const text = formatStatus({ ...full, nextDeadlineAt: '2026-05-01T11:50:00.000Z' });
    const line = /^Next deadline step: (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d:\d\d)$/m.exec(
      text,
    );
    expect(line).not.toBeNull();
    const [, day, time, offset] = line!;
    // Read back as the local time it claims to be, it is the same instant.
    expect(new Date(`${day}T${time}${offset}`).toISOString()).toBe('2026-05-01T11:50:00.000Z');
    const local = new Date('2026-05-01T11:50:00.000Z');
    expect(time).toBe(
      [local.getHours(), local.getMinutes(), local.getSeconds()]
        .map((n) => String(n).padStart(2, '0'))
        .join(':'),
    );
    expect(text.indexOf('Next deadline step')).toBeGreaterThan(text.indexOf('Last run:'));
  });

  it('has no deadline line when no step is coming', () => {
    expect(formatStatus(full)).not.toContain('Next deadline step');
  });

  it('prints the JSON form as one object that parses back to the report', () => {
    expect(JSON.parse(formatStatusJson(full))).toEqual(full);
  });

  it('carries the next deadline step in the JSON form', () => {
    const json = JSON.parse(
      formatStatusJson({ ...full, nextDeadlineAt: '2026-05-01T11:50:00.000Z' }),
    ) as StatusReport;
    expect(json.nextDeadlineAt).toBe('2026-05-01T11:50:00.000Z');
    expect((JSON.parse(formatStatusJson(full)) as StatusReport).nextDeadlineAt).toBeNull();
  });
});
