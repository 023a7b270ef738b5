/**
 * Installing a package on a Mac exactly as Munki does (installer/pkg.swift):
 *
 * 1. `installer -query RestartAction -pkg P -plist [-applyChoiceChangesXML F] [-allowUntrusted]`,
 *    whose first plist's RestartAction becomes the result's (a failing query is a warning and
 *    counts as None, as in Munki).
 * 2. `/usr/sbin/installer -verboseR -pkg P -target / [-applyChoiceChangesXML F] [-allowUntrusted]`
 *    with the pkginfo's installer_environment merged over this process's environment (USER and
 *    HOME set to the running user's first, as Munki does);
 *    `USER=CURRENT_CONSOLE_USER` becomes the console user (`stat -f%Su /dev/console`; root when
 *    nobody or `loginwindow` is at the console) and HOME that user's home (`/var/root` for root,
 *    `/Users/<name>` otherwise: Munki asks the directory service, which only differs for network
 *    or relocated homes). The choices file is the installer_choices_xml written as an XML plist in
 *    a private temporary folder, removed afterwards.
 * 3. Its output is parsed line by line (`\n` or `\r` separated, partial lines buffered, a line equal
 *    to the previous one skipped): `installer:%NN.N` → percent, `installer:PHASE:x` and
 *    `installer:STATUS:x` → phase and status (empty ones ignored), `installer: Error…`,
 *    `installer: Cannot install…` and installer's closing `The install failed. (…)` → the error,
 *    on stdout or stderr (installer prints errors on either). See formats reference §3.5.
 *
 * lib/run-command.ts hands back output only when the command has finished, so progress reports
 * arrive, in order, after installer exits; `InstallerOutputParser` takes chunks, so it will stream
 * as soon as the runner can pass output on as it comes.
 *
 * The receipts an install writes are worked out from the package itself before installing
 * (`readFlatPackage`: its selected components that carry a payload); a package that cannot be
 * read that way is still handed to installer, whose verdict counts, and lists no receipts.
 */
