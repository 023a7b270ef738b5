/**
 * Apple updates through the `abbot` CLI on a sandbox root whose `usr/sbin/softwareupdate` is a
 * recording fake printing real recorded output. AppleSoftwareUpdatesOnly keeps the repo out of it,
 * as in Munki.
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlist, type PlistDict, type PlistValue } from '../../../formats/index.js';
import { abbotCli } from '../../helpers/cli.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import { startTestServer } from '../../helpers/https-server.js';
import { makeRepo, pkgInfo } from '../../helpers/make-repo.js';
import { makeCatalogs } from '../../../repo-tools/commands/makecatalogs.js';
import { memoryLogger } from '../../../lib/log.js';
import {
  installStdin,
  softwareupdateCalls,
  writeFakeSoftwareUpdate,
  type FakeSoftwareUpdate,
} from './fake-softwareupdate.js';

const PASSWORD = 'Tr0ub4dor&3 secret';
const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

async function sandbox(
  fake: FakeSoftwareUpdate,
  prefs: Record<string, PlistValue> = {},
  machine: Record<string, string> = {},
): Promise<string> {
  const root = await makeSandboxRoot({
    os: { version: '13.5.2', build: '22G91' },
    machine,
    preferences: { AppleSoftwareUpdatesOnly: true, ...prefs },
  });
  roots.push(root);
  await writeFakeSoftwareUpdate(root, fake);
  return root;
}

async function credentialScript(root: string): Promise<void> {
  const file = join(root, 'Library/Abbot/volume-owner.sh');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\nprintf 'admin\\n%s\\n' '${PASSWORD}'\n`);
  await chmod(file, 0o700);
}

interface AppleJson {
  label: string;
  title: string;
  version: string;
  size_kb: number | null;
  restart_required: boolean;
  kind: string;
  user_action_required: boolean;
}
async function checkJson(
  root: string,
): Promise<{ code: number; apple: AppleJson[]; stderr: string }> {
  const r = await abbotCli(['check', '--json', '--root', root]);
  const json = r.code === 0 ? (JSON.parse(r.stdout) as { appleUpdates: AppleJson[] }) : undefined;
  return { code: r.code, apple: json?.appleUpdates ?? [], stderr: r.stderr };
}

async function plist(path: string): Promise<PlistDict> {
  return parsePlist(await readFile(path)) as PlistDict;
}

/** Every file under `dir`, as text. */
async function allFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      const path = join(e.parentPath, e.name);
      out[path] = await readFile(path, 'latin1');
    }
  }
  return out;
}

