import { readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist, isPlistDict, parsePlist, type PlistDict } from '../../../formats/index.js';
import { memoryLogger } from '../../../lib/log.js';
import { loadConfig } from '../../../client/config.js';
import { runInstall } from '../../../client/install/run-install.js';
import { upgradesLast } from '../../../client/os-upgrade/upgrade-session.js';
import { sandboxPlatform } from '../../../client/platform/sandbox/sandbox-platform.js';
import { readToolCalls } from '../../helpers/fake-tools.js';
import { makeSandboxRoot } from '../../helpers/sandbox-root.js';
import { argvLog, placeSoftwareupdate, stdinLog } from './fake-installer.js';

const PASSWORD = 'Tr0ub4dor&3-never-shown';
const CREDENTIAL_SCRIPT = '/usr/local/libexec/volume-owner';

let root: string;
beforeEach(async () => {
  root = await makeSandboxRoot({
    os: { version: '14.5', build: '23F79' },
    preferences: {
      AppleUpdateCredentialScript: CREDENTIAL_SCRIPT,
      OSUpgradeRebootDelaySeconds: 60,
    },
  });
  const script = join(root, CREDENTIAL_SCRIPT);
  await mkdir(dirname(script), { recursive: true });
  await writeFile(script, `#!/bin/sh\nprintf 'owner\\n%s\\n' '${PASSWORD}'\n`, { mode: 0o755 });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const UPGRADE: PlistDict = {
  name: 'Install_macOS_Sequoia',
  display_name: 'Install macOS Sequoia',
  version_to_install: '15.1',
  installer_type: 'startosinstall',
  installer_item: 'fetch_full_installer',
  RestartAction: 'RequireRestart',
  installed: false,
};
const OTHER: PlistDict = {
  name: 'Tool',
  version_to_install: '1.0',
  installer_type: 'nopkg',
  installer_item: 'packageless_install',
  installed: false,
};

async function session(): Promise<{
  outcome: Awaited<ReturnType<typeof runInstall>>;
  logger: ReturnType<typeof memoryLogger>;
}> {
  const platform = sandboxPlatform(root);
  const logger = memoryLogger();
  const config = await loadConfig({ paths: platform.paths });
  const outcome = await runInstall({ platform, config, logger, mode: 'all', kind: 'install' });
  return { outcome, logger };
}

async function everyFile(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await everyFile(path)));
    else if ((await stat(path)).isFile()) out.push(path);
  }
  return out;
}

describe('an install session with a macOS upgrade', () => {
  it('does the upgrade last, passes the password on stdin only, and never writes it anywhere', async () => {
    await placeSoftwareupdate(root, 'fetch-finished.txt', { output: 'prepared-reconstructed.txt' });
    await writeFile(
      join(root, 'Library/Abbot/InstallInfo.plist'),
      buildPlist({ managed_installs: [UPGRADE, OTHER], removals: [] }),
    );
    const { outcome, logger } = await session();
    expect(outcome.results.map((r) => [r.name, r.result])).toEqual([
      ['Tool', 'success'],
      ['Install_macOS_Sequoia', 'success'],
    ]);
    expect(outcome.restartAction).toBe('RequireRestart');
    const startosinstall = (await readToolCalls(argvLog(root))).find((c) =>
      c[0]?.endsWith('startosinstall'),
    );
    expect(startosinstall).toContain('--stdinpass');
    expect(startosinstall?.slice(3, 5)).toEqual(['--rebootdelay', '60']);
    expect(await readFile(stdinLog(root), 'utf8')).toBe(`${PASSWORD}\n`);
    for (const file of await everyFile(join(root, 'Library/Abbot'))) {
      expect(await readFile(file, 'utf8'), file).not.toContain(PASSWORD);
    }
    expect(JSON.stringify(logger.entries)).not.toContain(PASSWORD);
  });

  it('reports the upgrade as installed in the first run that sees the new macOS', async () => {
    await placeSoftwareupdate(root, 'fetch-finished.txt', { output: 'prepared-reconstructed.txt' });
    await writeFile(
      join(root, 'Library/Abbot/InstallInfo.plist'),
      buildPlist({ managed_installs: [UPGRADE], removals: [] }),
    );
    await session();
    // The restart: the Mac comes back on macOS 15.1.
    await writeFile(
      join(root, 'System/Library/CoreServices/SystemVersion.plist'),
      buildPlist({ ProductVersion: '15.1', ProductBuildVersion: '24B83' }),
    );
    const { outcome } = await session();
    expect(outcome.results).toMatchObject([
      { name: 'Install_macOS_Sequoia', version: '15.1', result: 'success' },
    ]);
    const report = parsePlist(
      await readFile(join(root, 'Library/Abbot/ManagedInstallReport.plist')),
    );
    const results = isPlistDict(report) ? report['InstallResults'] : undefined;
    expect(results).toMatchObject([{ name: 'Install_macOS_Sequoia', status: 0 }]);
    expect((await session()).outcome.results).toEqual([]);
  });
});

describe('upgradesLast', () => {
  it('moves macOS upgrades after everything else, keeping the rest in order', () => {
    const items = [UPGRADE, OTHER, { ...OTHER, name: 'Tool2' }];
    expect(upgradesLast(items).map((i) => i['name'])).toEqual([
      'Tool',
      'Tool2',
      'Install_macOS_Sequoia',
    ]);
  });
});
