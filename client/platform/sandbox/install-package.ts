/**
 * The sandbox's `installer -pkg P -target /`: a flat package REALLY installed under the root.
 *
 * 1. Everything is checked before anything runs or is written: the xar TOC and every member's
 *    checksums, each selected component's Scripts archive and its whole payload (decoded and parsed
 *    to its cpio trailer, so gzip and pbzx are verified end to end), member names (no `..`, no
 *    absolute names, no device files), hard links, symlinks that later members would be written
 *    THROUGH (a payload symlink or an existing one that leads outside the root refuses the package),
 *    and the install locations. "Bad or truncated archives give a clear error, never a partial
 *    install": nothing under the root changes, not even the temporary folder, until all of it passed.
 * 2. Components are installed in Distribution order (the choices-outline, else the pkg-refs), each:
 *    `preinstall` (non-zero ⇒ the component fails and none of its payload is written), the payload
 *    extracted at `<root>/<install-location>` (modes, mtimes, folders, symlinks, hard links; each
 *    file written beside its target and renamed over it, so no write ever goes through a symlink at
 *    the target's own name), bundles named in PackageInfo replaced as a whole (PackageKit's "atomically
 *    shoved": files an older version had inside the bundle go), `postinstall`, then the receipt
 *    (receipt-writer.ts). A failure stops the install; components already done keep their files and
 *    receipts, because their files really are on disk and removal needs the lists.
 * 3. A failing `postinstall` fails the install and leaves the payload in place, but writes NO
 *    receipt: PackageKit writes receipts after the postinstall step ("./postinstall: …" then
 *    "PackageKit: Writing receipt for …" in real install.log transcripts), and a postinstall failure
 *    (PKInstallErrorDomain Code=112, "An error occurred while running scripts from the package")
 *    ends the install before that step. Munki then retries the item on its next run, as on a Mac.
 *
 * Scripts run as installer runs them: extracted from the gzip'd cpio `Scripts` member into a
 * private (0700) folder and started there (the working folder is the scripts folder), with argv
 * `$1` package path, `$2` install location as a path under the root, `$3` target volume (the root),
 * `$4` `/`, killed after 600 s (PackageKit's "Task has exceeded its 600 seconds of runtime"), and
 * the environment a real script sees (as dumped by scripts run by installer): INSTALLER_TEMP (a
 * private scratch folder, removed afterwards), PACKAGE_PATH, DSTVOLUME (= `$3`), DSTROOT (= `$2`),
 * SCRIPT_NAME, INSTALL_PKG_SESSION_ID (the component's id), COMMAND_LINE_INSTALL=1 and installer's
 * PATH (`/bin:/sbin:/usr/bin:/usr/sbin:/usr/libexec`), on top of this process's environment and the
 * pkginfo's installer_environment, plus ABBOT_ROOT. INSTALLER_PAYLOAD_DIR, SHARED_INSTALLER_TEMP
 * and INSTALLER_SECURE_TEMP are not set: no real dump shows the first for flat packages, and the
 * other two name PackageKit's own sandboxes. In installer_environment, `USER=CURRENT_CONSOLE_USER`
 * means root (a sandbox has no console user), with HOME `<root>/var/root`.
 *
 * Choices (`installer_choices_xml`): entries `{choiceIdentifier, choiceAttribute: "selected",
 * attributeSetting: 0|1|false|true}` select or deselect a Distribution `<choice>` (and so its
 * pkg-refs), and a bare string toggles a choice, as the old choices format did. Ignored, and said
 * so in the log: other attributes (`visible`, `enabled`, `customLocation`), unknown choice ids,
 * choices of a component package, and any JavaScript in the Distribution (a `selected` or
 * `start_selected` attribute counts as false only when it is literally `false`).
 *
 * Not done: signatures are never checked (so `allowUntrusted` changes nothing here), owners are not
 * applied (the sandbox runs as an ordinary user; the receipt's list keeps the payload's uid/gid),
 * and bundle relocation (`<relocate>`) is not followed.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  utimes,
} from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import {
  CpioParser,
  isPlistDict,
  parseXml,
  readFlatPackage,
  xmlAttribute as attribute,
  xmlChild as child,
  xmlChildren as children,
  xmlDescendants as descendants,
  type ByteSource,
  type CpioHeader,
  type FlatComponent,
  type FlatPackage,
  type PlistValue,
} from '../../../formats/index.js';
import { writeFileAtomic } from '../../../lib/atomic-write.js';
import {
  restartActionFromConclusion,
  restartActionFromPostinstall,
  strongerRestartAction,
} from '../restart-action.js';
import { AppError, describeError } from '../../../lib/errors.js';
import { fileByteSource } from '../../../lib/file-byte-source.js';
import type { Logger } from '../../../lib/log.js';
import { runCommand, shellExitStatus } from '../../../lib/run-command.js';
import type { CommandResult, RunCommandOptions } from '../../../lib/run-command.js';
import type {
  AbbotPaths,
  PackageInstallOptions,
  PackageInstallResult,
  RestartAction,
} from '../platform.js';
import { hostPathFor } from './files.js';
import { assertSafePackageId, writeReceipt } from './receipt-writer.js';
import type { ReceiptPathInfo } from './receipt-writer.js';
import { ensurePrivateFolder } from './scripts.js';

/** How long one package script may run: PackageKit ends a script after 600 seconds. */
export const PACKAGE_SCRIPT_TIMEOUT_MS = 600_000;

