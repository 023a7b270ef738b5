/**
 * The macOS platform: the real machine, asked through Apple's own tools (all via runCommand).
 *
 * - Facts: `sysctl -n hw.model`; `uname -m`, and when that says x86_64,
 *   `sysctl -n sysctl.proc_translated` (1 = this process runs under Rosetta on an arm64 Mac, which
 *   is what the `arch` fact must report; Intel Macs have no such OID and exit 1);
 *   `ioreg -rd1 -c IOPlatformExpertDevice` (IOPlatformSerialNumber, from the text output);
 *   `sw_vers` (SystemVersion.plist if it fails); `pmset -g batt` (an InternalBattery line means a
 *   laptop, as Munki's internal-battery check). Addresses, hostname and date as in the sandbox.
 * - Receipts: ONE `pkgutil --regexp --pkg-info-plist .*` call, whose stdout is one XML plist per
 *   package, concatenated.
 * - Applications: a scan of the application folders, shared with the sandbox (see apps.ts for why
 *   not Spotlight).
 * - Installing: `installer -query RestartAction` then `installer -verboseR -pkg P -target /`, as
 *   Munki runs them (install-package.ts). Removing: pkgutil --pkgs/--pkg-info-plist/--files, the
 *   unshared files removed, `pkgutil --forget` (remove-packages.ts). Disk images (copy_from_dmg,
 *   a package on a .dmg): `hdiutil attach`/`detach`, `ditto`, `xattr`, `chown`, `chmod`
 *   (disk-image.ts).
 * - Restarting: `requestRestart` only records the need in `/Library/Abbot/restart-requested.json`
 *   for `abbot status` and the caller, which decides when (Munki waits for the user to agree, or
 *   restarts only when nobody is logged in); `restartNow` runs `shutdown -r now` once it has.
 *
 * `commandRoot` runs every tool from under another folder (`<commandRoot>/usr/sbin/pkgutil`), so
 * tests on any OS can put fake executables there that print real recorded macOS output.
 */
