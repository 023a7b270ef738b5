/**
 * The sandbox's `installer -pkg P -target /`: a flat package REALLY installed under the root.
 *
 * 1. Everything is checked before anything runs or is written (payload-checks.ts): a bad or
 *    truncated archive gives a clear error, never a partial install.
 * 2. Components are installed in Distribution order (package-components.ts), each: `preinstall`
 *    (non-zero ⇒ the component fails and none of its payload is written), the payload extracted at
 *    `<root>/<install-location>` with the bundles named in PackageInfo replaced as a whole
 *    (payload-writer.ts), `postinstall` (scripts run as in package-scripts.ts), then the receipt
 *    (receipt-writer.ts). A failure stops the install; components already done keep their files
 *    and receipts, because their files really are on disk and removal needs the lists.
 * 3. A failing `postinstall` fails the install and leaves the payload in place, but writes NO
 *    receipt: PackageKit writes receipts after the postinstall step ("./postinstall: …" then
 *    "PackageKit: Writing receipt for …" in real install.log transcripts), and a postinstall failure
 *    (PKInstallErrorDomain Code=112, "An error occurred while running scripts from the package")
 *    ends the install before that step. Munki then retries the item on its next run, as on a Mac.
 *
 * Not done: signatures are never checked (so `allowUntrusted` changes nothing here), and bundle
 * relocation (`<relocate>`) is not followed.
 */
import { mkdir, mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readFlatPackage, type ByteSource, type FlatPackage } from '../../../formats/index.js';
import { strongerRestartAction } from '../restart-action.js';
import { AppError, describeError } from '../../../lib/errors.js';
import { fileByteSource } from '../../../lib/file-byte-source.js';
import type { Logger } from '../../../lib/log.js';
import { shellExitStatus } from '../../../lib/run-command.js';
import type {
  AbbotPaths,
  PackageInstallOptions,
  PackageInstallResult,
  RestartAction,
} from '../platform.js';
import { planComponents } from './package-components.js';
import {
  INSTALLER_SCRIPT_PATH,
  PACKAGE_SCRIPT_TIMEOUT_MS,
  runPackageScript,
  scriptEnvironment,
  splitLines,
} from './package-scripts.js';
import { checkComponent, checkExistingFolders } from './payload-checks.js';
import type { CheckedComponent } from './payload-checks.js';
import { extractPayload, replaceBundles, TreeWriter } from './payload-writer.js';
import { writeReceipt } from './receipt-writer.js';
import type { ReceiptPathInfo } from './receipt-writer.js';
import { ensurePrivateFolder } from './scripts.js';

/** A package file opened for random access; close it when done. */
export interface OpenedPackage {
  source: ByteSource;
  close(): Promise<void>;
}

/** Opens a flat package file as a ByteSource (read piecewise, never whole). */
export async function openPackageFile(path: string): Promise<OpenedPackage> {
  const handle = await open(path, 'r');
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new AppError('ARCHIVE_INVALID', `${path}: not a flat package file`, {
      hint: 'bundle-style (folder) packages are not supported; rebuild it as a flat package',
    });
  }
  const size = info.size;
  return {
    source: fileByteSource(handle, size),
    close: () => handle.close(),
  };
}

/** What the sandbox installer needs of its platform. */
export interface SandboxInstallContext {
  paths: Pick<AbbotPaths, 'root' | 'tmpDir' | 'receiptsDir'>;
  logger: Logger;
  /** Per-script limit (default 600 s, as PackageKit). */
  scriptTimeoutMs?: number;
  /** The receipts' InstallDate (default: the current time). */
  now?: () => Date;
}

