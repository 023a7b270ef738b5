/**
 * The platform seam: every side effect of the client goes through a `Platform`. Two real
 * implementations: `macos` (the real commands) and `sandbox` (a folder standing in for `/`).
 * Platform branching happens once, in the composition root:
 *   const platform = root ? sandboxPlatform(root) : macosPlatform();
 * Paths given to a platform are always macOS paths (`/Applications/Foo.app`); the sandbox maps
 * them under its root.
 */
import type { PlistValue } from '../../formats/index.js';
import type { Facts } from '../../manifests/index.js';

/** Where the client keeps everything, derived from one root (`/` on a Mac). */
export interface AbbotPaths {
  /** The root everything hangs from: `/` on macOS, the sandbox folder otherwise. */
  root: string;
  /** `<root>/Library/Abbot`: state, caches, logs. */
  stateDir: string;
  /** Downloaded manifests (with their HTTP validators). */
  manifestsDir: string;
  /** Downloaded catalogs (with their HTTP validators) and their parsed index. */
  catalogsDir: string;
  /** Downloaded installer items. */
  cacheDir: string;
  /** Downloaded icons. */
  iconsDir: string;
  logsDir: string;
  /** Admin condition scripts (`<state>/conditions/`). */
  conditionsDir: string;
  /** Munki-format InstallInfo.plist. */
  installInfo: string;
  /** Munki-format ManagedInstallReport.plist. */
  report: string;
  /** The machine's own preferences plist. */
  preferences: string;
  /** The configuration-profile (managed) preferences plist. */
  managedPreferences: string;
  /** pkgutil's receipts folder. */
  receiptsDir: string;
  /** Where admin condition scripts write their facts (`<state>/ConditionalItems.plist`). */
  conditionalItems: string;
  /** Private (0700) folder for embedded scripts written out to run (`<state>/tmp`). */
  tmpDir: string;
  /** Apple's `SystemVersion.plist` (ProductVersion, ProductBuildVersion). */
  systemVersionPlist: string;
  /** Sandbox only: the machine's stand-in hardware facts (`<state>/machine.plist`). */
  machinePlist: string;
}

/** One installed package receipt, as pkgutil reports it. */
export interface InstalledReceipt {
  packageId: string;
  version: string;
  /** Install location relative to the volume, e.g. `Applications/` or `/`. */
  installPrefixPath?: string;
  installDate?: Date;
}

/** One installed application, as the `applications` condition fact lists them. */
export type AppInfo = {
  bundleid: string;
  name: string;
  path: string;
  version: string;
};

/** Output of a finished subprocess or script. */
export interface ScriptResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when it was killed for running past its timeout. */
  timedOut: boolean;
}