import { lstat, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { buildPlist, isPlistDict, parsePlist, readFlatPackage } from '../../../formats/index.js';
import { describeError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { runCommand, shellExitStatus } from '../../../lib/run-command.js';
import type { CommandResult } from '../../../lib/run-command.js';
import type {
  AbbotPaths,
  PackageInstallOptions,
  PackageInstallProgress,
  PackageInstallResult,
  RestartAction,
} from '../platform.js';
import { openPackageFile } from '../sandbox/install-package.js';
import { planComponents } from '../sandbox/package-components.js';
import { ensurePrivateFolder } from '../sandbox/scripts.js';

/** The tools this module runs, by their real paths. */
export const INSTALL_TOOLS = {
  installer: '/usr/sbin/installer',
  stat: '/usr/bin/stat',
} as const;

const RESTART_ACTIONS: readonly RestartAction[] = [
  'None',
  'RecommendRestart',
  'RequireLogout',
  'RequireRestart',
  'RequireShutdown',
];

/** What the Mac installer needs of its platform. */
export interface MacosInstallContext {
  /** Maps a tool's real path to the one to run (under a test's command root). */
  tool(path: string): string;
  paths: Pick<AbbotPaths, 'tmpDir'>;
  logger: Logger;
  /** Limit for `installer -query` and `stat`. */
  queryTimeoutMs: number;
  /** Limit for the install itself (Munki has none; a hung installer must not hang every run). */
  installTimeoutMs: number;
}

/** What installer's output said, as `InstallerOutputParser` reports it. */
export interface InstallerOutputHandlers {
  progress(progress: PackageInstallProgress): void;
  error(message: string): void;
  /** Every line (but repeats), for the transcript. */
  line(line: string): void;
  /** installer's closing `The install was successful.` (or `upgrade`). */
  success(): void;
}

/** Parses `installer -verboseR` output fed in chunks of any size. */
export class InstallerOutputParser {
  private rest = '';
  private last: string | undefined;

  constructor(private readonly on: InstallerOutputHandlers) {}

  /** Feeds a chunk; complete lines are handled at once, a partial one waits for the next chunk. */
  push(text: string): void {
    const pieces = (this.rest + text).split(/\r\n|\r|\n/);
    this.rest = pieces.pop() ?? '';
    for (const piece of pieces) this.handle(piece);
  }

  /** Handles a last line that had no line ending. */
  end(): void {
    if (this.rest !== '') this.handle(this.rest);
    this.rest = '';
  }

  private handle(line: string): void {
    if (line.trim() === '' || line === this.last) return;
    this.last = line;
    this.on.line(line);
    if (!line.startsWith('installer:')) return;
    const msg = line.slice('installer:'.length);
    if (msg.startsWith('PHASE:')) {
      const phase = msg.slice('PHASE:'.length).trim();
      if (phase !== '') this.on.progress({ phase });
    } else if (msg.startsWith('STATUS:')) {
      const status = msg.slice('STATUS:'.length).trim();
      if (status !== '') this.on.progress({ status });
    } else if (msg.startsWith('%')) {
      const percent = Number.parseFloat(msg.slice(1));
      if (Number.isFinite(percent)) this.on.progress({ percent });
    } else if (
      msg.startsWith(' Error') ||
      msg.startsWith(' Cannot install') ||
      /^ The (install|upgrade) failed/.test(msg)
    ) {
      this.on.error(msg.trim());
    } else if (/^ The (install|upgrade) was successful/.test(msg)) {
      this.on.success();
    }
  }
}

/** The RestartAction in `installer -query RestartAction -plist` output; undefined if none. */
export function parseRestartQuery(stdout: string): RestartAction | undefined {
  const end = stdout.indexOf('</plist>');
  if (end === -1) return undefined;
  try {
    const plist = parsePlist(stdout.slice(0, end + '</plist>'.length).trim(), {
      source: 'installer -query RestartAction',
    });
    const value = isPlistDict(plist) ? plist['RestartAction'] : undefined;
    return RESTART_ACTIONS.find((a) => a === value);
  } catch {
    return undefined;
  }
}

/** Installs `pkgPath` with /usr/sbin/installer (see the module comment). */
export async function installPackageOnMac(
  ctx: MacosInstallContext,
  pkgPath: string,
  options: PackageInstallOptions,
): Promise<PackageInstallResult> {
  const log: string[] = [];
  const report = options.onProgress ?? ((): void => {});
  const resolved = (await lstat(pkgPath).catch(() => undefined))?.isSymbolicLink()
    ? await realpath(pkgPath).catch(() => pkgPath)
    : pkgPath;
  const expected = await receiptsOf(resolved, options, log);

  let work: string | undefined;
  try {
    const extra: string[] = [];
    if (options.choicesXml !== undefined) {
      await ensurePrivateFolder(ctx.paths.tmpDir);
      work = await mkdtemp(join(ctx.paths.tmpDir, 'choices-'));
      const choicesFile = join(work, 'choices.xml');
      await writeFile(choicesFile, buildPlist(options.choicesXml), { mode: 0o600 });
      extra.push('-applyChoiceChangesXML', choicesFile);
    }
    if (options.allowUntrusted === true) extra.push('-allowUntrusted');

    const restartAction = await queryRestartAction(ctx, resolved, extra);
    const env = await installerEnvironment(ctx, options.environment);
    const argv = [INSTALL_TOOLS.installer, '-verboseR', '-pkg', resolved, '-target', '/', ...extra];
    const errors: string[] = [];
    let succeeded = false;
    const handlers: InstallerOutputHandlers = {
      progress: report,
      error: (m) => errors.push(m),
      line: (l) => log.push(l),
      success: () => {
        succeeded = true;
      },
    };
    // Parsed as it arrives, so progress is live while installer runs.
    const outParser = new InstallerOutputParser(handlers);
    const errParser = new InstallerOutputParser(handlers);
    let result: CommandResult;
    try {
      result = await runCommand([ctx.tool(argv[0] ?? ''), ...argv.slice(1)], {
        env,
        timeoutMs: ctx.installTimeoutMs,
        onStdout: (chunk) => outParser.push(chunk),
        onStderr: (chunk) => errParser.push(chunk),
      });
    } catch (e) {
      const error = describeError(e);
      log.push(error);
      return { ok: false, exitCode: 1, restartAction: 'None', receipts: [], log, error };
    }
    outParser.end();
    errParser.end();
    const exitCode = shellExitStatus(result);
    if (exitCode === 0 && !result.timedOut) {
      if (!succeeded) ctx.logger.debug('install.pkg.quiet', `${resolved}: no success line`);
      return { ok: true, exitCode, restartAction, receipts: expected, log };
    }
    const error =
      errors.length > 0
        ? errors.join('; ')
        : result.timedOut
          ? `installer ran past its time limit and was ended`
          : `installer exited with status ${exitCode}`;
    ctx.logger.warn('install.pkg.failed', `${resolved}: ${error}`, { pkg: resolved, exitCode });
    // Munki logs installer's whole output when it fails; the transcript keeps it.
    return {
      ok: false,
      exitCode: exitCode === 0 ? 1 : exitCode,
      restartAction: 'None',
      receipts: [],
      log,
      error,
    };
  } finally {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  }
}

/** The package ids the install will leave receipts for; none when the package cannot be read. */
async function receiptsOf(
  pkgPath: string,
  options: PackageInstallOptions,
  log: string[],
): Promise<string[]> {
  let file;
  try {
    file = await openPackageFile(pkgPath);
  } catch (e) {
    log.push(`abbot: cannot read ${pkgPath} to list its receipts: ${describeError(e)}`);
    return [];
  }
  try {
    const pkg = await readFlatPackage(file.source);
    const planned = await planComponents(pkg, options.choicesXml, (line) =>
      log.push(`abbot: ${line}`),
    );
    return planned
      .filter((p) => p.component.hasPayload)
      .map((p) => p.component.packageInfo.identifier);
  } catch (e) {
    log.push(`abbot: cannot read ${pkgPath} to list its receipts: ${describeError(e)}`);
    return [];
  } finally {
    await file.close();
  }
}

/** `installer -query RestartAction`, as Munki asks it (with the same choices and trust flags). */
async function queryRestartAction(
  ctx: MacosInstallContext,
  pkgPath: string,
  extra: readonly string[],
): Promise<RestartAction> {
  const argv = [
    INSTALL_TOOLS.installer,
    '-query',
    'RestartAction',
    '-pkg',
    pkgPath,
    '-plist',
    ...extra,
  ];
  try {
    const result = await runCommand([ctx.tool(argv[0] ?? ''), ...argv.slice(1)], {
      timeoutMs: ctx.queryTimeoutMs,
    });
    if (result.exitCode !== 0 || result.timedOut) {
      ctx.logger.warn(
        'install.pkg.query-failed',
        `installer -query RestartAction failed for ${pkgPath}: ${result.stderr.trim()}`,
      );
      return 'None';
    }
    const action = parseRestartQuery(result.stdout);
    if (action === undefined) {
      ctx.logger.warn(
        'install.pkg.query-failed',
        `installer -query RestartAction gave no RestartAction for ${pkgPath}`,
      );
    }
    return action ?? 'None';
  } catch (e) {
    ctx.logger.warn('install.pkg.query-failed', describeError(e));
    return 'None';
  }
}

/** This process's environment with installer_environment laid over it (Munki's rules). */
async function installerEnvironment(
  ctx: MacosInstallContext,
  custom: Record<string, string> | undefined,
): Promise<Record<string, string | undefined>> {
  // Munki always sets USER and HOME to the running user's: launchd gives a daemon neither.
  const me = userInfo();
  const env: Record<string, string | undefined> = {
    ...process.env,
    USER: me.username,
    HOME: me.homedir,
  };
  for (const [key, value] of Object.entries(custom ?? {})) {
    if (key === 'USER' && value === 'CURRENT_CONSOLE_USER') {
      const user = await consoleUser(ctx);
      env['USER'] = user;
      env['HOME'] = user === 'root' ? '/var/root' : `/Users/${user}`;
    } else {
      env[key] = value;
    }
  }
  return env;
}

/** Who is at the console (`stat -f%Su /dev/console`); root when nobody, or the login window. */
export async function consoleUser(ctx: MacosInstallContext): Promise<string> {
  const argv = [INSTALL_TOOLS.stat, '-f%Su', '/dev/console'];
  try {
    const result = await runCommand([ctx.tool(argv[0] ?? ''), ...argv.slice(1)], {
      timeoutMs: ctx.queryTimeoutMs,
    });
    const user = result.exitCode === 0 ? result.stdout.trim() : '';
    return user === '' || user === 'loginwindow' || user.includes('/') ? 'root' : user;
  } catch (e) {
    ctx.logger.warn('install.console-user.unknown', describeError(e));
    return 'root';
  }
}
