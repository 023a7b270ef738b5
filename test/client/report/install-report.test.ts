import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstallPlan, PlanItem } from '../../../client/plan/index.js';
import {
  MAX_ARCHIVED_REPORTS,
  archiveName,
  buildManagedInstallReport,
  runTypeFor,
  writeManagedInstallReport,
  type ManagedInstallReportInput,
} from '../../../client/report/install-report.js';
import { PlistReal, isPlistDict, parsePlist, type PlistDict } from '../../../formats/index.js';

const item = (name: string, over: Partial<PlanItem> = {}): PlanItem => ({
  name,
  reason: 'managed_installs in site_default',
  installed: false,
  ...over,
});

const plan: InstallPlan = {
  managedInstalls: [
    item('Firefox', { version_to_install: '128.0', installer_item: 'Firefox-128.0.pkg' }),
  ],
  removals: [item('OldTool', { installed: true, installed_version: '1.0', reason: 'autoremove' })],
  optionalInstalls: [],
  managedUpdates: ['Chrome'],
  featuredItems: [],
  problemItems: [item('Broken', { note: 'Integrity check failed' })],
  installedItems: [item('Slack', { installed: true, installed_version: '4.0' })],
  removedItems: [item('Gone', { reason: 'managed_uninstalls in site_default' })],
  processedInstalls: ['Firefox', 'Slack', 'Broken'],
  processedUninstalls: ['OldTool', 'Gone'],
  warnings: [],
  selfServe: undefined,
  selfServeChanged: false,
};

const input = (over: Partial<ManagedInstallReportInput> = {}): ManagedInstallReportInput => ({
  startTime: new Date('2026-05-01T10:00:00Z'),
  endTime: new Date('2026-05-01T10:05:00Z'),
  runType: 'auto',
  machineInfo: {
    hostname: 'mac1.example.com',
    os_vers: '14.5',
    physical_memory: 17179869184,
    date: new Date('2026-05-01T10:00:00Z'),
    applications: [{ bundleid: 'org.mozilla.firefox' }],
  },
  manifestName: 'site_default',
  catalogs: ['production'],
  plan,
  installResults: [
    {
      name: 'Firefox',
      displayName: 'Mozilla Firefox',
      version: '128.0',
      status: 0,
      time: new Date('2026-05-01T10:03:00Z'),
      durationSeconds: 42.7,
      downloadKbytesPerSec: 2048,
      unattended: true,
    },
  ],
  removalResults: [
    { name: 'OldTool', status: -99, time: new Date('2026-05-01T10:01:00Z'), unattended: true },
  ],
  errors: ['Removal of OldTool failed'],
  warnings: [],
  restartRequired: false,
  logoutRequired: false,
  availableDiskSpaceKb: 123456789,
  version: '0.1.0',
  ...over,
});

/** Every key Munki 7 writes to ManagedInstallReport.plist in a run that checked and installed. */
const MUNKI_KEYS = [
  'AppleUpdates',
  'AvailableDiskSpace',
  'Conditions',
  'ConsoleUser',
  'EndTime',
  'Errors',
  'InstallResults',
  'InstalledItems',
  'ItemsToInstall',
  'ItemsToRemove',
  'LogoutRequired',
  'MachineInfo',
  'ManagedInstallVersion',
  'ManagedInstalls',
  'ManifestName',
  'ProblemInstalls',
  'RemovalResults',
  'RemovedItems',
  'RestartRequired',
  'RunType',
  'StartTime',
  'Warnings',
  'managed_installs_list',
  'managed_uninstalls_list',
  'managed_updates_list',
];

const dict = (v: unknown): PlistDict => {
  if (!isPlistDict(v)) throw new Error('not a dict');
  return v;
};

