/**
 * `abbot daemon` in-process against a sandbox and a repo served over HTTPS: `abbot run --auto`
 * goes through its control socket, its run (a child `abbot run` process) really installs, and a
 * second daemon is refused.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { checkInMinute } from '../../../client/daemon/check-in-schedule.js';
import type { Daemon } from '../../../client/daemon/daemon.js';
import { readRunLog } from '../../../client/daemon/run-log.js';
import { pathsFor } from '../../../client/paths.js';
import { isAppError } from '../../../lib/errors.js';
import { abbotCli } from '../../helpers/cli.js';
import { useDaemonSandboxes, type DaemonSandbox } from './daemon-sandbox.js';

const sandboxes = useDaemonSandboxes();
let sandbox: DaemonSandbox;

async function start(): Promise<Daemon> {
  sandbox = await sandboxes.sandbox({ site: ['BaseApp', 'Settings'] }, 'site');
  return sandboxes.start(sandbox);
}

describe('abbot daemon', () => {
  it('checks in hourly at the minute derived from the serial number', async () => {
    const daemon = await start();
    const minute = checkInMinute('C02TEST0001'); // the sandbox's serial
    expect(daemon.schedule).toBe(`${minute} * * * *`);
    expect(daemon.nextCheckIn()?.getMinutes()).toBe(minute);
  });

  it('runs `abbot run --auto` from the CLI through its socket, and the run installs', async () => {
    const daemon = await start();
    const r = await abbotCli(['run', '--auto', '--root', sandbox.root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The child's output came back over the socket.
    expect(r.stdout).toContain('Install of BaseApp-1.0: SUCCESSFUL');
    expect(await readFile(join(sandbox.root, 'Applications/BaseApp/readme.txt'), 'utf8')).toBe(
      'BaseApp 1.0\n',
    );
    expect(existsSync(join(sandbox.root, 'var/db/receipts/org.example.baseapp.plist'))).toBe(true);
    expect(existsSync(join(sandbox.root, 'Library/Example/Settings.done'))).toBe(true);
    const log = await readRunLog(pathsFor(sandbox.root));
    expect(log).toMatchObject([{ id: 1, status: 'ok', reasons: ['cli'], exitCode: 0 }]);
    expect(daemon.socketPath).toBe(join(sandbox.root, 'Library/Abbot/daemon.sock'));
  });

  it('refuses to start a second daemon on the same machine', async () => {
    await start();
    const error = await sandbox.start().catch((e: unknown) => e);
    expect(isAppError(error, 'ALREADY_RUNNING')).toBe(true);
  });

  it('removes its socket when stopped, so the CLI then runs by itself', async () => {
    const daemon = await start();
    await sandboxes.stop(daemon);
    expect(existsSync(daemon.socketPath)).toBe(false);
    const r = await abbotCli(['run', '--auto', '--root', sandbox.root]);
    expect(r.code).toBe(0);
    expect(await readRunLog(pathsFor(sandbox.root))).toEqual([]);
  });

  it('runs as `abbot daemon` until SIGTERM, serving self service and its socket', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    sandbox = await sandboxes.sandbox(
      { site: ['Settings'] },
      'site',
      {},
      { SelfServicePort: port },
    );
    const child = spawn(
      sandboxes.abbotCommand()[0]!,
      [...sandboxes.abbotCommand().slice(1), 'daemon', '--root', sandbox.root],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const socket = join(sandbox.root, 'Library/Abbot/daemon.sock');
    try {
      for (let i = 0; i < 100 && !output.includes('abbot daemon: checking in'); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(output).toContain(`self service at http://127.0.0.1:${port}/`);
      const r = await abbotCli(['run', '--auto', '--root', sandbox.root]);
      expect(r.code).toBe(0);
      expect(existsSync(join(sandbox.root, 'Library/Example/Settings.done'))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(existsSync(socket)).toBe(false);
    // The daemon's log holds the run's output too.
    expect(output).toContain('Run 1 started (cli)');
  });
});
