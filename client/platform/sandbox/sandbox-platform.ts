/**
 * The sandbox platform: a folder that stands in for `/` on any OS. Facts come from
 * `<root>/System/Library/CoreServices/SystemVersion.plist` and `<state>/machine.plist` (host values
 * and documented defaults otherwise), receipts from `<root>/var/db/receipts/`, applications from
 * the application folders under the root. Embedded scripts run with ABBOT_ROOT=<root>.
 * Packages are really installed under the root (install-package.ts), removed by receipt
 * (remove-packages.ts), and a restart is only ever recorded (`<state>/restart-requested.json`).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isPlistDict, parsePlist } from '../../../formats/index.js';
import { silentLogger } from '../../../lib/log.js';
import type { Logger } from '../../../lib/log.js';
import { pathsFor } from '../../paths.js';
import type { Platform } from '../platform.js';
import { scanApplications } from './apps.js';
import { composeFacts, networkAddresses, readSandboxMachine } from './facts.js';
import { rootedFiles } from './files.js';
import { installPackageInSandbox } from './install-package.js';
import { readSandboxPower } from './power.js';
import { writeRestartRequest } from './restart-request.js';
import { removePackagesInSandbox } from './remove-packages.js';
import { readReceiptsFolder } from './receipts.js';
import { DEFAULT_SCRIPT_TIMEOUT_MS, runEmbeddedScript } from './scripts.js';

/** Why the sandbox cannot install from a disk image (see copyFromDmg below). */
export const SANDBOX_DMG_ERROR =
  'disk images (.dmg) need hdiutil on macOS; the sandbox platform does not open them';

/** Options of the sandbox platform. */
export interface SandboxPlatformOptions {
  /** Hears about skipped receipts and unreadable fact files (default: silent). */
  logger?: Logger;
  /** Time limit of an embedded script when the caller gives none (default 10 minutes). */
  scriptTimeoutMs?: number;
  /** Time limit of each package pre/postinstall script (default 600 s, as PackageKit). */
  packageScriptTimeoutMs?: number;
  /** The clock for receipts' InstallDate and restart requests (default: the real one). */
  now?: () => Date;
}

/** The platform for a sandbox folder standing in for `/`. */
export function sandboxPlatform(root: string, options: SandboxPlatformOptions = {}): Platform {
  const logger = options.logger ?? silentLogger;
  const paths = pathsFor(root);
  const files = rootedFiles(paths.root);
  const listApplications = () => scanApplications(paths.root, logger);
  return {
    kind: 'sandbox',
    paths,
    async collectFacts(now) {
      const [machine, applications] = await Promise.all([
        readSandboxMachine(paths, logger),
        listApplications(),
      ]);
      return composeFacts(machine, { now, applications, addresses: networkAddresses() });
    },
    // The installer's `<id>.paths.plist` file lists sit beside the receipts: not receipts.
    listReceipts: () => readReceiptsFolder(paths.receiptsDir, logger),
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
      installPackageInSandbox(
        {
          paths,
          logger,
          ...(options.packageScriptTimeoutMs === undefined
            ? {}
            : { scriptTimeoutMs: options.packageScriptTimeoutMs }),
          ...(options.now === undefined ? {} : { now: options.now }),
        },
        pkgPath,
        installOptions,
      ),
    removePackages: (packageIds) => removePackagesInSandbox({ paths, logger }, packageIds),
    requestRestart: (reason) => writeRestartRequest(paths, reason, options.now?.()),
    // A sandbox has no machine to restart: the record is what a test watches for.
    restartNow: (reason) => writeRestartRequest(paths, reason, options.now?.()),
    // The sandbox's stand-ins for `ps` and the console owner: files a test or demo writes.
    listProcesses: async () => {
      const text = await readFile(join(paths.stateDir, 'processes.txt'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'));
    },
    consoleUser: async () => {
      const machine = await readFile(paths.machinePlist).then(
        (b) => parsePlist(b, { source: paths.machinePlist }),
        () => undefined,
      );
      const user = isPlistDict(machine) ? machine['console_user'] : undefined;
      return typeof user === 'string' && user !== '' && user !== 'root' ? user : undefined;
    },
    // UDIF disk images are compressed, often encrypted or licence-wrapped block devices holding
    // an HFS+ or APFS volume: there is no portable reader for them, only hdiutil on macOS. Fail
    // plainly rather than pretend the item was installed.
    copyFromDmg: () => Promise.resolve({ ok: false, error: SANDBOX_DMG_ERROR, copied: [] }),
    installPackageFromDmg: () =>
      Promise.resolve({
        ok: false,
        exitCode: -1,
        restartAction: 'None',
        receipts: [],
        log: [SANDBOX_DMG_ERROR],
        error: SANDBOX_DMG_ERROR,
      }),
    removeItem: async (path) => {
      // Only what really lies inside the root: a path through a symlink that leaves it is refused.
      const host = await files.resolve(path);
      if (host === undefined) return false;
      await rm(host, { recursive: true, force: true });
      return true;
    },
    powerState: () => readSandboxPower(paths),
  };
}
