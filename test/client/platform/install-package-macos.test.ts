/**
 * Installing and removing on the macOS platform, on any OS: fake `installer`, `pkgutil` and `stat`
 * under a temporary command root print REAL recorded macOS output (each names its source) and log
 * the argv they got (and what they were handed: the choices file, USER and HOME).
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readToolCalls, writeFakeTool } from '../../helpers/fake-tools.js';
import {
  InstallerOutputParser,
  parseRestartQuery,
} from '../../../client/platform/macos/install-package.js';
import { macosPlatform } from '../../../client/platform/macos/macos-platform.js';
import {
  parsePkgInfoLocation,
  removePackagesOnMac,
} from '../../../client/platform/macos/remove-packages.js';
import type { PackageInstallProgress } from '../../../client/platform/platform.js';
import { parsePlist } from '../../../formats/index.js';
import { runCommand } from '../../../lib/run-command.js';
import { silentLogger } from '../../../lib/log.js';
import { buildFlatPackage } from '../../helpers/flat-package.js';

// ---------------------------------------------------------------------------------------------
// Recorded macOS output

/**
 * `installer -verboseR -pkg "SF Symbols.pkg" -target /` (Homebrew cask sf-symbols), verbatim as
 * recorded in appfair/App, Sources/App/CaskManager.swift (also formats reference §3.5).
 */
const INSTALL_SF_SYMBOLS = `installer: Package name is SF Symbols
installer: Installing at base path /
installer:PHASE:Preparing for installation…
installer:PHASE:Preparing the disk…
installer:PHASE:Preparing SF Symbols…
installer:PHASE:Waiting for other installations to complete…
installer:PHASE:Configuring the installation…
installer:STATUS:
installer:%12.114101
installer:PHASE:Writing files…
installer:%30.627893
installer:PHASE:Writing files…
installer:%43.445133
installer:PHASE:Writing files…
installer:%79.244900
installer:PHASE:Registering updated components…
installer:PHASE:Validating packages…
installer:%97.750000
installer:STATUS:Running installer actions…
installer:STATUS:
installer:PHASE:Finishing the Installation…
installer:STATUS:
installer:%100.000000
installer:PHASE:The software was successfully installed.
installer: The install was successful.
`;

/** The progress Munki's parser takes from INSTALL_SF_SYMBOLS, in order. */
const SF_SYMBOLS_PROGRESS: PackageInstallProgress[] = [
  { phase: 'Preparing for installation…' },
  { phase: 'Preparing the disk…' },
  { phase: 'Preparing SF Symbols…' },
  { phase: 'Waiting for other installations to complete…' },
  { phase: 'Configuring the installation…' },
  { percent: 12.114101 },
  { phase: 'Writing files…' },
  { percent: 30.627893 },
  { phase: 'Writing files…' },
  { percent: 43.445133 },
  { phase: 'Writing files…' },
  { percent: 79.2449 },
  { phase: 'Registering updated components…' },
  { phase: 'Validating packages…' },
  { percent: 97.75 },
  { status: 'Running installer actions…' },
  { phase: 'Finishing the Installation…' },
  { percent: 100 },
  { phase: 'The software was successfully installed.' },
];

/**
 * `installer -pkg OpenJDK8U-jdk_x64_mac_hotspot_8u292b10.pkg -target /` on an Apple silicon Mac
 * without Rosetta, exit status 1, verbatim from scottkang/reference, MacHelp.md (a Korean-language
 * Mac, hence the localized error).
 */
const INSTALL_FAILED_ADOPTOPENJDK = `installer: This package requires Rosetta 2 to be installed.
                Please install Rosetta 2 and then try again.
                    \`sudo softwareupdate --install-rosetta\`

installer: Error - AdoptOpenJDK을(를) 이 컴퓨터에 설치할 수 없습니다.
`;

/**
 * `installer -pkg VirtualBox.pkg -target / -applyChoiceChangesXML …` (Homebrew cask virtualbox),
 * verbatim from prawee/my-daily-tools-osx, brew/virtualbox.md.
 */
const INSTALL_WITH_CHOICES_VIRTUALBOX = `installer: Package name is Oracle VM VirtualBox
installer: choices changes file '/var/folders/hj/ff0mk7tn4rb8m2wf3fpdkjyc0000gn/T/choices20200220-62906-mexoh1.xml' applied
installer: Upgrading at base path /
installer: The upgrade was successful.
`;

/**
 * `installer -query RestartAction -pkg P -plist`: an XML plist whose RestartAction is one of None,
 * RecommendRestart, RequireLogout, RequireRestart, RequireShutdown, as observed on macOS and
 * recorded in weswhet/russet, compatibility/apple-tools/installer.md (the notes give the shape and
 * values, not a byte-exact transcript; this is Apple's standard XML plist layout around them).
 */
