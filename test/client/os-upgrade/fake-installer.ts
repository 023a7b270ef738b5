/**
 * Fakes for the os-upgrade tests: an Install macOS app whose `startosinstall` prints a recorded
 * output (test/fixtures/startosinstall/) and records its argv and stdin, and a
 * `<root>/usr/sbin/softwareupdate` whose --fetch-full-installer "downloads" such an app.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildPlist } from '../../../formats/index.js';
import { writeFakeTool } from '../../helpers/fake-tools.js';

/** The recorded outputs' folder. */
export const FIXTURES = join(import.meta.dirname, '../../fixtures/startosinstall');

/** The app every test uses, as a macOS path. */
export const APP = '/Applications/Install macOS Sequoia.app';

/** Where a fake records what it got, under the sandbox root. */
export const argvLog = (root: string): string => join(root, 'tool-argv.log');
export const stdinLog = (root: string): string => join(root, 'startosinstall.stdin');

/** How the fake startosinstall behaves. */
export interface FakeStartosinstall {
  /** A fixture file name. */
  output: string;
  exitCode?: number;
  /** Seconds to stay alive after printing (the reboot delay, or a hang). */
  sleepAfter?: number;
}

/** The fake script's body (shared by the app placed directly and the one inside a package). */
export async function startosinstallScript(
  root: string,
  fake: FakeStartosinstall,
): Promise<string> {
  const output = await readFile(join(FIXTURES, fake.output), 'utf8');
  const dataFile = join(root, `startosinstall.${fake.output}`);
  await writeFile(dataFile, output);
  return [
    '#!/bin/sh',
    `# Fake startosinstall. Output: test/fixtures/startosinstall/${fake.output} (see its README)`,
    `{ printf '%s' "$0"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >> "${argvLog(root)}"`,
    `cat > "${stdinLog(root)}"`,
    `cat "${dataFile}"`,
    fake.sleepAfter ? `sleep ${fake.sleepAfter}` : '',
    `exit ${fake.exitCode ?? 0}`,
    '',
  ].join('\n');
}

/** Info.plist of the Install macOS app (Apple's bundle id naming). */
export function installerInfoPlist(): string {
  return buildPlist({
    CFBundleIdentifier: 'com.apple.InstallAssistant.macOSSequoia',
    CFBundleName: 'Install macOS Sequoia',
    CFBundleShortVersionString: '20.1.03',
  });
}

/** Puts the Install macOS app with a fake startosinstall directly under the root. */
export async function placeInstallerApp(root: string, fake: FakeStartosinstall): Promise<void> {
  const tool = join(root, APP, 'Contents/Resources/startosinstall');
  await mkdir(dirname(tool), { recursive: true });
  await writeFile(tool, await startosinstallScript(root, fake), { mode: 0o755 });
  await writeFile(join(root, APP, 'Contents/Info.plist'), installerInfoPlist());
}

/** A fake `<root>/usr/sbin/softwareupdate` printing `output`; on success it places the app. */
export async function placeSoftwareupdate(
  root: string,
  output: string,
  fake: FakeStartosinstall | undefined,
  exitCode = 0,
): Promise<void> {
  const body: string[] = ['cat "$OUT.fetch.out"'];
  if (fake !== undefined) {
    const tool = join(APP, 'Contents/Resources/startosinstall');
    const script = await startosinstallScript(root, fake);
    await writeFile(join(root, 'startosinstall.script'), script);
    await writeFile(join(root, 'Info.plist.template'), installerInfoPlist());
    body.push(
      `mkdir -p "$SEEN${dirname(tool)}"`,
      `cp "$SEEN/startosinstall.script" "$SEEN${tool}" && chmod 755 "$SEEN${tool}"`,
      `cp "$SEEN/Info.plist.template" "$SEEN${APP}/Contents/Info.plist"`,
    );
  }
  body.push(`exit ${exitCode}`);
  await writeFakeTool(
    root,
    argvLog(root),
    '/usr/sbin/softwareupdate',
    `test/fixtures/startosinstall/${output} (see its README)`,
    body.join('\n'),
    { fetch: await readFile(join(FIXTURES, output), 'utf8') },
  );
}