import { lstat, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import { AppError, describeError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import type { Logger } from '../../../lib/log.js';
import { CommandError, runCommand } from '../../../lib/run-command.js';
import type { CommandResult } from '../../../lib/run-command.js';
import { pathsFor } from '../../paths.js';
import type { InstalledReceipt, Platform } from '../platform.js';
import { scanApplications } from '../sandbox/apps.js';
import { writeRestartRequest } from '../sandbox/restart-request.js';
import { composeFacts, networkAddresses } from '../sandbox/facts.js';
import type { MachineInfo } from '../sandbox/facts.js';
import { rootedFiles } from '../sandbox/files.js';
import { DEFAULT_SCRIPT_TIMEOUT_MS, runEmbeddedScript } from '../sandbox/scripts.js';
import { copyFromDmgOnMac, DISK_IMAGE_TOOLS, installPackageFromDmgOnMac } from './disk-image.js';
import { consoleUser, INSTALL_TOOLS, installPackageOnMac } from './install-package.js';
import type { MacosInstallContext } from './install-package.js';
import { parsePmsetBatt } from './power.js';
import { removePackagesOnMac } from './remove-packages.js';

/** The Apple tools this platform runs, by their real paths. */
export const MACOS_TOOLS = {
  sysctl: '/usr/sbin/sysctl',
  uname: '/usr/bin/uname',
  ioreg: '/usr/sbin/ioreg',
  swVers: '/usr/bin/sw_vers',
  pmset: '/usr/bin/pmset',
  pkgutil: '/usr/sbin/pkgutil',
  ps: '/bin/ps',
  shutdown: '/sbin/shutdown',
  ...INSTALL_TOOLS,
  ...DISK_IMAGE_TOOLS,
} as const;

/** Options of the macOS platform. */
export interface MacosPlatformOptions {
  /** Run the Apple tools from under this folder instead of `/` (tests place fakes there). */
  commandRoot?: string;
  /** Hears about commands that failed and values that fell back to defaults. */
  logger?: Logger;
  /** Time limit of an embedded script when the caller gives none (default 10 minutes). */
  scriptTimeoutMs?: number;
  /** Time limit of each fact or receipt command (default 2 minutes). */
  commandTimeoutMs?: number;
  /** Time limit of one `installer -pkg` run (default 2 hours; Munki sets none). */
  installTimeoutMs?: number;
  /** Private folder for temporary files such as choices.xml (default `/Library/Abbot/tmp`). */
  tmpDir?: string;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
const DEFAULT_INSTALL_TIMEOUT_MS = 2 * 60 * 60_000;
/** shutdown forks and its parent exits at once; a minute is far beyond a working one. */
const RESTART_TIMEOUT_MS = 60_000;

/** The platform for the Mac this runs on. */
export function macosPlatform(options: MacosPlatformOptions = {}): Platform {
  const logger = options.logger ?? silentLogger;
  const paths =
    options.tmpDir === undefined ? pathsFor('/') : { ...pathsFor('/'), tmpDir: options.tmpDir };
  const files = rootedFiles(paths.root);
  const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const tool = (path: string): string =>
    options.commandRoot === undefined ? path : join(options.commandRoot, path);
  // Shared by packages and disk images: the long limit covers installer, hdiutil attach and ditto.
  const installContext: MacosInstallContext = {
    tool,
    paths,
    logger,
    queryTimeoutMs: timeoutMs,
    installTimeoutMs: options.installTimeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS,
  };

  /** Runs a tool; a tool that cannot be started gives undefined (logged), not an exception. */
  const run = async (argv: string[]): Promise<CommandResult | undefined> => {
    const [command = '', ...args] = argv;
    try {
      return await runCommand([tool(command), ...args], { timeoutMs });
    } catch (e) {
      logger.warn('platform.command.unavailable', describeError(e), { argv });
      return undefined;
    }
  };
  /** A tool's trimmed stdout when it succeeded; undefined (logged) otherwise. */
  const output = async (argv: string[]): Promise<string | undefined> => {
    const result = await run(argv);
    if (result === undefined) return undefined;
    if (result.exitCode !== 0 || result.timedOut) {
      logger.warn('platform.command.failed', new CommandError(argv, result).message, { argv });
      return undefined;
    }
    return result.stdout.trim();
  };

  const readArch = async (): Promise<string> => {
    const machine = (await output([MACOS_TOOLS.uname, '-m'])) ?? '';
    if (machine !== 'x86_64') return machine;
    // Not `output()`: on an Intel Mac this OID does not exist and sysctl exits 1, which is normal.
    const translated = await run([MACOS_TOOLS.sysctl, '-n', 'sysctl.proc_translated']);
    return translated?.exitCode === 0 && translated.stdout.trim() === '1' ? 'arm64' : 'x86_64';
  };

  const readOsVersion = async (): Promise<{ productVersion: string; buildVersion: string }> => {
    const swVers = parseSwVers((await output([MACOS_TOOLS.swVers])) ?? '');
    if (swVers.productVersion && swVers.buildVersion) {
      return { productVersion: swVers.productVersion, buildVersion: swVers.buildVersion };
    }
    // On a Mac the root is `/`, so this host path is also the macOS path readPlist takes.
    const plist = await files.readPlist(paths.systemVersionPlist);
    const version = isPlistDict(plist) ? plist['ProductVersion'] : undefined;
    const build = isPlistDict(plist) ? plist['ProductBuildVersion'] : undefined;
    if (typeof version === 'string' && typeof build === 'string') {
      return { productVersion: version, buildVersion: build };
    }
    // Conditions on os_vers would silently misfire with a made-up version: stop instead.
    throw new AppError('COMMAND_FAILED', 'cannot tell the macOS version: sw_vers failed', {
      hint: 'check that /usr/bin/sw_vers runs',
    });
  };

  const readMachine = async (): Promise<MachineInfo> => {
    const [model, arch, ioreg, os, battery] = await Promise.all([
      output([MACOS_TOOLS.sysctl, '-n', 'hw.model']),
      readArch(),
      output([MACOS_TOOLS.ioreg, '-rd1', '-c', 'IOPlatformExpertDevice']),
      readOsVersion(),
      output([MACOS_TOOLS.pmset, '-g', 'batt']),
    ]);
    return {
      ...os,
      arch,
      machineModel: model ?? '',
      machineType: battery !== undefined && hasInternalBattery(battery) ? 'laptop' : 'desktop',
      serialNumber: parseIoregSerial(ioreg ?? '') ?? 'UNKNOWN',
      hostname: osHostname(),
    };
  };

  const listApplications = () => scanApplications(paths.root, logger);

  return {
    kind: 'macos',
    paths,
    async collectFacts(now) {
      const [machine, applications] = await Promise.all([readMachine(), listApplications()]);
      return composeFacts(machine, { now, applications, addresses: networkAddresses() });
    },
    async listReceipts() {
      const argv = [MACOS_TOOLS.pkgutil, '--regexp', '--pkg-info-plist', '.*'];
      const result = await runCommand([tool(argv[0] ?? ''), ...argv.slice(1)], { timeoutMs });
      const receipts = parsePkgutilReceipts(result.stdout, logger);
      if (result.exitCode === 0 && !result.timedOut) return receipts;
      // pkgutil exits 1 with "No receipt for '.*' found" on a volume without any.
      if (!result.timedOut && receipts.length === 0 && /no receipt/i.test(result.stderr)) return [];
      // A partial list would make installed packages look missing: fail instead.
      throw new CommandError(argv, result, { hint: 'pkgutil could not list the receipts' });
    },
    listApplications,
    readPlist: (path) => files.readPlist(path),
    exists: (path) => files.exists(path),
    md5: (path) => files.md5(path),
    runScript: (script, scriptOptions) =>
      runEmbeddedScript(
        paths,
        script,
        scriptOptions,
        options.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
      ),
    installPackage: (pkgPath, installOptions) =>
      installPackageOnMac(installContext, pkgPath, installOptions),
    copyFromDmg: (dmgPath, itemsToCopy, copyOptions) =>
      copyFromDmgOnMac(installContext, dmgPath, itemsToCopy, copyOptions),
    installPackageFromDmg: (dmgPath, packagePath, installOptions) =>
      installPackageFromDmgOnMac(installContext, dmgPath, packagePath, installOptions),
    removePackages: (packageIds) =>
      removePackagesOnMac(
        {
          root: paths.root,
          logger,
          pkgutil: (args) => runCommand([tool(MACOS_TOOLS.pkgutil), ...args], { timeoutMs }),
        },
        packageIds,
      ),
    requestRestart: (reason) => writeRestartRequest(paths, reason),
    restartNow: async (reason) => {
      const argv = [tool(MACOS_TOOLS.shutdown), '-r', 'now'];
      logger.info('platform.restart.now', `restarting now: ${reason}`, { argv });
      const result = await runCommand(argv, { timeoutMs: RESTART_TIMEOUT_MS });
      if (result.exitCode !== 0 || result.timedOut) {
        throw new CommandError(argv, result, { hint: 'restarting needs root: run abbot as root' });
      }
    },
    listProcesses: async () => {
      // `comm` is the executable's full path on macOS, which blocking_applications matching needs.
      const r = await runCommand([tool(MACOS_TOOLS.ps), '-axo', 'comm='], { timeoutMs });
      if (r.exitCode !== 0) throw new AppError('COMMAND_FAILED', `ps failed: ${r.stderr.trim()}`);
      return r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
    },
    consoleUser: async () => {
      const user = await consoleUser({
        tool,
        paths,
        logger,
        queryTimeoutMs: timeoutMs,
        installTimeoutMs: timeoutMs,
      });
      return user === 'root' ? undefined : user;
    },
    removeItem: async (path) => {
      const existed = await lstat(path).then(
        () => true,
        () => false,
      );
      await rm(path, { recursive: true, force: true });
      return existed;
    },
    powerState: async () => {
      const text = await output([MACOS_TOOLS.pmset, '-g', 'batt']);
      return text === undefined ? { source: 'unknown' } : parsePmsetBatt(text);
    },
  };
}

/** `sw_vers` output (`ProductVersion:\t\t14.4.1`) as its two values we use. */
export function parseSwVers(text: string): { productVersion?: string; buildVersion?: string } {
  const out: { productVersion?: string; buildVersion?: string } = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(\w+):\s*(\S.*?)\s*$/.exec(line);
    if (m?.[1] === 'ProductVersion' && m[2] !== undefined) out.productVersion = m[2];
    if (m?.[1] === 'BuildVersion' && m[2] !== undefined) out.buildVersion = m[2];
  }
  return out;
}

/** IOPlatformSerialNumber from `ioreg -rd1 -c IOPlatformExpertDevice` text output. */
export function parseIoregSerial(text: string): string | undefined {
  const m = /"IOPlatformSerialNumber"\s*=\s*"([^"]*)"/.exec(text);
  return m?.[1] === undefined || m[1] === '' ? undefined : m[1];
}