const queryPlist = (action: string): string => `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>RestartAction</key>
\t<string>${action}</string>
</dict>
</plist>
`;

/**
 * `pkgutil --pkg-info-plist ID`: the real output quoted in formats reference §2 (a public Go test
 * fixture, "Saída real do pkgutil --pkg-info-plist"), with the id, version and location swapped.
 */
const pkgInfoPlist = (
  id: string,
  location: string,
): string => `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>install-location</key>
\t<string>${location}</string>
\t<key>install-time</key>
\t<integer>1737854274</integer>
\t<key>pkg-version</key>
\t<string>1.12</string>
\t<key>pkgid</key>
\t<string>${id}</string>
\t<key>receipt-plist-version</key>
\t<real>1</real>
\t<key>volume</key>
\t<string>/</string>
</dict>
</plist>
`;

/**
 * `pkgutil --files org.rudix.pkg.wget` (paths relative to the install location, folders included),
 * as printed in the Rudix project's pkgutil notes, quoted in public source.
 */
const FILES_WGET = 'usr\nusr/local\nusr/local/bin\nusr/local/bin/wget\n';

/** `pkgutil --forget ID` on success: "Forgot package 'org.rudix.pkg.boost' on '/'." (same notes). */
const forgot = (id: string): string => `Forgot package '${id}' on '/'.`;

// ---------------------------------------------------------------------------------------------
// Fake executables

let commandRoot: string;
let tmpDir: string;
let pkgDir: string;
let argvLog: string;
beforeEach(async () => {
  commandRoot = await mkdtemp(join(tmpdir(), 'abbot-macos-'));
  tmpDir = join(commandRoot, 'state-tmp');
  pkgDir = await mkdtemp(join(tmpdir(), 'abbot-pkgs-'));
  argvLog = join(commandRoot, 'argv.log');
});
afterEach(async () => {
  await rm(commandRoot, { recursive: true, force: true });
  await rm(pkgDir, { recursive: true, force: true });
});

/** A fake tool at `<commandRoot><macPath>` (see test/helpers/fake-tools.ts). */
const fake = (
  macPath: string,
  source: string,
  body: string,
  outputs: Record<string, string> = {},
) => writeFakeTool(commandRoot, argvLog, macPath, source, body, outputs);

/** The argv lines the fakes logged, in call order. */
const calls = (): Promise<string[][]> => readToolCalls(argvLog);

/**
 * A fake installer: `-query` prints the query plist; an install prints `install.out` (stdout) and
 * `install.err` (stderr), exits with `status`, and keeps a copy of any choices file it was given
 * and the USER and HOME it saw.
 */
async function fakeInstaller(outputs: {
  query?: string;
  install: string;
  installErr?: string;
  status?: number;
}): Promise<void> {
  await fake(
    '/usr/sbin/installer',
    'appfair/App CaskManager.swift, scottkang/reference MacHelp.md, prawee/my-daily-tools-osx brew/virtualbox.md, weswhet/russet installer.md (see the constants)',
    [
      'prev=""',
      'for a in "$@"; do',
      '  if [ "$prev" = "-applyChoiceChangesXML" ]; then cp "$a" "$SEEN/choices-$1.xml"; fi',
      '  prev="$a"',
      'done',
      'if [ "$1" = "-query" ]; then cat "$OUT.query.out"; exit 0; fi',
      'printf "USER=%s\\nHOME=%s\\nCUSTOM=%s\\n" "$USER" "$HOME" "$CUSTOM" > "$SEEN/env.txt"',
      'cat "$OUT.install.out"',
      'cat "$OUT.err.out" >&2',
      `exit ${outputs.status ?? 0}`,
    ].join('\n'),
    {
      query: outputs.query ?? queryPlist('None'),
      install: outputs.install,
      err: outputs.installErr ?? '',
    },
  );
}

const TOOL_PKG = {
  kind: 'product' as const,
  identifier: 'com.example.tool.product',
  version: '1.0',
  components: [
    {
      identifier: 'com.example.tool',
      version: '1.0',
      installLocation: '/usr/local',
      files: [{ path: 'bin/tool', contents: 'x', mode: 0o755 }],
    },
    {
      identifier: 'com.example.tool.setup',
      version: '1.0',
      payloadFree: true,
      scripts: { postinstall: '#!/bin/sh\n' },
    },
  ],
};

