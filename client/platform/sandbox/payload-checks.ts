/**
 * Everything is checked before anything runs or is written: the xar TOC and every member's
 * checksums, each selected component's Scripts archive and its whole payload (decoded and parsed
 * to its cpio trailer, so gzip and pbzx are verified end to end), member names (no `..`, no
 * absolute names, no device files), hard links, symlinks that later members would be written
 * THROUGH (a payload symlink or an existing one that leads outside the root refuses the package),
 * and the install locations. "Bad or truncated archives give a clear error, never a partial
 * install": nothing under the root changes, not even the temporary folder, until all of it passed.
 */
import { lstat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CpioParser,
  type CpioHeader,
  type FlatComponent,
  type FlatPackage,
} from '../../../formats/index.js';
import { AppError } from '../../../lib/errors.js';
import type { PlannedComponent } from './package-components.js';
import { assertSafePackageId } from './receipt-writer.js';
import { isInside, safeParts } from './sandbox-paths.js';

/** One payload member, as checked before installing. */
interface PayloadMember {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
}

/** A component that passed every check, with what installing it needs. */
export interface CheckedComponent {
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

/** Reads and checks everything about one component; throws on the first problem. */
export async function checkComponent(
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
export async function checkExistingFolders(
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