describe('abbot check with Apple updates', () => {
  it('lists with softwareupdate --list and plans minor updates, leaving the major upgrade out', async () => {
    const root = await sandbox({ list: 'list-ventura-with-sonoma.txt' });
    const { code, apple } = await checkJson(root);
    expect(code).toBe(0);
    expect(apple).toEqual([
      expect.objectContaining({
        label: 'Safari17.0VenturaAuto-17.0',
        title: 'Safari',
        version: '17.0',
        size_kb: 161835,
        restart_required: false,
        kind: 'minor',
      }),
      expect.objectContaining({
        label: 'macOS Ventura 13.6-22G120',
        size_kb: 594108,
        restart_required: true,
        kind: 'minor',
      }),
    ]);
    expect(await softwareupdateCalls(root)).toEqual([['--list']]);
    const file = await plist(join(root, 'Library/Abbot/AppleUpdates.plist'));
    expect(file['AppleUpdates']).toEqual([
      expect.objectContaining({ Label: 'Safari17.0VenturaAuto-17.0', RestartAction: 'None' }),
      expect.objectContaining({
        Label: 'macOS Ventura 13.6-22G120',
        RestartAction: 'RequireRestart',
      }),
    ]);
  });

  it('offers the major upgrade when AppleSoftwareUpdatesIncludeMajorOSUpdates is set', async () => {
    const root = await sandbox(
      { list: 'list-ventura-with-sonoma.txt' },
      { AppleSoftwareUpdatesIncludeMajorOSUpdates: true },
    );
    const { apple } = await checkJson(root);
    expect(apple.map((u) => [u.label, u.kind])).toEqual([
      ['Safari17.0VenturaAuto-17.0', 'minor'],
      ['macOS Ventura 13.6-22G120', 'minor'],
      ['macOS Sonoma 14.0-23A344', 'major'],
    ]);
  });

  it('reads through XType warnings mixed into the listing', async () => {
    const root = await sandbox({ list: 'list-ventura-xtype.txt' });
    expect((await checkJson(root)).apple.map((u) => u.label)).toEqual([
      'Safari17.3.1VenturaAuto-17.3.1',
    ]);
  });

  it('plans nothing on "No new software available."', async () => {
    const root = await sandbox({ list: 'list-no-new-software.txt' });
    expect(await checkJson(root)).toMatchObject({ code: 0, apple: [] });
  });

  it.each([
    [
      'a non-zero exit',
      { list: 'list-ventura-xtype.txt', listExit: 1 },
      /softwareupdate exited with status 1/,
    ],
    [
      'garbage output',
      { listText: 'Segmentation fault: 11\n' },
      /output is not a software update listing \("Segmentation fault: 11"\)/,
    ],
  ] as const)(
    'keeps the previous AppleUpdates.plist and warns on %s',
    async (_what, bad, message) => {
      const root = await sandbox({ list: 'list-ventura-with-sonoma.txt' });
      await checkJson(root);
      const file = join(root, 'Library/Abbot/AppleUpdates.plist');
      const before = await readFile(file);
      await writeFakeSoftwareUpdate(root, bad);
      const r = await checkJson(root);
      expect(r.code).toBe(0);
      expect(r.apple).toEqual([]);
      expect(r.stderr).toMatch(/Apple software updates could not be listed: /);
      expect(r.stderr).toMatch(message);
      expect(await readFile(file)).toEqual(before);
    },
  );

  it('refuses a credential script path that is not absolute (exit 2, nothing run)', async () => {
    const root = await sandbox(
      { list: 'list-ventura-with-sonoma.txt' },
      { AppleUpdateCredentialScript: 'volume-owner.sh' },
    );
    const r = await abbotCli(['check', '--json', '--root', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AppleUpdateCredentialScript/);
    expect(await softwareupdateCalls(root)).toEqual([]);
  });
});

describe('abbot check with a repo and InstallAppleSoftwareUpdates', () => {
  it('plans the repo items and the Apple updates side by side', async () => {
    const repo = await makeRepo({
      pkgsinfo: {
        'tool.plist': pkgInfo('Tool', '1.0', ['prod'], {
          installer_type: 'nopkg',
          // exit 0: not installed yet
          installcheck_script: '#!/bin/sh\nexit 0\n',
        }),
      },
      manifests: { mac: { catalogs: ['prod'], managed_installs: ['Tool'] } },
    });
    roots.push(repo);
    await makeCatalogs({ repo, logger: memoryLogger(), cache: false, skipPkgCheck: true });
    const server = await startTestServer({ root: repo });
    try {
      const root = await sandbox(
        { list: 'list-monterey-xtype-not-accessible.txt' },
        {
          AppleSoftwareUpdatesOnly: false,
          InstallAppleSoftwareUpdates: true,
          SoftwareRepoURL: server.url,
          SoftwareRepoCACertificate: server.pki.caCert,
          ClientIdentifier: 'mac',
          HttpRetries: 0,
        },
      );
      const r = await abbotCli(['check', '--json', '--root', root]);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout) as {
        installs: { name: string }[];
        appleUpdates: AppleJson[];
      };
      expect(json.installs.map((i) => i.name)).toEqual(['Tool']);
      // On 13.5.2, Monterey 12.7.6 is no upgrade but Sonoma 14.6.1 is a major one: left out.
      expect(json.appleUpdates.map((u) => [u.title, u.kind])).toEqual([
        ['Safari', 'minor'],
        ['macOS Monterey 12.7.6', 'minor'],
      ]);
    } finally {
      await server.stop();
    }
  });
});

