/**
 * A checked payload written at `<root>/<install-location>`: modes, mtimes, folders, symlinks, hard
 * links; each file written beside its target and renamed over it, so no write ever goes through a
 * symlink at the target's own name. Bundles named in PackageInfo are replaced as a whole
 * (PackageKit's "atomically shoved": files an older version had inside the bundle go).
 *
 * Owners are not applied: the sandbox runs as an ordinary user (the receipt's list keeps the
 * payload's uid/gid).
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  chmod,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  utimes,
} from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  CpioParser,
  type CpioHeader,
  type FlatComponent,
  type FlatPackage,
} from '../../../formats/index.js';
import { AppError } from '../../../lib/errors.js';
import type { CheckedComponent } from './payload-checks.js';
import { isInside } from './sandbox-paths.js';

/** Writes a component's payload under `destHost`, streaming it a second time. */
export async function extractPayload(
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
export async function replaceBundles(
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
export class TreeWriter {
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