/** The PATH installer gives package scripts. */
export const INSTALLER_SCRIPT_PATH = '/bin:/sbin:/usr/bin:/usr/sbin:/usr/libexec';

/** A component chosen for installation, with the restart its PackageInfo and pkg-ref ask for. */
export interface PlannedComponent {
  component: FlatComponent;
  /** The stronger of PackageInfo `postinstall-action` and the pkg-ref's `onConclusion`. */
  restartAction: RestartAction;
}

/**
 * The components `installer` would install, in order, after applying `choicesXml` (see the module
 * comment for what is honoured). Notes about ignored choices go to `note`. Throws ARCHIVE_INVALID
 * when a selected pkg-ref names no component of this archive, or nothing is selected at all.
 */
export async function planComponents(
  pkg: FlatPackage,
  choicesXml: PlistValue | undefined,
  note: (line: string) => void,
): Promise<PlannedComponent[]> {
  if (pkg.kind === 'component' || pkg.distribution === undefined) {
    if (choicesXml !== undefined) note('choices ignored: a component package has no choices');
    return pkg.components.map((component) => ({
      component,
      restartAction: restartActionFromPostinstall(component.packageInfo.postinstallAction),
    }));
  }
  const root = parseXml(await pkg.archive.read('Distribution'), { what: 'Distribution' });
  const conclusions = new Map<string, RestartAction>();
  for (const ref of descendants(root, 'pkg-ref')) {
    const id = attribute(ref, 'id');
    const conclusion = attribute(ref, 'onConclusion');
    if (id !== undefined && conclusion !== undefined) {
      conclusions.set(
        id,
        strongerRestartAction(
          conclusions.get(id) ?? 'None',
          restartActionFromConclusion(conclusion),
        ),
      );
    }
  }

  const choices = new Map<string, { selected: boolean; refs: string[] }>();
  for (const choice of children(root, 'choice')) {
    const id = attribute(choice, 'id');
    if (id === undefined) continue;
    const isOff = (name: string): boolean => attribute(choice, name)?.trim() === 'false';
    choices.set(id, {
      selected: !(isOff('start_selected') || isOff('selected')),
      refs: descendants(choice, 'pkg-ref')
        .map((r) => attribute(r, 'id'))
        .filter((r): r is string => r !== undefined),
    });
  }
  applyChoiceChanges(choices, choicesXml, note);

  const order: string[] = [];
  const outline = child(root, 'choices-outline');
  if (outline !== undefined) {
    for (const line of descendants(outline, 'line')) {
      const choice = choices.get(attribute(line, 'choice') ?? '');
      if (choice?.selected === true) order.push(...choice.refs);
    }
  } else {
    const off = new Set<string>();
    const on = new Set<string>();
    for (const c of choices.values()) for (const r of c.refs) (c.selected ? on : off).add(r);
    for (const ref of pkg.distribution.pkgRefs) {
      if (!off.has(ref.id) || on.has(ref.id)) order.push(ref.id);
    }
  }

  const refs = new Map(pkg.distribution.pkgRefs.map((r) => [r.id, r]));
  const byPath = new Map(pkg.components.map((c) => [c.path, c]));
  const planned: PlannedComponent[] = [];
  for (const id of new Set(order)) {
    const ref = refs.get(id);
    const component = ref?.componentPath === undefined ? undefined : byPath.get(ref.componentPath);
    if (component === undefined) {
      throw new AppError(
        'ARCHIVE_INVALID',
        `Distribution selects package ${id}, which is not a component of this archive`,
      );
    }
    planned.push({
      component,
      restartAction: strongerRestartAction(
        restartActionFromPostinstall(component.packageInfo.postinstallAction),
        conclusions.get(id) ?? 'None',
      ),
    });
  }
  if (planned.length === 0) {
    throw new AppError('ARCHIVE_INVALID', 'no component of the package is selected for install');
  }
  return planned;
}