describe('abbot install with Apple updates', () => {
  it('installs on Apple silicon with the password on stdin only, and never records it', async () => {
    const root = await sandbox(
      { list: 'list-ventura-with-sonoma.txt', install: 'install-bigsur-download.txt' },
      { AppleUpdateCredentialScript: '/Library/Abbot/volume-owner.sh' },
      { arch: 'arm64' },
    );
    await credentialScript(root);
    const check = await abbotCli(['check', '--root', root]);
    const install = await abbotCli(['install', '--root', root, '-v']);
    expect(install.code).toBe(0);

    const calls = await softwareupdateCalls(root);
    // Nobody logged in: --restart is allowed.
    expect(calls[1]).toEqual([
      '--install',
      'Safari17.0VenturaAuto-17.0',
      'macOS Ventura 13.6-22G120',
      '--agree-to-license',
      '--restart',
      '--user',
      'admin',
      '--stdinpass',
    ]);
    expect(await installStdin(root)).toBe(`${PASSWORD}\n`);

    const report = await plist(join(root, 'Library/Abbot/ManagedInstallReport.plist'));
    expect(report['InstallResults']).toEqual([
      expect.objectContaining({ name: 'Safari', version: '17.0', applesus: true, status: 0 }),
      expect.objectContaining({ name: 'macOS Ventura 13.6', applesus: true, status: 0 }),
    ]);
    expect(report['AppleUpdates']).toEqual([]);
    const restart = JSON.parse(
      await readFile(join(root, 'Library/Abbot/restart-requested.json'), 'utf8'),
    ) as { reasons: string[] };
    expect(restart.reasons).toEqual([
      expect.stringMatching(/RequireRestart after .*macOS Ventura 13\.6/),
    ]);

    // The password is nowhere: argv, output, state, report, notifications, any file but stdin.log.
    const everything = {
      ...(await allFiles(root)),
      output: check.stdout + check.stderr + install.stdout + install.stderr,
    };
    for (const [path, text] of Object.entries(everything)) {
      if (path.endsWith('/stdin.log') || path.endsWith('/volume-owner.sh')) continue;
      expect(text, path).not.toContain(PASSWORD);
    }
  });

  it('without credentials on Apple silicon runs nothing, tells the user and reports it', async () => {
    const root = await sandbox(
      { list: 'list-ventura-with-sonoma.txt', install: 'install-bigsur-download.txt' },
      {},
      { arch: 'arm64' },
    );
    const { apple } = await checkJson(root);
    expect(apple.map((u) => u.user_action_required)).toEqual([true, true]);
    const r = await abbotCli(['install', '--root', root]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /Apple updates need a user on this Apple silicon Mac: no volume owner credentials/,
    );
    expect((await softwareupdateCalls(root)).filter((c) => c[0] === '--install')).toEqual([]);
    const report = await plist(join(root, 'Library/Abbot/ManagedInstallReport.plist'));
    expect(report['Warnings']).toEqual([expect.stringMatching(/Apple updates wait for the user/)]);
    expect((report['AppleUpdates'] as PlistDict[]).map((u) => u['Label'])).toEqual([
      'Safari17.0VenturaAuto-17.0',
      'macOS Ventura 13.6-22G120',
    ]);
    const notes = (await readFile(join(root, 'Library/Abbot/Logs/notifications.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; items: string[] });
    expect(notes).toEqual([
      expect.objectContaining({
        kind: 'action-required',
        items: ['Safari17.0VenturaAuto-17.0', 'macOS Ventura 13.6-22G120'],
      }),
    ]);
  });

  it('records a failed softwareupdate and keeps the update for next time', async () => {
    const root = await sandbox(
      { list: 'list-ventura-xtype.txt', install: 'install-bigsur-download.txt', installExit: 1 },
      {},
      { arch: 'x86_64' },
    );
    await abbotCli(['check', '--root', root]);
    const r = await abbotCli(['install', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Install of Safari-17\.3\.1: FAILED \(softwareupdate exited with status 1/,
    );
    const report = await plist(join(root, 'Library/Abbot/ManagedInstallReport.plist'));
    expect(report['InstallResults']).toEqual([
      expect.objectContaining({ name: 'Safari', applesus: true, status: 1 }),
    ]);
    expect((report['AppleUpdates'] as PlistDict[]).map((u) => u['Label'])).toEqual([
      'Safari17.3.1VenturaAuto-17.3.1',
    ]);
  });

  it('run --auto with a user logged in installs only what needs no restart, without --restart', async () => {
    const root = await sandbox(
      { list: 'list-ventura-with-sonoma.txt', install: 'install-bigsur-download.txt' },
      {},
      { arch: 'x86_64', console_user: 'jane' },
    );
    const r = await abbotCli(['run', '--auto', '--root', root]);
    expect(r.code).toBe(0);
    expect(await softwareupdateCalls(root)).toEqual([
      ['--list'],
      ['--install', 'Safari17.0VenturaAuto-17.0', '--agree-to-license'],
    ]);
    expect(r.stdout).toMatch(/Skipped install of macOS Ventura 13\.6: needs a restart/);
  });
});