async function toolPkg(): Promise<string> {
  const file = join(pkgDir, 'Tool-1.0.pkg');
  await writeFile(file, await buildFlatPackage(TOOL_PKG));
  return file;
}

const mac = (): ReturnType<typeof macosPlatform> => macosPlatform({ commandRoot, tmpDir });

// ---------------------------------------------------------------------------------------------

describe('macOS installPackage', () => {
  it('queries RestartAction, then runs installer -verboseR as Munki does', async () => {
    await fakeInstaller({ query: queryPlist('RequireRestart'), install: INSTALL_SF_SYMBOLS });
    const pkg = await toolPkg();
    const result = await mac().installPackage(pkg, {});
    expect(await calls()).toEqual([
      ['/usr/sbin/installer', '-query', 'RestartAction', '-pkg', pkg, '-plist'],
      ['/usr/sbin/installer', '-verboseR', '-pkg', pkg, '-target', '/'],
    ]);
    expect(result).toMatchObject({
      ok: true,
      exitCode: 0,
      restartAction: 'RequireRestart',
      // Worked out from the package: the payload-free component leaves no receipt.
      receipts: ['com.example.tool'],
    });
    expect(result.log).toContain('installer: The install was successful.');
  });

  it('parses the progress in order, skipping empty statuses', async () => {
    await fakeInstaller({ install: INSTALL_SF_SYMBOLS });
    const events: PackageInstallProgress[] = [];
    await mac().installPackage(await toolPkg(), { onProgress: (p) => events.push(p) });
    expect(events).toEqual(SF_SYMBOLS_PROGRESS);
  });

  it('passes the choices as a choices.xml plist to both calls, and -allowUntrusted', async () => {
    await fakeInstaller({ install: INSTALL_WITH_CHOICES_VIRTUALBOX });
    const pkg = await toolPkg();
    const choices = [
      {
        choiceIdentifier: 'com.example.tool.setup',
        choiceAttribute: 'selected',
        attributeSetting: 0,
      },
    ];
    const result = await mac().installPackage(pkg, { choicesXml: choices, allowUntrusted: true });
    const [query, install] = await calls();
    const file = query?.[7] ?? '';
    expect(query).toEqual([
      '/usr/sbin/installer',
      '-query',
      'RestartAction',
      '-pkg',
      pkg,
      '-plist',
      '-applyChoiceChangesXML',
      file,
      '-allowUntrusted',
    ]);
    expect(file).toMatch(new RegExp(`^${tmpDir}/choices-[^/]+/choices\\.xml$`));
    expect(install).toEqual([
      '/usr/sbin/installer',
      '-verboseR',
      '-pkg',
      pkg,
      '-target',
      '/',
      '-applyChoiceChangesXML',
      file,
      '-allowUntrusted',
    ]);
    for (const call of ['-query', '-verboseR']) {
      expect(parsePlist(await readFile(join(commandRoot, `choices-${call}.xml`)))).toEqual(choices);
    }
    await expect(stat(file)).rejects.toThrow(); // removed afterwards
    expect((await stat(tmpDir)).mode & 0o777).toBe(0o700);
    expect(result).toMatchObject({ ok: true, receipts: ['com.example.tool'] });
  });

  it('reports installer: Error lines and the exit status when installer fails', async () => {
    await fakeInstaller({ install: INSTALL_FAILED_ADOPTOPENJDK, status: 1 });
    const result = await mac().installPackage(await toolPkg(), {});
    expect(result).toMatchObject({
      ok: false,
      exitCode: 1,
      restartAction: 'None',
      receipts: [],
      error: 'Error - AdoptOpenJDK을(를) 이 컴퓨터에 설치할 수 없습니다.',
    });
    expect(result.log).toContain('                Please install Rosetta 2 and then try again.');
  });

  it('reads installer errors from stderr too', async () => {
    await fakeInstaller({
      install: '',
      installErr: 'installer: Error -  Pre install check failed. Try again.\n',
      status: 1,
    });
    const result = await mac().installPackage(await toolPkg(), {});
    expect(result.error).toBe('Error -  Pre install check failed. Try again.');
  });

  it('falls back to the exit status when installer names no error', async () => {
    await fakeInstaller({ install: 'installer: Package name is Tool\n', status: 3 });
    const result = await mac().installPackage(await toolPkg(), {});
    expect(result).toMatchObject({
      ok: false,
      exitCode: 3,
      error: 'installer exited with status 3',
    });
  });

  it.each([
    ['jdoe', 'jdoe', '/Users/jdoe'],
    ['loginwindow', 'root', '/var/root'],
    ['', 'root', '/var/root'],
  ])(
    'runs installer as Munki does for USER=CURRENT_CONSOLE_USER (console: %j)',
    async (consoleUser, user, home) => {
      await fakeInstaller({ install: INSTALL_SF_SYMBOLS });
      // `stat -f%Su /dev/console` prints the owner of the console device: the logged-in user.
      await fake('/usr/bin/stat', 'stat(1) %Su format: the owner name', `echo "${consoleUser}"`);
      await mac().installPackage(await toolPkg(), {
        environment: { USER: 'CURRENT_CONSOLE_USER', CUSTOM: 'yes' },
      });
      expect(await readFile(join(commandRoot, 'env.txt'), 'utf8')).toBe(
        `USER=${user}\nHOME=${home}\nCUSTOM=yes\n`,
      );
      expect((await calls())[1]).toEqual(['/usr/bin/stat', '-f%Su', '/dev/console']);
    },
  );

  it('treats a failing RestartAction query as None, as Munki does', async () => {
    await fake(
      '/usr/sbin/installer',
      'installer exit status on an unreadable package',
      [
        'if [ "$1" = "-query" ]; then echo "installer: Error - the package path specified was invalid" >&2; exit 1; fi',
        'printf "installer: The install was successful.\\n"',
      ].join('\n'),
    );
    const result = await mac().installPackage(await toolPkg(), {});
    expect(result).toMatchObject({ ok: true, restartAction: 'None' });
  });
});