/** Applies installer_choices_xml entries to the Distribution's choices. */
function applyChoiceChanges(
  choices: Map<string, { selected: boolean; refs: string[] }>,
  changes: PlistValue | undefined,
  note: (line: string) => void,
): void {
  if (changes === undefined) return;
  if (!Array.isArray(changes)) {
    note('choices ignored: installer_choices_xml is not an array');
    return;
  }
  for (const change of changes) {
    if (typeof change === 'string') {
      const choice = choices.get(change);
      if (choice === undefined) note(`choice ${change} ignored: no such choice`);
      else choice.selected = !choice.selected;
      continue;
    }
    if (!isPlistDict(change)) {
      note('choice change ignored: neither a dict nor a choice identifier');
      continue;
    }
    const id = change['choiceIdentifier'];
    const attr = change['choiceAttribute'];
    const setting = change['attributeSetting'];
    if (typeof id !== 'string') {
      note('choice change ignored: no choiceIdentifier');
      continue;
    }
    if (attr !== 'selected') {
      note(`choice ${id}: attribute ${String(attr)} ignored (only "selected" is applied)`);
      continue;
    }
    const choice = choices.get(id);
    if (choice === undefined) {
      note(`choice ${id} ignored: no such choice`);
      continue;
    }
    if (typeof setting === 'boolean') choice.selected = setting;
    else if (typeof setting === 'number' || typeof setting === 'bigint') {
      choice.selected = Number(setting) !== 0;
    } else note(`choice ${id}: attributeSetting ${String(setting)} ignored`);
  }
}

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

/** One payload member, as checked before installing. */
interface PayloadMember {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
}