/** True when `pmset -g batt` lists an internal battery (a UPS line does not make a laptop). */
export function hasInternalBattery(pmsetOutput: string): boolean {
  return /^\s*-InternalBattery-\d+/m.test(pmsetOutput);
}

/**
 * Splits concatenated XML plists (pkgutil's `--pkg-info-plist` with `--regexp`) into documents:
 * each ends at its `</plist>`; trailing text without one is returned last, to fail parsing loudly.
 */
export function splitConcatenatedPlists(text: string): string[] {
  const docs: string[] = [];
  const end = '</plist>';
  let start = 0;
  for (let at = text.indexOf(end); at !== -1; at = text.indexOf(end, start)) {
    docs.push(text.slice(start, at + end.length).trim());
    start = at + end.length;
  }
  const rest = text.slice(start).trim();
  if (rest !== '') docs.push(rest);
  return docs.filter((d) => d !== '');
}

/** The receipts in pkgutil's concatenated plists; a document that does not parse is skipped. */
export function parsePkgutilReceipts(stdout: string, logger: Logger): InstalledReceipt[] {
  const receipts: InstalledReceipt[] = [];
  for (const [index, doc] of splitConcatenatedPlists(stdout).entries()) {
    const skip = (reason: string): void =>
      logger.warn('receipts.skipped', `pkgutil receipt #${index + 1}: ${reason}; skipped`, {
        index,
        reason,
      });
    let value;
    try {
      value = parsePlist(doc, { source: `pkgutil receipt #${index + 1}` });
    } catch (e) {
      skip(describeError(e));
      continue;
    }
    if (!isPlistDict(value)) {
      skip('not a dictionary');
      continue;
    }
    const id = value['pkgid'];
    const version = value['pkg-version'];
    if (typeof id !== 'string' || id === '' || typeof version !== 'string') {
      skip('no pkgid or pkg-version');
      continue;
    }
    const receipt: InstalledReceipt = { packageId: id, version };
    const location = value['install-location'];
    if (typeof location === 'string') receipt.installPrefixPath = location;
    const time = value['install-time'];
    if (typeof time === 'number' || typeof time === 'bigint') {
      receipt.installDate = new Date(Number(time) * 1000);
    }
    receipts.push(receipt);
  }
  return receipts.sort((a, b) =>
    a.packageId < b.packageId ? -1 : a.packageId > b.packageId ? 1 : 0,
  );
}