/** Installs the flat package at `pkgPath` under the sandbox root (see the module comment). */
export async function installPackageInSandbox(
  ctx: SandboxInstallContext,
  pkgPath: string,
  options: PackageInstallOptions,
): Promise<PackageInstallResult> {
  const log: string[] = [];
  const receipts: string[] = [];
  const note = (line: string): void => {
    log.push(line);
    ctx.logger.debug('install.pkg.log', line, { pkg: pkgPath });
  };
  const report = options.onProgress ?? ((): void => {});
  const pkgName = basename(pkgPath);
  const fail = (error: string): PackageInstallResult => {
    note(`installer: Error - ${error}`);
    ctx.logger.warn('install.pkg.failed', `${pkgName}: ${error}`, { pkg: pkgPath });
    return { ok: false, exitCode: 1, restartAction: 'None', receipts, log, error };
  };

  let file: OpenedPackage;
  try {
    file = await openPackageFile(pkgPath);
  } catch (e) {
    return fail(`${pkgName}: ${describeError(e)}; nothing was installed`);
  }
  try {
    report({ phase: 'Preparing for installation…', percent: 0 });
    note(`installer: Package name is ${pkgName}`);
    let pkg: FlatPackage;
    let checked: CheckedComponent[];
    let rootReal: string;
    try {
      rootReal = await realpath(ctx.paths.root);
      pkg = await readFlatPackage(file.source);
      const planned = await planComponents(pkg, options.choicesXml, note);
      checked = [];
      for (const p of planned) checked.push(await checkComponent(pkg, p, pkgName));
      await checkExistingFolders(ctx.paths.root, rootReal, checked);
    } catch (e) {
      return fail(`${pkgName}: ${describeError(e)}; nothing was installed`);
    }
    note(`installer: Installing at base path /`);

    const total = Math.max(
      1,
      checked.reduce((n, c) => n + (c.members?.length ?? 0), 0),
    );
    let done = 0;
    let shown = 0;
    const advance = (): void => {
      done += 1;
      const percent = Math.floor((done * 100) / total);
      if (percent > shown && percent < 100) {
        shown = percent;
        report({ percent });
      }
    };

    let work: string;
    try {
      await ensurePrivateFolder(ctx.paths.tmpDir);
      work = await mkdtemp(join(ctx.paths.tmpDir, 'install-'));
    } catch (e) {
      return fail(
        `cannot make a private temporary folder: ${describeError(e)}; nothing was installed`,
      );
    }
    let restartAction: RestartAction = 'None';
    try {
      const installerTemp = join(work, 'tmp');
      await mkdir(installerTemp, { mode: 0o700 });
      const env = scriptEnvironment(ctx.paths.root, options.environment);
      for (const c of checked) {
        const destHost = join(ctx.paths.root, ...c.locationParts);
        const scriptsDir = join(work, 'Scripts', c.id);
        const runScript = async (kind: 'preinstall' | 'postinstall', name: string) => {
          report({ phase: `Running ${kind} script of ${c.id}…`, status: `${kind} ${c.id}` });
          note(`installer: running ${kind} script of ${c.id}`);
          const result = await runPackageScript({
            script: join(scriptsDir, ...name.split('/')),
            scriptsDir,
            argv: [pkgPath, destHost, ctx.paths.root, '/'],
            env: {
              ...env,
              INSTALLER_TEMP: installerTemp,
              PACKAGE_PATH: pkgPath,
              DSTVOLUME: ctx.paths.root,
              DSTROOT: destHost,
              SCRIPT_NAME: kind,
              INSTALL_PKG_SESSION_ID: c.id,
              COMMAND_LINE_INSTALL: '1',
              PATH: INSTALLER_SCRIPT_PATH,
              ABBOT_ROOT: ctx.paths.root,
            },
            timeoutMs: ctx.scriptTimeoutMs ?? PACKAGE_SCRIPT_TIMEOUT_MS,
          });
          for (const line of splitLines(result.stdout + result.stderr)) note(`./${kind}: ${line}`);
          if (result.timedOut) return `${kind} of ${c.id} ran past its time limit and was ended`;
          const status = shellExitStatus(result);
          return status === 0 ? undefined : `${kind} of ${c.id} exited with status ${status}`;
        };

        note(`installer: installing ${c.id} ${c.version} at ${c.installLocation}`);
        if (c.preinstall !== undefined || c.postinstall !== undefined) {
          await mkdir(scriptsDir, { recursive: true, mode: 0o700 });
          const writer = new TreeWriter(scriptsDir, await realpath(scriptsDir), scriptsDir);
          for (const entry of c.scripts) {
            await writer.begin(entry, join(scriptsDir, ...entry.path.split('/')));
            if (entry.type === 'file' && entry.hardlinkTo === undefined)
              await writer.write(entry.data);
            await writer.end();
          }
          await writer.finish();
        }
        if (c.preinstall !== undefined) {
          const failure = await runScript('preinstall', c.preinstall);
          if (failure !== undefined) {
            return fail(
              `An error occurred while running scripts from the package "${pkgName}": ${failure}; none of its files were installed`,
            );
          }
        }
        if (c.members !== undefined) {
          report({
            phase: 'Writing files…',
            status: `extracting ${c.members.length} files of ${c.id}`,
          });
          note(
            `installer: extracting ${c.members.length} files of ${c.id} at ${c.installLocation}`,
          );
          await extractPayload(pkg, c.planned.component, {
            root: ctx.paths.root,
            rootReal,
            dest: destHost,
            onMember: advance,
          });
          await replaceBundles(destHost, c, note);
        }
        if (c.postinstall !== undefined) {
          const failure = await runScript('postinstall', c.postinstall);
          if (failure !== undefined) {
            return fail(
              `An error occurred while running scripts from the package "${pkgName}": ${failure}; its files stay installed, but no receipt was written`,
            );
          }
        }
        if (c.members !== undefined) {
          report({ phase: 'Registering updated components…' });
          const paths = new Map<string, ReceiptPathInfo>();
          for (const m of c.members) {
            if (m.path !== '.')
              paths.set(m.path, { type: m.type, mode: m.mode, uid: m.uid, gid: m.gid });
          }
          await writeReceipt(ctx.paths.receiptsDir, {
            packageId: c.id,
            version: c.version,
            installLocation: c.installLocation,
            installDate: (ctx.now ?? (() => new Date()))(),
            packageFileName: c.fileName,
            paths,
          });
          receipts.push(c.id);
          note(`installer: wrote the receipt for ${c.id}`);
        } else {
          note(`installer: ${c.id} has no payload: no receipt, as pkgutil does`);
        }
        restartAction = strongerRestartAction(restartAction, c.planned.restartAction);
      }
    } catch (e) {
      return fail(`${pkgName}: ${describeError(e)}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    report({ phase: 'The software was successfully installed.', percent: 100 });
    note('installer: The install was successful.');
    return { ok: true, exitCode: 0, restartAction, receipts, log };
  } finally {
    await file.close();
  }
}