/** A component that passed every check, with what installing it needs. */
interface CheckedComponent {
  planned: PlannedComponent;
  id: string;
  version: string;
  installLocation: string;
  /** Root-relative parts of the install location. */
  locationParts: string[];
  /** Undefined for a payload-free component. */
  members: PayloadMember[] | undefined;
  scripts: Awaited<ReturnType<FlatPackage['readScripts']>>;
  preinstall: string | undefined;
  postinstall: string | undefined;
  /** Install-location-relative paths of the bundles PackageInfo names, present in the payload. */
  bundles: string[];
  /** The receipt's PackageFileName. */
  fileName: string;
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

/** Reads and checks everything about one component; throws on the first problem. */
async function checkComponent(
  pkg: FlatPackage,
  planned: PlannedComponent,
  pkgName: string,
): Promise<CheckedComponent> {
  const { component } = planned;
  const info = component.packageInfo;
  const id = info.identifier;
  // The id names a scripts folder and a receipt file: it must not be able to name anything else.
  assertSafePackageId(id);
  const installLocation = info.installLocation ?? '/';
  const locationParts = safeParts(installLocation);
  if (locationParts === undefined) {
    throw new AppError(
      'PATH_UNSAFE',
      `${id}: install-location ${installLocation} leaves the volume`,
    );
  }

  const scripts = component.hasScripts ? await pkg.readScripts(component) : [];
  checkMembersStayInside(
    scripts.map((s) => ({
      path: s.path,
      type: s.type,
      ...(s.linkTarget === undefined ? {} : { linkTarget: s.linkTarget }),
    })),
    [],
    `${id} Scripts`,
  );
  const scriptNamed = (kind: 'preinstall' | 'postinstall'): string | undefined => {
    const declared = info.scripts[kind];
    if (declared === undefined) return undefined;
    const parts = safeParts(declared);
    const name = parts?.join('/');
    if (
      name === undefined ||
      name === '' ||
      !scripts.some((s) => s.path === name && s.type === 'file')
    ) {
      throw new AppError(
        'ARCHIVE_INVALID',
        `${id}: PackageInfo names the ${kind} script ${declared}, which its Scripts archive lacks`,
      );
    }
    return name;
  };
  const preinstall = scriptNamed('preinstall');
  const postinstall = scriptNamed('postinstall');

  let members: PayloadMember[] | undefined;
  if (component.hasPayload) {
    members = await scanPayload(pkg, component, locationParts, id);
  } else if (info.payload !== undefined) {
    throw new AppError(
      'ARCHIVE_INVALID',
      `${id}: PackageInfo declares a payload the archive lacks`,
    );
  }

  const memberPaths = new Set(members?.map((m) => m.path));
  const bundles = info.bundles
    .map((b) => (b.path === undefined ? undefined : safeParts(b.path)?.join('/')))
    .filter((p): p is string => p !== undefined && p !== '' && memberPaths.has(p))
    // Only outermost bundles: a helper inside an app goes with the app.
    .filter((p, _, all) => !all.some((o) => o !== p && p.startsWith(`${o}/`)));

  return {
    planned,
    id,
    version: info.version,
    installLocation,
    locationParts,
    members,
    scripts,
    preinstall,
    postinstall,
    bundles: [...new Set(bundles)],
    fileName: pkg.kind === 'product' && component.path !== '' ? component.path : pkgName,
  };
}

/**
 * Streams a component's payload once, to its cpio trailer, checking it (the xar checksums are
 * verified as the member is read) and listing its members without keeping their bytes.
 */
async function scanPayload(
  pkg: FlatPackage,
  component: FlatComponent,
  locationParts: readonly string[],
  id: string,
): Promise<PayloadMember[]> {
  const parser = new CpioParser();
  const headers: CpioHeader[] = [];
  for await (const chunk of pkg.streamPayload(component)) {
    for (const event of parser.push(chunk)) {
      if (event.kind === 'entry') headers.push(event.entry);
    }
  }
  parser.end();
  const files = new Set<string>();
  const members: PayloadMember[] = [];
  for (const h of headers) {
    if (h.type === 'other') {
      throw new AppError(
        'ARCHIVE_INVALID',
        `${id}: payload member ${h.path} is a device, socket or FIFO (mode ${h.mode.toString(8)}), which a package has no business installing`,
      );
    }
    if (h.hardlinkTo !== undefined && !files.has(h.hardlinkTo)) {
      throw new AppError(
        'ARCHIVE_INVALID',
        `${id}: hard link ${h.path} names ${h.hardlinkTo}, which is not an earlier file`,
      );
    }
    if (h.type === 'file') files.add(h.path);
    members.push({ path: h.path, type: h.type, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid });
  }
  checkMembersStayInside(
    headers.map((h) => ({
      path: h.path,
      type: h.type,
      ...(h.linkTarget === undefined ? {} : { linkTarget: h.linkTarget }),
    })),
    locationParts,
    `${id} payload`,
  );
  return members;
}

/**
 * Throws PATH_UNSAFE when a member would be written THROUGH a symlink of the same archive that
 * leads outside the root (an absolute target resolves on the host, outside any sandbox; a relative
 * one must not climb above `/`). Paths are resolved lexically, following chains of member symlinks.
 */
function checkMembersStayInside(
  members: readonly { path: string; type: string; linkTarget?: string }[],
  locationParts: readonly string[],
  what: string,
): void {
  const links = new Map<string, string>();
  const prefix = locationParts.join('/');
  const rootRel = (p: string): string =>
    p === '.' ? prefix : prefix === '' ? p : `${prefix}/${p}`;
  for (const m of members) {
    const full = rootRel(m.path);
    const parent = full.split('/').slice(0, -1);
    if (m.path !== '.' && escapesThroughLinks(parent, links)) {
      throw new AppError(
        'PATH_UNSAFE',
        `${what}: ${m.path} would be written through a symlink that leads outside the root`,
      );
    }
    if (m.type === 'symlink' && m.linkTarget !== undefined) links.set(full, m.linkTarget);
    else links.delete(full);
  }
}

/** True when resolving `parts` through `links` (root-relative path → target) leaves the root. */
function escapesThroughLinks(
  parts: readonly string[],
  links: ReadonlyMap<string, string>,
): boolean {
  if (links.size === 0) return false;
  let pending = [...parts];
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() ?? '';
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) return true;
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const target = links.get(resolved.join('/'));
    if (target === undefined) continue;
    hops += 1;
    if (hops > 40 || target.startsWith('/')) return true;
    resolved.pop();
    pending = [...target.split('/'), ...pending];
  }
  return false;
}

