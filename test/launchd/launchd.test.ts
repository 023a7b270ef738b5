/**
 * The launchd files shipped in LaunchDaemons/: each plist parses as Apple's XML plist format (the
 * check `plutil -lint` makes, done with our own strict parser) with the keys launchd needs, and
 * the install scripts pass `bash -n` and shellcheck. The scripts themselves only run on a Mac.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bootstrapFlagPath } from '../../client/bootstrap/bootstrap-flag.js';
import { loginwindowStatusPath } from '../../client/bootstrap/loginwindow-status.js';
import { pathsFor } from '../../client/paths.js';
import { isPlistDict, parsePlist, type PlistDict } from '../../formats/index.js';
import { runCommand } from '../../lib/run-command.js';

const DIR = fileURLToPath(new URL('../../LaunchDaemons/', import.meta.url));

async function plist(name: string): Promise<PlistDict> {
  const text = await readFile(join(DIR, name), 'utf8');
  expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')).toBe(true);
  const value = parsePlist(Buffer.from(text), { source: name });
  expect(isPlistDict(value)).toBe(true);
  return value as PlistDict;
}

describe('org.abbot.daemon.plist', () => {
  it('runs `abbot daemon` with the bundled node, at load, kept alive', async () => {
    const p = await plist('org.abbot.daemon.plist');
    expect(p['Label']).toBe('org.abbot.daemon');
    expect(p['ProgramArguments']).toEqual([
      '/usr/local/abbot/libexec/node',
      '/usr/local/abbot/bin/abbot',
      'daemon',
    ]);
    expect(p['RunAtLoad']).toBe(true);
    expect(p['KeepAlive']).toBe(true);
  });

  it('logs to the state folder', async () => {
    const p = await plist('org.abbot.daemon.plist');
    const logs = pathsFor('/').logsDir;
    expect(p['StandardOutPath']).toBe(join(logs, 'daemon.log'));
    expect(p['StandardErrorPath']).toBe(join(logs, 'daemon.log'));
  });
});

describe('org.abbot.loginwindow-status.plist', () => {
  it('loads only at the login window and runs the status window script', async () => {
    const p = await plist('org.abbot.loginwindow-status.plist');
    expect(p['Label']).toBe('org.abbot.loginwindow-status');
    expect(p['LimitLoadToSessionType']).toBe('LoginWindow');
    expect(p['ProgramArguments']).toEqual([
      '/usr/bin/osascript',
      '-l',
      'JavaScript',
      '/usr/local/abbot/libexec/loginwindow-status.js',
    ]);
  });

  it('is kept alive while the bootstrap flag the daemon uses exists', async () => {
    const p = await plist('org.abbot.loginwindow-status.plist');
    const flag = bootstrapFlagPath(pathsFor('/'));
    expect(p['KeepAlive']).toEqual({ PathState: { [flag]: true } });
  });

  it('has a script that reads the files the daemon writes', async () => {
    const script = await readFile(join(DIR, 'loginwindow-status.js'), 'utf8');
    expect(script).toContain(`'${loginwindowStatusPath(pathsFor('/'))}'`);
    expect(script).toContain(`'${bootstrapFlagPath(pathsFor('/'))}'`);
    expect(
      (await runCommand([process.execPath, '--check', join(DIR, 'loginwindow-status.js')]))
        .exitCode,
    ).toBe(0);
  });
});

describe.each(['install.sh', 'uninstall.sh'])('%s', (script) => {
  it('is valid bash', async () => {
    const r = await runCommand(['bash', '-n', join(DIR, script)]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('is shellcheck-clean', async () => {
    // .ci/run installs shellcheck; a machine without it fails here rather than skipping.
    const r = await runCommand(['shellcheck', '--shell=bash', join(DIR, script)]);
    expect(r.stdout).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

describe('install.sh', () => {
  it('installs the LaunchDaemons files the plists refer to, and loads the daemon', async () => {
    const text = await readFile(join(DIR, 'install.sh'), 'utf8');
    expect(text).toContain('label=org.abbot.daemon\n');
    expect(text).toContain('"$here/$label.plist"');
    expect(text).toContain('"$here/org.abbot.loginwindow-status.plist"');
    expect(text).toContain(
      '"$here/loginwindow-status.js" "$staging/libexec/loginwindow-status.js"',
    );
    expect(text).toContain('cp "$node_bin" "$staging/libexec/node"');
    expect(text).toContain('launchctl bootstrap system "$daemon_plist"');
  });
});