describe('buildManagedInstallReport', () => {
  it("writes exactly Munki's keys", () => {
    expect(Object.keys(buildManagedInstallReport(input())).sort()).toEqual(MUNKI_KEYS.sort());
  });

  it('gives every key the type Munki gives it', () => {
    const r = buildManagedInstallReport(input());
    expect(r['StartTime']).toEqual(new Date('2026-05-01T10:00:00Z'));
    expect(r['EndTime']).toEqual(new Date('2026-05-01T10:05:00Z'));
    expect(r['RunType']).toBe('auto');
    expect(r['ManifestName']).toBe('site_default');
    expect(r['InstalledItems']).toEqual(['Slack']);
    expect(r['RemovedItems']).toEqual(['Gone']);
    expect(r['ProblemInstalls']).toEqual([
      { name: 'Broken', installed: false, note: 'Integrity check failed' },
    ]);
    expect((r['ManagedInstalls'] as PlistDict[]).map((i) => i['name'])).toEqual([
      'Firefox',
      'Slack',
      'Broken',
    ]);
    expect(r['managed_installs_list']).toEqual(['Firefox', 'Slack', 'Broken']);
    expect(r['managed_uninstalls_list']).toEqual(['OldTool', 'Gone']);
    expect(r['managed_updates_list']).toEqual(['Chrome']);
    expect(r['ItemsToInstall']).toEqual([
      {
        name: 'Firefox',
        installed: false,
        version_to_install: '128.0',
        installer_item: 'Firefox-128.0.pkg',
      },
    ]);
    expect(r['ItemsToRemove']).toEqual([
      { name: 'OldTool', installed: true, installed_version: '1.0' },
    ]);
    expect(r['AppleUpdates']).toEqual([]);
    expect(r['RestartRequired']).toBe(false);
    expect(r['LogoutRequired']).toBe(false);
    expect(r['Errors']).toEqual(['Removal of OldTool failed']);
    expect(r['Warnings']).toEqual([]);
    expect(r['ManagedInstallVersion']).toBe('0.1.0');
    expect(r['AvailableDiskSpace']).toBe(123456789);
    expect(r['ConsoleUser']).toBe('<None>');
  });

  it('records install results with Munki’s fields, integers where Munki has Int', () => {
    const [result] = buildManagedInstallReport(input())['InstallResults'] as PlistDict[];
    expect(result).toEqual({
      display_name: 'Mozilla Firefox',
      name: 'Firefox',
      version: '128.0',
      applesus: false,
      status: 0,
      time: new Date('2026-05-01T10:03:00Z'),
      duration_seconds: 42,
      download_kbytes_per_sec: 2048,
      unattended: true,
    });
  });

  it('records removal results with Munki’s fields, display_name defaulting to name', () => {
    expect(buildManagedInstallReport(input())['RemovalResults']).toEqual([
      {
        display_name: 'OldTool',
        name: 'OldTool',
        status: -99,
        time: new Date('2026-05-01T10:01:00Z'),
        unattended: true,
      },
    ]);
  });

  it('leaves applications out of MachineInfo and Conditions, and adds catalogs to Conditions', () => {
    const r = buildManagedInstallReport(input());
    const machine = dict(r['MachineInfo']);
    expect(machine['applications']).toBeUndefined();
    expect(machine['hostname']).toBe('mac1.example.com');
    expect(machine['physical_memory']).toBe(17179869184);
    const conditions = dict(r['Conditions']);
    expect(conditions['applications']).toBeUndefined();
    expect(conditions['catalogs']).toEqual(['production']);
    expect(conditions['date']).toEqual(new Date('2026-05-01T10:00:00Z'));
  });

  it('names the console user when there is one', () => {
    expect(buildManagedInstallReport(input({ consoleUser: 'alice' }))['ConsoleUser']).toBe('alice');
  });

  it('leaves out the plan keys when no check produced a plan, as Munki does', () => {
    const { plan: _plan, manifestName: _m, ...rest } = input();
    const r = buildManagedInstallReport({
      ...rest,
      itemsToInstall: [{ name: 'Firefox', installer_item: 'Firefox-128.0.pkg' }],
    });
    expect(Object.keys(r).sort()).toEqual(
      MUNKI_KEYS.filter(
        (k) =>
          ![
            'Conditions',
            'InstalledItems',
            'ManagedInstalls',
            'ManifestName',
            'ProblemInstalls',
            'RemovedItems',
            'managed_installs_list',
            'managed_uninstalls_list',
            'managed_updates_list',
          ].includes(k),
      ).sort(),
    );
    expect(r['ItemsToInstall']).toEqual([{ name: 'Firefox', installer_item: 'Firefox-128.0.pkg' }]);
    expect(r['ItemsToRemove']).toEqual([]);
  });

  it('survives a plist round trip with integers, booleans and dates intact', async () => {
    const root = await mkdtemp(join(tmpdir(), 'abbot-report-'));
    try {
      const paths = { stateDir: root, report: join(root, 'ManagedInstallReport.plist') };
      await writeManagedInstallReport(paths, buildManagedInstallReport(input()));
      const back = dict(parsePlist(await readFile(paths.report)));
      const [result] = back['InstallResults'] as PlistDict[];
      expect(result?.['duration_seconds']).toBe(42);
      expect(result?.['status']).not.toBeInstanceOf(PlistReal);
      expect(result?.['applesus']).toBe(false);
      expect(back['AvailableDiskSpace']).toBe(123456789);
      expect(back['StartTime']).toEqual(new Date('2026-05-01T10:00:00Z'));
      expect(Object.keys(back)).toEqual([...MUNKI_KEYS].sort());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('runTypeFor', () => {
  it.each([
    ['auto', 'auto'],
    ['install', 'custom'],
    ['check', 'custom'],
    ['bootstrap', 'checkandinstallatstartup'],
  ] as const)('maps %s to %s', (kind, runType) => {
    expect(runTypeFor(kind)).toBe(runType);
  });
});

describe('archiveName', () => {
  it('is ManagedInstallReport-yyyy-MM-dd-HHmmss.plist in local time', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    expect(archiveName(at)).toBe('ManagedInstallReport-2026-01-02-030405.plist');
  });
});

describe('writeManagedInstallReport', () => {
  let root: string;
  let paths: { stateDir: string; report: string };
  const archives = (): string => join(root, 'Archives');

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'abbot-report-'));
    paths = { stateDir: root, report: join(root, 'ManagedInstallReport.plist') };
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the first report without archiving anything', async () => {
    const outcome = await writeManagedInstallReport(paths, { RunType: 'auto' });
    expect(outcome).toEqual({ pruned: [] });
    expect(dict(parsePlist(await readFile(paths.report)))).toEqual({ RunType: 'auto' });
    await expect(readdir(archives())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('archives the previous report under a name from when it was written', async () => {
    await writeManagedInstallReport(paths, { RunType: 'auto' });
    const previous = await readFile(paths.report, 'utf8');
    const writtenAt = new Date(2026, 3, 5, 6, 7, 8);
    await utimes(paths.report, writtenAt, writtenAt);
    const outcome = await writeManagedInstallReport(paths, { RunType: 'custom' });
    const name = 'ManagedInstallReport-2026-04-05-060708.plist';
    expect(outcome).toEqual({ archived: join(archives(), name), pruned: [] });
    expect(await readFile(join(archives(), name), 'utf8')).toBe(previous);
    expect(dict(parsePlist(await readFile(paths.report)))).toEqual({ RunType: 'custom' });
  });

  it('keeps both when two reports are archived within one second', async () => {
    const at = new Date(2026, 3, 5, 6, 7, 8);
    await mkdir(archives(), { recursive: true });
    await writeFile(join(archives(), archiveName(at)), 'first');
    await writeFile(paths.report, 'second');
    await utimes(paths.report, at, at);
    const outcome = await writeManagedInstallReport(paths, { RunType: 'auto' });
    expect(outcome.archived).toBe(
      join(archives(), 'ManagedInstallReport-2026-04-05-060708-2.plist'),
    );
    expect(await readFile(join(archives(), archiveName(at)), 'utf8')).toBe('first');
  });

  it(`keeps the newest ${MAX_ARCHIVED_REPORTS} archives`, async () => {
    await mkdir(archives(), { recursive: true });
    const base = new Date(2026, 0, 1).getTime();
    const names: string[] = [];
    for (let i = 0; i < 105; i++) {
      const at = new Date(base + i * 3_600_000);
      const name = archiveName(at);
      names.push(name);
      await writeFile(join(archives(), name), `report ${i}`);
      await utimes(join(archives(), name), at, at);
    }
    await writeFile(join(archives(), 'notes.txt'), 'not an archive');
    await writeFile(paths.report, 'current');
    const latest = new Date(base + 200 * 3_600_000);
    await utimes(paths.report, latest, latest);

    const outcome = await writeManagedInstallReport(paths, { RunType: 'auto' });
    // 105 old + the one just archived: the 6 oldest go.
    expect(outcome.pruned.map((p) => p.slice(archives().length + 1))).toEqual(
      names.slice(0, 6).reverse(),
    );
    const left = (await readdir(archives())).filter((n) => n.startsWith('ManagedInstallReport-'));
    expect(left).toHaveLength(MAX_ARCHIVED_REPORTS);
    expect(left).toContain(archiveName(latest));
    expect(await readdir(archives())).toContain('notes.txt');
  });
});