describe('installer output parsing', () => {
  const parse = (chunks: string[]) => {
    const seen: { progress: PackageInstallProgress[]; errors: string[]; lines: string[] } = {
      progress: [],
      errors: [],
      lines: [],
    };
    const parser = new InstallerOutputParser({
      progress: (p) => seen.progress.push(p),
      error: (e) => seen.errors.push(e),
      line: (l) => seen.lines.push(l),
      success: () => seen.lines.push('<success>'),
    });
    for (const c of chunks) parser.push(c);
    parser.end();
    return seen;
  };

  it('tolerates \\r separators, lines split across chunks, and repeated lines', () => {
    const text = INSTALL_SF_SYMBOLS.replace(/\n/g, '\r');
    const chunks = text.match(/[\s\S]{1,7}/g) ?? [];
    expect(parse(chunks).progress).toEqual(SF_SYMBOLS_PROGRESS);
    const repeated = parse(['installer:%5.0\ninstaller:%5.0\ninstaller:%5.0\ninstaller:%6.0']);
    expect(repeated.progress).toEqual([{ percent: 5 }, { percent: 6 }]);
  });

  it('takes Cannot install and The install failed lines as errors', () => {
    const seen = parse([
      'installer: Cannot install on volume / because it is disabled.\n',
      'installer: The install failed. (The Installer encountered an error that caused the installation to fail.)\n',
    ]);
    expect(seen.errors).toEqual([
      'Cannot install on volume / because it is disabled.',
      'The install failed. (The Installer encountered an error that caused the installation to fail.)',
    ]);
  });

  it.each([
    [queryPlist('RequireRestart'), 'RequireRestart'],
    [queryPlist('RecommendRestart') + queryPlist('None'), 'RecommendRestart'],
    [queryPlist('Reboot'), undefined],
    ['installer: Error - no package\n', undefined],
  ])('reads the first plist of a RestartAction query (%#)', (stdout, expected) => {
    expect(parseRestartQuery(stdout)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * A fake pkgutil knowing two receipts: org.rudix.pkg.wget (install-location /) and
 * com.example.other, which shares usr/local/bin with it.
 */
async function fakePkgutil(options: { failFilesOf?: string } = {}): Promise<void> {
  await fake(
    '/usr/sbin/pkgutil',
    'formats reference §2 (--pkg-info-plist); the Rudix pkgutil notes (--files, --forget)',
    [
      'case "$1" in',
      '  --pkgs) cat "$OUT.pkgs.out" ;;',
      '  --pkg-info-plist) cat "$OUT.info-$2.out" ;;',
      options.failFilesOf === undefined
        ? '  --files) cat "$OUT.files-$2.out" ;;'
        : `  --files) if [ "$2" = "${options.failFilesOf}" ]; then echo "No receipt for '$2' found at '/'." >&2; exit 1; fi; cat "$OUT.files-$2.out" ;;`,
      `  --forget) echo "Forgot package '$2' on '/'." ;;`,
      '  *) echo "unexpected" >&2; exit 2 ;;',
      'esac',
    ].join('\n'),
    {
      pkgs: 'org.rudix.pkg.wget\ncom.example.other\n',
      'info-org.rudix.pkg.wget': pkgInfoPlist('org.rudix.pkg.wget', '/'),
      'files-org.rudix.pkg.wget': FILES_WGET,
      'info-com.example.other': pkgInfoPlist('com.example.other', 'usr/local/'),
      'files-com.example.other': 'bin\nbin/other\n',
    },
  );
}

const pkgutilArgv = [
  ['/usr/sbin/pkgutil', '--pkgs'],
  ['/usr/sbin/pkgutil', '--pkg-info-plist', 'org.rudix.pkg.wget'],
  ['/usr/sbin/pkgutil', '--files', 'org.rudix.pkg.wget'],
  ['/usr/sbin/pkgutil', '--pkg-info-plist', 'com.example.other'],
  ['/usr/sbin/pkgutil', '--files', 'com.example.other'],
];

describe('macOS removePackages', () => {
  let volume: string;
  beforeEach(async () => {
    volume = await mkdtemp(join(tmpdir(), 'abbot-volume-'));
    await mkdir(join(volume, 'usr/local/bin'), { recursive: true });
    await writeFile(join(volume, 'usr/local/bin/wget'), 'wget');
    await writeFile(join(volume, 'usr/local/bin/other'), 'other');
  });
  afterEach(async () => {
    await rm(volume, { recursive: true, force: true });
  });

  const removal = () =>
    removePackagesOnMac(
      {
        root: volume,
        logger: silentLogger,
        pkgutil: (args) => runCommand([join(commandRoot, '/usr/sbin/pkgutil'), ...args]),
      },
      ['org.rudix.pkg.wget'],
    );

  it('asks pkgutil about every receipt, removes the unshared files, then forgets', async () => {
    await fakePkgutil();
    const result = await removal();
    expect(await calls()).toEqual([
      ...pkgutilArgv,
      ['/usr/sbin/pkgutil', '--forget', 'org.rudix.pkg.wget'],
    ]);
    expect(result).toEqual({
      ok: true,
      removedPaths: ['/usr/local/bin/wget'],
      keptPaths: ['/usr/local/bin', '/usr/local', '/usr'],
      forgotten: ['org.rudix.pkg.wget'],
      errors: [],
    });
    expect(await readFile(join(volume, 'usr/local/bin/other'), 'utf8')).toBe('other');
  });

  it('removes nothing when another receipt cannot be listed', async () => {
    await fakePkgutil({ failFilesOf: 'com.example.other' });
    const result = await removal();
    expect(result.ok).toBe(false);
    expect(result.errors).toEqual([
      "pkgutil --files com.example.other failed: No receipt for 'com.example.other' found at '/'.; nothing was removed, as shared files cannot be told apart",
    ]);
    expect(await readFile(join(volume, 'usr/local/bin/wget'), 'utf8')).toBe('wget');
    expect((await calls()).some((c) => c[1] === '--forget')).toBe(false);
  });

  it('runs the same pkgutil sequence through the platform', async () => {
    // Paths no host has, so that running against the real / touches nothing.
    const marker = `abbot-test-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await fake(
      '/usr/sbin/pkgutil',
      'formats reference §2 (--pkg-info-plist); the Rudix pkgutil notes (--files, --forget)',
      [
        'case "$1" in',
        '  --pkgs) echo "org.rudix.pkg.wget" ;;',
        '  --pkg-info-plist) cat "$OUT.info.out" ;;',
        `  --files) printf '${marker}\\n${marker}/wget\\n' ;;`,
        `  --forget) echo "${forgot('org.rudix.pkg.wget')}" ;;`,
        'esac',
      ].join('\n'),
      { info: pkgInfoPlist('org.rudix.pkg.wget', '/') },
    );
    const result = await mac().removePackages(['org.rudix.pkg.wget', 'com.example.absent']);
    expect(await calls()).toEqual([
      ['/usr/sbin/pkgutil', '--pkgs'],
      ['/usr/sbin/pkgutil', '--pkg-info-plist', 'org.rudix.pkg.wget'],
      ['/usr/sbin/pkgutil', '--files', 'org.rudix.pkg.wget'],
      ['/usr/sbin/pkgutil', '--forget', 'org.rudix.pkg.wget'],
    ]);
    expect(result).toMatchObject({
      ok: false,
      removedPaths: [],
      forgotten: ['org.rudix.pkg.wget'],
      errors: ['No receipt for package com.example.absent'],
    });
  });

  it('reads the install location of pkgutil --pkg-info-plist', () => {
    expect(parsePkgInfoLocation(pkgInfoPlist('x', 'Applications/'))).toBe('Applications/');
    expect(parsePkgInfoLocation('garbage')).toBeUndefined();
  });
});