/**
 * Throws PATH_UNSAFE when an EXISTING folder on the way to a member (or a folder member itself) is a
 * symlink that resolves outside the root: extracting would write through it. Each folder is
 * examined once.
 */
async function checkExistingFolders(
  root: string,
  rootReal: string,
  components: readonly CheckedComponent[],
): Promise<void> {
  const seen = new Map<string, boolean>(); // root-relative path → exists (and is safe)
  const check = async (
    parts: readonly string[],
    replacedBySymlink: ReadonlySet<string>,
  ): Promise<void> => {
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const known = seen.get(rel);
      if (known === false) return; // missing: nothing deeper exists either
      if (known === true) continue;
      const host = join(root, ...parts.slice(0, i));
      let info;
      try {
        info = await lstat(host);
      } catch {
        seen.set(rel, false);
        return;
      }
      if (info.isSymbolicLink() && !replacedBySymlink.has(rel)) {
        const real = await realpath(host).catch(() => undefined);
        if (real === undefined || !isInside(rootReal, real)) {
          throw new AppError(
            'PATH_UNSAFE',
            `/${rel} is a symlink to ${real ?? 'nowhere'}, outside the root: installing would write through it`,
          );
        }
      }
      seen.set(rel, true);
    }
  };
  for (const c of components) {
    const prefix = c.locationParts;
    await check(prefix, new Set());
    if (c.members === undefined) continue;
    const symlinks = new Set(
      c.members.filter((m) => m.type === 'symlink').map((m) => [...prefix, m.path].join('/')),
    );
    const folders = new Set<string>();
    for (const m of c.members) {
      if (m.path === '.') continue;
      const parts = m.path.split('/');
      folders.add(parts.slice(0, m.type === 'directory' ? parts.length : -1).join('/'));
    }
    for (const folder of [...folders].sort()) {
      await check([...prefix, ...(folder === '' ? [] : folder.split('/'))], symlinks);
    }
  }
}