/** What the client needs from the machine to check what is installed and to evaluate conditions. */
export interface Platform {
  readonly kind: 'macos' | 'sandbox';
  readonly paths: AbbotPaths;
  /** Built-in facts for conditions (admin condition scripts are merged by the caller). */
  collectFacts(now: Date): Promise<Facts>;
  /** Every installed package receipt (one pkgutil call on macOS). */
  listReceipts(): Promise<InstalledReceipt[]>;
  /** The installed applications (bundle id, name, path, version). */
  listApplications(): Promise<AppInfo[]>;
  /** Reads a plist at a macOS path; undefined when it is missing or unreadable. */
  readPlist(path: string): Promise<PlistValue | undefined>;
  /** True when a file or folder exists at a macOS path. */
  exists(path: string): Promise<boolean>;
  /** MD5 of the file at a macOS path, lowercase hex; undefined when missing. */
  md5(path: string): Promise<string | undefined>;
  /**
   * Runs an embedded pkginfo script (installcheck_script, version_script, …): written to a private
   * temp file, run directly (shebang), with ABBOT_ROOT set to the root, killed after `timeoutMs`.
   */
  runScript(
    script: string,
    options: { name: string; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<ScriptResult>;

  // Installing and removing (the `apply` half of the client).

  /**
   * Installs a flat package as `/usr/sbin/installer -pkg P -target /` does. Package problems (a bad
   * archive, a failing script, installer's own errors) come back as `ok: false` with `error`, never
   * as a throw: one item's failure belongs in the run report.
   */
  installPackage(pkgPath: string, options: PackageInstallOptions): Promise<PackageInstallResult>;
  /**
   * Munki's removepackages: removes the files of these receipts that no other receipt owns (deepest
   * first; a folder only when empty or holding only `.DS_Store`), then forgets the receipts.
   */
  removePackages(packageIds: string[]): Promise<RemovalResult>;
  /**
   * Records that the machine needs a restart (`<state>/restart-requested.json`, read by `abbot
   * status`). Never restarts anything by itself, on either platform: when and how to restart is the
   * caller's decision (Munki waits for the user, or restarts only at the login window).
   */
  requestRestart(reason: string): Promise<void>;
  /**
   * Restarts the machine now, for a caller that has decided it must (bootstrap). On macOS runs
   * `shutdown -r now` (AppError COMMAND_FAILED with its stderr when it fails); the sandbox restarts
   * nothing and records the request as `requestRestart` does.
   */
  restartNow(reason: string): Promise<void>;
  /**
   * Executable paths of running processes, for blocking_applications. On macOS from `ps`; in the
   * sandbox from `<root>/Library/Abbot/processes.txt` (one path a line), its stand-in for `ps`.
   */
  listProcesses(): Promise<string[]>;
  /**
   * The user logged in at the console; undefined at the login window (no one, or `root`). On
   * macOS from `stat -f%Su /dev/console`; in the sandbox from machine.plist's `console_user`.
   */
  consoleUser(): Promise<string | undefined>;
  /** Deletes a file or folder (recursively) at a macOS path: remove_copied_items. True if it existed. */
  removeItem(path: string): Promise<boolean>;
  /**
   * Where the machine draws power from, for work that must not die halfway (a macOS upgrade). On
   * macOS from `pmset -g batt`; in the sandbox from machine.plist's `power_source` and
   * `battery_percent`.
   */
  powerState(): Promise<PowerState>;
  /**
   * Munki's copy_from_dmg: mounts the disk image, copies each `items_to_copy` entry to its
   * destination with its owner, group and mode, and always unmounts. Problems come back as
   * `ok: false` with `error` (and what was copied before them), never as a throw.
   */
  copyFromDmg(
    dmgPath: string,
    itemsToCopy: PlistValue,
    options?: CopyFromDmgOptions,
  ): Promise<CopyFromDmgResult>;
  /**
   * Installs a package found on a disk image: `packagePath` (relative to the image's root), else
   * the first `.pkg`/`.mpkg` at the root, installed as `installPackage` does; always unmounts.
   */
  installPackageFromDmg(
    dmgPath: string,
    packagePath: string | undefined,
    options: PackageInstallOptions,
  ): Promise<PackageInstallResult>;
}

/** Where the machine draws power from. */
export interface PowerState {
  /** `unknown` when the tool could not tell (a desktop without a battery reports `ac`). */
  source: 'ac' | 'battery' | 'unknown';
  /** The internal battery's charge, 0–100, when there is one. */
  batteryPercent?: number;
}

/** How to copy items from a disk image. */
export interface CopyFromDmgOptions {
  /** Hears about progress (the item being copied, percent of its bytes), in order. */
  onProgress?: (progress: PackageInstallProgress) => void;
}

/** How a copy_from_dmg went. */
export interface CopyFromDmgResult {
  ok: boolean;
  /** Why it failed. */
  error?: string;
  /** Destinations (macOS paths) put in place, in order, including those before a failure. */
  copied: string[];
}

/** What a package asks for when it is installed, mildest first (installer's RestartAction). */
export type RestartAction =
  'None' | 'RecommendRestart' | 'RequireLogout' | 'RequireRestart' | 'RequireShutdown';

/** One progress report of an install; each field only when this report changes it. */
export interface PackageInstallProgress {
  /** 0–100. */
  percent?: number;
  /** What the installer is doing, e.g. `Writing files…` or `postinstall`. */
  phase?: string;
  status?: string;
}

/** How to install one package (Munki's pkginfo keys, already read by the caller). */
export interface PackageInstallOptions {
  /** `installer_choices_xml`: choice changes (an array of dicts), passed as a choices.xml file. */
  choicesXml?: PlistValue;
  /** `allow_untrusted`: installer's `-allowUntrusted`. */
  allowUntrusted?: boolean;
  /** `installer_environment`: extra variables; `USER=CURRENT_CONSOLE_USER` names the console user. */
  environment?: Record<string, string>;
  /** Hears about progress, in order. */
  onProgress?: (progress: PackageInstallProgress) => void;
}

/** How an install went. */
export interface PackageInstallResult {
  ok: boolean;
  /**
   * installer's exit status (0 on success, 1 on any failure as installer reports it); -1 when
   * installer never ran (a disk image that would not mount or held no package), as Munki reports it.
   */
  exitCode: number;
  /** What the installed package asks for; `None` when the install failed (as Munki does). */
  restartAction: RestartAction;
  /** Ids of the packages whose receipts the install wrote. */
  receipts: string[];
  /** The install's transcript, line by line. */
  log: string[];
  /** Why it failed, in installer's words where it gave any. */
  error?: string;
}

/** How a removal went; paths are macOS paths (`/Applications/Foo.app`). */
export interface RemovalResult {
  ok: boolean;
  removedPaths: string[];
  /** Paths another receipt still owns, and folders left because they are not empty. */
  keptPaths: string[];
  /** Package ids whose receipts were forgotten. */
  forgotten: string[];
  errors: string[];
}
