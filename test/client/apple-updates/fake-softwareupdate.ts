/**
 * A recording fake `<root>/usr/sbin/softwareupdate` for the Apple update tests: `--list` prints a
 * recorded listing from test/fixtures/softwareupdate/ (sources in its README), `--install` saves
 * its stdin (where the password must be) and prints a recorded install transcript. Every call's
 * argv goes to `<root>/argv.log`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/softwareupdate/', import.meta.url));

/** A fixture's text. */
export function fixture(name: string): Promise<string> {
  return readFile(join(FIXTURES, name), 'utf8');
}

/** How the fake behaves. */
export interface FakeSoftwareUpdate {
  /** Fixture printed by `--list` (or literal text with `listText`). */
  list?: string;
  listText?: string;
  listExit?: number;
  /** Fixture printed by `--install`. */
  install?: string;
  installExit?: number;
  /** Seconds `--install` sleeps before printing (a hung run). */
  installSleep?: number;
}

/** Writes the fake under `root`. */
export async function writeFakeSoftwareUpdate(
  root: string,
  spec: FakeSoftwareUpdate,
): Promise<void> {
  const listText = spec.listText ?? (spec.list ? await fixture(spec.list) : '');
  const installText = spec.install ? await fixture(spec.install) : '';
  await writeFakeTool(
    root,
    join(root, 'argv.log'),
    '/usr/sbin/softwareupdate',
    `test/fixtures/softwareupdate/${spec.list ?? spec.install ?? 'literal text'} (see its README)`,
    [
      'case "$1" in',
      `  --list) cat "$OUT.list.out"; exit ${spec.listExit ?? 0} ;;`,
      '  --install)',
      '    cat > "$SEEN/stdin.log"',
      spec.installSleep ? `    sleep ${spec.installSleep}` : '    :',
      `    cat "$OUT.install.out"; exit ${spec.installExit ?? 0} ;;`,
      'esac',
      'exit 64',
    ].join('\n'),
    { list: listText, install: installText },
  );
}

/** The argv of each call, without the tool's own path. */
export async function softwareupdateCalls(root: string): Promise<string[][]> {
  return (await readToolCalls(join(root, 'argv.log')))
    .filter((c) => c[0] === '/usr/sbin/softwareupdate')
    .map((c) => c.slice(1));
}

/** What `--install` read on stdin ('' when nothing was written to it). */
export async function installStdin(root: string): Promise<string | undefined> {
  return readFile(join(root, 'stdin.log'), 'utf8').catch(() => undefined);
}