/** Writes a component's payload under `destHost`, streaming it a second time. */
async function extractPayload(
  pkg: FlatPackage,
  component: FlatComponent,
  where: { root: string; rootReal: string; dest: string; onMember: () => void },
): Promise<void> {
  const { dest: destHost, onMember } = where;
  const writer = new TreeWriter(where.root, where.rootReal, destHost);
  const parser = new CpioParser();
  try {
    for await (const chunk of pkg.streamPayload(component)) {
      for (const event of parser.push(chunk)) {
        if (event.kind === 'entry') {
          await writer.end();
          const host =
            event.entry.path === '.' ? destHost : join(destHost, ...event.entry.path.split('/'));
          await writer.begin(event.entry, host);
          onMember();
        } else if (event.kind === 'data') {
          await writer.write(event.data);
        }
      }
    }
    parser.end();
    await writer.end();
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/**
 * Removes, inside each bundle the component installs, whatever the payload does not contain, so
 * the bundle ends up exactly as packaged (PackageKit replaces such bundles whole).
 */
async function replaceBundles(
  destHost: string,
  c: CheckedComponent,
  note: (line: string) => void,
): Promise<void> {
  if (c.bundles.length === 0 || c.members === undefined) return;
  const wanted = new Set(c.members.map((m) => m.path));
  for (const bundle of c.bundles) {
    let removed = 0;
    const visit = async (rel: string): Promise<void> => {
      const host = join(destHost, ...rel.split('/'));
      let names: string[];
      try {
        names = await readdir(host);
      } catch {
        return;
      }
      for (const name of names) {
        const childRel = `${rel}/${name}`;
        const childHost = join(host, name);
        if (!wanted.has(childRel)) {
          await rm(childHost, { recursive: true, force: true });
          removed += 1;
        } else if ((await lstat(childHost)).isDirectory()) {
          await visit(childRel);
        }
      }
    };
    await visit(bundle);
    if (removed > 0) note(`installer: replaced bundle ${bundle}: ${removed} old items removed`);
  }
}

/**
 * Writes cpio members under a folder that must stay inside `rootReal`: every existing folder on the
 * way is checked (a symlink must resolve inside the root), files and symlinks are created beside
 * their target and renamed over it (so an existing symlink at the target's name is replaced, never
 * followed), and folder modes are applied last, deepest first, so read-only folders can be filled.
 */
class TreeWriter {
  private readonly verified = new Set<string>();
  private readonly folders: { host: string; mode: number; mtime: number }[] = [];
  private current:
    | { kind: 'file'; handle: FileHandle; temp: string; target: string; header: CpioHeader }
    | { kind: 'append'; target: string; handle: FileHandle | undefined }
    | undefined;

  /**
   * @param root the folder nothing may leave (the sandbox root, or a scripts folder)
   * @param rootReal its real path
   * @param dest where the archive's `.` goes (hard links are relative to it)
   */
  constructor(
    private readonly root: string,
    private readonly rootReal: string,
    private readonly dest: string,
  ) {}

  /** Starts a member at `host` (a path under `base`). */
  async begin(header: CpioHeader, host: string): Promise<void> {
    if (header.type === 'directory') {
      await this.folder(header, host);
      return;
    }
    const parent = dirname(host);
    await this.ensureFolder(parent);
    const temp = join(parent, `.abbot-${randomBytes(6).toString('hex')}.tmp`);
    if (header.type === 'symlink') {
      await symlink(header.linkTarget ?? '', temp);
      await this.replace(temp, host);
    } else if (header.hardlinkTo !== undefined) {
      await link(join(this.dest, ...header.hardlinkTo.split('/')), temp);
      await this.replace(temp, host);
      // newc archives may carry the shared bytes on a later link: they belong to the inode.
      this.current = { kind: 'append', target: host, handle: undefined };
    } else if (header.type === 'file') {
      const handle = await open(temp, 'wx', 0o600);
      this.current = { kind: 'file', handle, temp, target: host, header };
    }
  }

  /** Content of the current member. */
  async write(bytes: Uint8Array): Promise<void> {
    const cur = this.current;
    if (cur === undefined || bytes.length === 0) return;
    if (cur.kind === 'append') cur.handle ??= await open(cur.target, 'a');
    const handle = cur.handle;
    if (handle === undefined) return;
    let at = 0;
    while (at < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
      at += bytesWritten;
    }
  }

  /** Finishes the current member (mode, mtime, rename into place). */
  async end(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    if (cur === undefined) return;
    if (cur.kind === 'append') {
      await cur.handle?.close();
      return;
    }
    try {
      await cur.handle.chmod(cur.header.mode & 0o7777);
    } finally {
      await cur.handle.close();
    }
    await utimes(cur.temp, cur.header.mtime, cur.header.mtime);
    await this.replace(cur.temp, cur.target);
  }

  /** Applies folder modes and mtimes, deepest first. */
  async finish(): Promise<void> {
    const byDepth = [...this.folders].sort(
      (a, b) => b.host.split(sep).length - a.host.split(sep).length,
    );
    for (const f of byDepth) {
      await chmod(f.host, f.mode);
      await utimes(f.host, f.mtime, f.mtime);
    }
  }

  /** Drops a half-written member after a failure. */
  async abort(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    if (cur?.kind === 'file') {
      await cur.handle.close().catch(() => {});
      await rm(cur.temp, { force: true });
    } else if (cur?.kind === 'append') {
      await cur.handle?.close().catch(() => {});
    }
  }

  private async folder(header: CpioHeader, host: string): Promise<void> {
    if (host === this.dest) {
      await this.ensureFolder(host);
      return; // the payload's "." is the install location, whose mode is the volume's business
    }
    await this.ensureFolder(dirname(host));
    let info;
    try {
      info = await lstat(host);
    } catch {
      info = undefined;
    }
    if (info?.isSymbolicLink() === true) {
      // /etc → private/etc: installer keeps such links and installs through them, inside the root.
      const real = await realpath(host).catch(() => undefined);
      if (real !== undefined && isInside(this.rootReal, real) && (await stat(real)).isDirectory()) {
        this.verified.add(host);
        return;
      }
      if (real !== undefined && !isInside(this.rootReal, real)) {
        throw new AppError('PATH_UNSAFE', `${host} is a symlink leading outside the root`);
      }
      await rm(host, { force: true });
      info = undefined;
    } else if (info !== undefined && !info.isDirectory()) {
      await rm(host, { force: true });
      info = undefined;
    }
    if (info === undefined) await mkdir(host, { mode: 0o700 });
    else await chmod(host, (info.mode & 0o7777) | 0o700);
    this.verified.add(host);
    this.folders.push({ host, mode: header.mode & 0o7777, mtime: header.mtime });
  }

  /** Makes sure `host` is a folder inside the root, creating what is missing (0755). */
  private async ensureFolder(host: string): Promise<void> {
    if (this.verified.has(host)) return;
    const parts = relative(this.root, host)
      .split(sep)
      .filter((p) => p !== '');
    if (parts.includes('..')) throw new Error(`TreeWriter: ${host} is not under ${this.root}`);
    let cur = this.root;
    for (const part of ['', ...parts]) {
      cur = part === '' ? cur : join(cur, part);
      if (this.verified.has(cur)) continue;
      let info;
      try {
        info = await lstat(cur);
      } catch {
        await mkdir(cur, { mode: 0o755 });
        this.verified.add(cur);
        continue;
      }
      if (info.isSymbolicLink() || cur === this.root) {
        const real = await realpath(cur).catch(() => undefined);
        if (real === undefined || !isInside(this.rootReal, real)) {
          throw new AppError(
            'PATH_UNSAFE',
            `${cur} resolves to ${real ?? 'nowhere'}, outside the root: nothing is written through it`,
          );
        }
        if (!(await stat(real)).isDirectory()) {
          throw new AppError('IO', `${cur}: a file is where a folder must be`);
        }
      } else if (!info.isDirectory()) {
        throw new AppError('IO', `${cur}: a file is where a folder must be`);
      }
      this.verified.add(cur);
    }
  }

  /** Renames `temp` over `target`, first removing a real folder in the way. */
  private async replace(temp: string, target: string): Promise<void> {
    try {
      const info = await lstat(target);
      if (info.isDirectory()) await rm(target, { recursive: true, force: true });
    } catch {
      // nothing there yet
    }
    await rename(temp, target);
  }
}

/** True when `real` is `base` or lies under it (both real paths). */
function isInside(base: string, real: string): boolean {
  return base === sep || real === base || real.startsWith(base + sep);
}

/** A relative or absolute macOS path's parts; undefined when `..` would climb above `/`. */
function safeParts(path: string): string[] | undefined {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts;
}

/** installer_environment for sandbox scripts (`USER=CURRENT_CONSOLE_USER`: root, no console here). */
function scriptEnvironment(
  root: string,
  custom: Record<string, string> | undefined,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [key, value] of Object.entries(custom ?? {})) {
    if (key === 'USER' && value === 'CURRENT_CONSOLE_USER') {
      env['USER'] = 'root';
      env['HOME'] = hostPathFor(root, '/var/root') ?? root;
    } else {
      env[key] = value;
    }
  }
  return env;
}

/** Runs one package script, retrying on ETXTBSY (a freshly written file another fork still holds). */
async function runPackageScript(run: {
  script: string;
  scriptsDir: string;
  argv: string[];
  env: Record<string, string | undefined>;
  timeoutMs: number;
}): Promise<CommandResult> {
  const options: RunCommandOptions = {
    env: run.env,
    cwd: run.scriptsDir,
    timeoutMs: run.timeoutMs,
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await runCommand([run.script, ...run.argv], options);
    } catch (e) {
      const code = (e as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (code !== 'ETXTBSY' || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** Non-empty lines of script output. */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '');
}

/** Where a pending restart is recorded for `abbot status`. */
export function restartRequestFile(paths: Pick<AbbotPaths, 'stateDir'>): string {
  return join(paths.stateDir, 'restart-requested.json');
}

/** What `<state>/restart-requested.json` holds. */
export interface RestartRequest {
  /** Every reason given since the last restart, first first, without repeats. */
  reasons: string[];
  /** When the first request was made (ISO 8601). */
  requestedAt: string;
  /** When the latest request was made (ISO 8601). */
  updatedAt: string;
}

/**
 * Records a restart request (atomically, merging with one already pending). Nothing is restarted:
 * the file tells `abbot status` and the next run that the machine needs one.
 */
export async function writeRestartRequest(
  paths: Pick<AbbotPaths, 'stateDir'>,
  reason: string,
  now: Date = new Date(),
): Promise<void> {
  const file = restartRequestFile(paths);
  let previous: RestartRequest | undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      Array.isArray((parsed as RestartRequest).reasons) &&
      typeof (parsed as RestartRequest).requestedAt === 'string'
    ) {
      previous = parsed as RestartRequest;
    }
  } catch {
    // none yet, or unreadable: start afresh
  }
  const reasons = (previous?.reasons ?? []).filter((r): r is string => typeof r === 'string');
  if (!reasons.includes(reason)) reasons.push(reason);
  const request: RestartRequest = {
    reasons,
    requestedAt: previous?.requestedAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await writeFileAtomic(file, `${JSON.stringify(request, null, 2)}\n`, { mkdirs: true });
}
