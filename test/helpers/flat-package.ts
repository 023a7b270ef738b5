/**
 * Writes real Apple flat packages (xar) for tests, laid out the way pkgbuild and productbuild lay
 * them out: a component has `Bom`, `Payload` (gzip'd odc cpio, or pbzx with xz chunks from the
 * system `xz`), optional `Scripts` and `PackageInfo`; a product adds `Distribution` and puts each
 * component in a `foo.pkg/` folder. The TOC carries archived and extracted checksums and the TOC
 * digest sits at the start of the heap, as bsdtar and pkgbuild write it. Nothing is signed, and the
 * `Bom` is a stub: we do not write BOMStore files.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { writeCpioOdc, type CpioWriteEntry } from '../../formats/cpio.js';

/** Digest names the writer can put in a TOC. */
export type XarChecksumName = 'none' | 'sha1' | 'md5' | 'sha256' | 'sha512';

/** One xar member; missing parent folders are added. */
export interface XarMemberSpec {
  /** `/`-separated path inside the archive, e.g. `foo.pkg/Payload`. */
  path: string;
  type?: 'file' | 'directory' | 'symlink';
  contents?: Uint8Array | string;
  linkTarget?: string;
  /** `zlib` is xar's `application/x-gzip` (really zlib); `none` stores the bytes. Default `none`. */
  encoding?: 'zlib' | 'gzip' | 'none' | 'bzip2-label';
  mode?: number;
  /** Raw `<name>` texts to write instead of the last path component (tests of odd TOCs). */
  names?: string[];
  /** A wrong extracted-checksum to write instead of the real one (tests of verification). */
  extractedChecksumOverride?: string;
}

/** Options for `writeXar`. */
export interface XarWriteOptions {
  /** Header cksum_alg and TOC digest (default sha1). */
  tocChecksum?: XarChecksumName;
  /** Style of members' archived/extracted checksums (default: same as the TOC's; `none` omits them). */
  fileChecksum?: XarChecksumName;
  /** Header size ≥ 28; extra bytes are zeros, or `headerDigestName` NUL-terminated. */
  headerSize?: number;
  /** Writes cksum_alg 3 with this name after the fixed header (the mackyle/xar fork's convention). */
  headerDigestName?: string;
  /** Adds RSA `<signature>` and CMS `<x-signature>` elements with dummy blobs at the heap start. */
  signature?: boolean;
}

const HEADER_ALG: Readonly<Record<XarChecksumName, number>> = {
  none: 0,
  sha1: 1,
  md5: 2,
  sha256: 3,
  sha512: 4,
};
const ENCODING_STYLE = {
  zlib: 'application/x-gzip',
  gzip: 'application/x-gzip',
  none: 'application/octet-stream',
  'bzip2-label': 'application/x-bzip2',
} as const;
const FIXED_MTIME = 1_700_000_000;
const encoder = new TextEncoder();

interface Node {
  spec: XarMemberSpec;
  name: string;
  children: Node[];
}

/** Writes a xar archive holding `members`. */
export function writeXar(
  members: readonly XarMemberSpec[],
  options: XarWriteOptions = {},
): Uint8Array {
  const tocAlg = options.tocChecksum ?? 'sha1';
  const fileAlg = options.fileChecksum ?? tocAlg;
  const root: Node = { spec: { path: '', type: 'directory' }, name: '', children: [] };
  const byPath = new Map<string, Node>([['', root]]);
  const ensure = (path: string, spec?: XarMemberSpec): Node => {
    const existing = byPath.get(path);
    if (existing !== undefined) {
      if (spec !== undefined) existing.spec = spec;
      return existing;
    }
    const slash = path.lastIndexOf('/');
    const parent = ensure(slash === -1 ? '' : path.slice(0, slash));
    const node: Node = {
      spec: spec ?? { path, type: 'directory' },
      name: path.slice(slash + 1),
      children: [],
    };
    parent.children.push(node);
    byPath.set(path, node);
    return node;
  };
  for (const m of members) ensure(m.path, m);

  const digestSize = tocAlg === 'none' ? 0 : digest(tocAlg, new Uint8Array(0)).length;
  const heap: Uint8Array[] = [];
  let heapLength = 0;
  const addToHeap = (bytes: Uint8Array): number => {
    const at = heapLength;
    heap.push(bytes);
    heapLength += bytes.length;
    return at;
  };
  addToHeap(new Uint8Array(digestSize)); // the TOC digest, filled in once the TOC is known
  const signatureXml: string[] = [];
  if (options.signature === true) {
    const rsa = addToHeap(new Uint8Array(256).fill(0x5a));
    const cms = addToHeap(new Uint8Array(64).fill(0xa5));
    signatureXml.push(
      `  <signature style="RSA">\n   <offset>${rsa}</offset>\n   <size>256</size>\n` +
        `   <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">\n    <X509Data>\n` +
        `     <X509Certificate>TUlJQ0xlYWY=</X509Certificate>\n     <X509Certificate>TUlJQ0ludGVy\n      bWVkaWF0ZQ==</X509Certificate>\n` +
        `    </X509Data>\n   </KeyInfo>\n  </signature>`,
      `  <x-signature style="CMS">\n   <offset>${cms}</offset>\n   <size>64</size>\n  </x-signature>`,
    );
  }

  let nextId = 1;
  const fileXml = (node: Node, indent: string): string => {
    const s = node.spec;
    const type =
      s.type ??
      (s.linkTarget !== undefined ? 'symlink' : s.contents !== undefined ? 'file' : 'directory');
    const lines = [`${indent}<file id="${nextId++}">`];
    const inner = `${indent} `;
    if (type === 'file') {
      const contents =
        typeof s.contents === 'string'
          ? encoder.encode(s.contents)
          : (s.contents ?? new Uint8Array(0));
      const encoding = s.encoding ?? 'none';
      const stored =
        encoding === 'zlib'
          ? deflateSync(contents)
          : encoding === 'gzip'
            ? gzipSync(contents)
            : contents;
      const offset = addToHeap(stored);
      lines.push(`${inner}<data>`);
      lines.push(`${inner} <length>${stored.length}</length>`);
      lines.push(`${inner} <encoding style="${ENCODING_STYLE[encoding]}"/>`);
      lines.push(`${inner} <offset>${offset}</offset>`);
      lines.push(`${inner} <size>${contents.length}</size>`);
      if (fileAlg !== 'none') {
        lines.push(
          `${inner} <extracted-checksum style="${fileAlg}">${s.extractedChecksumOverride ?? hex(fileAlg, contents)}</extracted-checksum>`,
        );
        lines.push(
          `${inner} <archived-checksum style="${fileAlg}">${hex(fileAlg, stored)}</archived-checksum>`,
        );
      }
      lines.push(`${inner}</data>`);
    }
    const mode = s.mode ?? (type === 'file' ? 0o644 : 0o755);
    lines.push(`${inner}<mode>${mode.toString(8).padStart(4, '0')}</mode>`);
    lines.push(
      `${inner}<uid>0</uid>`,
      `${inner}<user>root</user>`,
      `${inner}<gid>0</gid>`,
      `${inner}<group>wheel</group>`,
    );
    lines.push(`${inner}<mtime>2023-11-14T22:13:20Z</mtime>`);
    lines.push(`${inner}<type>${type}</type>`);
    if (type === 'symlink')
      lines.push(`${inner}<link type="file">${escapeXml(s.linkTarget ?? '')}</link>`);
    for (const name of s.names ?? [node.name])
      lines.push(`${inner}<name>${escapeXml(name)}</name>`);
    for (const c of node.children) lines.push(fileXml(c, inner));
    lines.push(`${indent}</file>`);
    return lines.join('\n');
  };
  const files = root.children.map((c) => fileXml(c, '  '));
  const checksumXml =
    tocAlg === 'none'
      ? []
      : [
          `  <checksum style="${tocAlg}">\n   <offset>0</offset>\n   <size>${digestSize}</size>\n  </checksum>`,
        ];
  const tocXml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<xar>',
    ' <toc>',
    '  <creation-time>2023-11-14T22:13:20</creation-time>',
    ...checksumXml,
    ...signatureXml,
    ...files,
    ' </toc>',
    '</xar>',
    '',
  ].join('\n');
  const tocText = encoder.encode(tocXml);
  const tocCompressed = deflateSync(tocText);
  if (tocAlg !== 'none') heap[0] = digest(tocAlg, tocCompressed);

  const headerSize = options.headerSize ?? 28;
  const header = new Uint8Array(headerSize);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x78617221);
  view.setUint16(4, headerSize);
  view.setUint16(6, 1);
  view.setBigUint64(8, BigInt(tocCompressed.length));
  view.setBigUint64(16, BigInt(tocText.length));
  view.setUint32(24, options.headerDigestName !== undefined ? 3 : HEADER_ALG[tocAlg]);
  if (options.headerDigestName !== undefined)
    header.set(encoder.encode(options.headerDigestName), 28);
  return concat([header, tocCompressed, ...heap]);
}

/** Flips bits of one byte in place (corruption tests); throws if `at` is out of range. */
export function flipByte(bytes: Uint8Array, at: number, mask = 0xff): void {
  const b = bytes[at];
  if (b === undefined) throw new Error(`no byte at ${at}`);
  bytes[at] = b ^ mask;
}

/** A file, symlink or folder in a payload, relative to the install location. */
export interface PackageFileSpec {
  path: string;
  contents?: string | Uint8Array;
  symlink?: string;
  dir?: boolean;
  /** Permission bits (default 0644 for files, 0755 for folders). */
  mode?: number;
}

/** An application bundle to put in the payload and declare in PackageInfo. */
export interface AppSpec {
  /** e.g. `Applications/Foo.app`. */
  path: string;
  bundleId: string;
  shortVersion: string;
  bundleVersion?: string;
  minOS?: string;
  /** CFBundleIconFile; put the icon itself in the component's `files`. */
  iconFile?: string;
}

/** One component package. */
export interface ComponentSpec {
  identifier: string;
  version: string;
  installLocation?: string;
  files?: PackageFileSpec[];
  scripts?: { preinstall?: string; postinstall?: string };
  payloadEncoding?: 'gzip' | 'pbzx';
  /** pbzx block size (default 16 MiB, as Apple); small values give several chunks. */
  pbzxChunkSize?: number;
  apps?: AppSpec[];
  /** No Payload and no `<payload>`: a scripts-only package that leaves no receipt. */
  payloadFree?: boolean;
  /** Folder name inside a product (default `<last part of identifier>.pkg`). */
  fileName?: string;
  /** PackageInfo `postinstall-action` (default `none`): `restart`, `logout`, `shutdown`. */
  postinstallAction?: string;
}

/** What `buildFlatPackage` writes. */
export interface FlatPackageSpec extends ComponentSpec {
  kind: 'component' | 'product';
  /** A product's components; when absent a product wraps one component made from this spec. */
  components?: ComponentSpec[];
  title?: string;
  minOsVersion?: string;
  hostArchitectures?: string[];
  xar?: XarWriteOptions;
}

/** Builds a component or product flat package as bytes. */
export async function buildFlatPackage(spec: FlatPackageSpec): Promise<Uint8Array> {
  if (spec.kind === 'component') {
    return writeXar(componentMembers(spec, ''), spec.xar);
  }
  const components = spec.components ?? [spec];
  const members: XarMemberSpec[] = [];
  for (const c of components) members.push(...componentMembers(c, componentFileName(c)));
  members.push({ path: 'Resources', type: 'directory' });
  members.push({
    path: 'Distribution',
    contents: distributionXml(spec, components),
    encoding: 'zlib',
  });
  return writeXar(members, spec.xar);
}

/** The cpio members of a component's payload, pkgbuild order: `.` first, parents before children. */
export function payloadEntries(spec: ComponentSpec): CpioWriteEntry[] {
  const items = new Map<string, { mode: number; data?: Uint8Array | string }>();
  const addDirs = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!items.has(dir)) items.set(dir, { mode: 0o040755 });
    }
  };
  for (const f of spec.files ?? []) {
    addDirs(f.path);
    if (f.dir === true) items.set(f.path, { mode: 0o040000 | (f.mode ?? 0o755) });
    else if (f.symlink !== undefined)
      items.set(f.path, { mode: 0o120000 | (f.mode ?? 0o755), data: f.symlink });
    else items.set(f.path, { mode: 0o100000 | (f.mode ?? 0o644), data: f.contents ?? '' });
  }
  for (const app of spec.apps ?? []) {
    const exe =
      app.path
        .split('/')
        .at(-1)
        ?.replace(/\.app$/, '') ?? 'App';
    addDirs(`${app.path}/Contents/MacOS/${exe}`);
    items.set(`${app.path}/Contents/Info.plist`, { mode: 0o100644, data: infoPlistXml(app, exe) });
    items.set(`${app.path}/Contents/MacOS/${exe}`, { mode: 0o100755, data: '#!/bin/sh\nexit 0\n' });
    items.set(`${app.path}/Contents/PkgInfo`, { mode: 0o100644, data: 'APPL????' });
  }
  const sorted = [...items.keys()].sort();
  return [
    { path: '.', mode: 0o040755, mtime: FIXED_MTIME, nlink: 2 },
    ...sorted.map((p, i): CpioWriteEntry => {
      const item = items.get(p) ?? { mode: 0o040755 };
      return {
        path: `./${p}`,
        mode: item.mode,
        mtime: FIXED_MTIME,
        ino: i + 2,
        ...(item.data !== undefined && { data: item.data }),
      };
    }),
  ];
}

/** Compresses with the system `xz` CLI into the .xz container, as pbzx chunks need. */
export function xzCompress(data: Uint8Array): Uint8Array {
  const r = spawnSync('xz', ['--format=xz', '-c'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`xz failed: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/**
 * Frames `data` as pbzx with `chunkSize` blocks: each block xz-compressed, or stored raw (equal
 * sizes) when xz does not make it smaller, as Apple does for incompressible blocks.
 */
export function writePbzx(data: Uint8Array, chunkSize = 16 * 1024 * 1024): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode('pbzx'), u64(chunkSize)];
  for (let at = 0; at < data.length; at += chunkSize) {
    const chunk = data.subarray(at, Math.min(data.length, at + chunkSize));
    const xz = xzCompress(chunk);
    const stored = xz.length >= chunk.length ? chunk : xz;
    parts.push(u64(chunk.length), u64(stored.length), stored);
  }
  return concat(parts);
}

/** A newc (`070701`) cpio writer, only for tests of the reader (GNU layout: 4-byte alignment). */
export function writeCpioNewc(entries: readonly CpioWriteEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
  const add = (e: CpioWriteEntry, index: number): void => {
    const data =
      typeof e.data === 'string' ? encoder.encode(e.data) : (e.data ?? new Uint8Array(0));
    const name = encoder.encode(`${e.path}\0`);
    const header = encoder.encode(
      '070701' +
        hex8(e.ino ?? index + 1) +
        hex8(e.mode) +
        hex8(e.uid ?? 0) +
        hex8(e.gid ?? 0) +
        hex8(e.nlink ?? 1) +
        hex8(e.mtime ?? 0) +
        hex8(data.length) +
        hex8(e.dev ?? 0) +
        hex8(0) +
        hex8(0) +
        hex8(e.rdev ?? 0) +
        hex8(name.length) +
        hex8(0),
    );
    parts.push(header, name, new Uint8Array(pad4(header.length + name.length)));
    parts.push(data, new Uint8Array(pad4(data.length)));
  };
  entries.forEach(add);
  add({ path: 'TRAILER!!!', mode: 0, ino: 0 }, 0);
  return concat(parts);
}

function componentMembers(spec: ComponentSpec, dir: string): XarMemberSpec[] {
  const at = (name: string): string => (dir === '' ? name : `${dir}/${name}`);
  const members: XarMemberSpec[] = [];
  const entries = payloadEntries(spec);
  if (spec.payloadFree !== true) {
    const cpio = writeCpioOdc(entries);
    const payload =
      spec.payloadEncoding === 'pbzx' ? writePbzx(cpio, spec.pbzxChunkSize) : gzipSync(cpio);
    members.push({
      path: at('Bom'),
      contents: '# Abbot test fixture: a stub. We do not write BOMs (BOMStore B-trees).\n',
      encoding: 'zlib',
    });
    members.push({ path: at('Payload'), contents: payload });
  }
  if (spec.scripts !== undefined)
    members.push({ path: at('Scripts'), contents: scriptsArchive(spec.scripts) });
  members.push({
    path: at('PackageInfo'),
    contents: packageInfoXml(spec, entries),
    encoding: 'zlib',
  });
  return members;
}

function scriptsArchive(scripts: { preinstall?: string; postinstall?: string }): Uint8Array {
  const entries: CpioWriteEntry[] = [{ path: '.', mode: 0o040755, mtime: FIXED_MTIME }];
  if (scripts.postinstall !== undefined) {
    entries.push({
      path: './postinstall',
      mode: 0o100755,
      data: scripts.postinstall,
      mtime: FIXED_MTIME,
    });
  }
  if (scripts.preinstall !== undefined) {
    entries.push({
      path: './preinstall',
      mode: 0o100755,
      data: scripts.preinstall,
      mtime: FIXED_MTIME,
    });
  }
  return gzipSync(writeCpioOdc(entries));
}

function packageInfoXml(spec: ComponentSpec, entries: readonly CpioWriteEntry[]): string {
  const bytes = entries.reduce(
    (n, e) =>
      n + (typeof e.data === 'string' ? encoder.encode(e.data).length : (e.data?.length ?? 0)),
    0,
  );
  const apps = spec.apps ?? [];
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<pkg-info overwrite-permissions="true" relocatable="false" identifier="${escapeXml(spec.identifier)}" ` +
      `postinstall-action="${escapeXml(spec.postinstallAction ?? 'none')}" version="${escapeXml(spec.version)}" format-version="2" ` +
      `generator-version="InstallCmds-862 (24A335)" install-location="${escapeXml(spec.installLocation ?? '/')}" auth="root">`,
  ];
  if (spec.payloadFree !== true) {
    lines.push(
      `    <payload numberOfFiles="${entries.length}" installKBytes="${Math.ceil(bytes / 1024)}"/>`,
    );
  }
  for (const app of apps) {
    lines.push(
      `    <bundle path="./${escapeXml(app.path)}" id="${escapeXml(app.bundleId)}" ` +
        `CFBundleShortVersionString="${escapeXml(app.shortVersion)}" CFBundleVersion="${escapeXml(app.bundleVersion ?? app.shortVersion)}"/>`,
    );
  }
  const idList = (tag: string): void => {
    if (apps.length === 0) {
      lines.push(`    <${tag}/>`);
      return;
    }
    lines.push(`    <${tag}>`);
    for (const app of apps) lines.push(`        <bundle id="${escapeXml(app.bundleId)}"/>`);
    lines.push(`    </${tag}>`);
  };
  idList('bundle-version');
  idList('upgrade-bundle');
  lines.push(
    '    <update-bundle/>',
    '    <atomic-update-bundle/>',
    '    <strict-identifier/>',
    '    <relocate/>',
  );
  if (spec.scripts !== undefined) {
    lines.push('    <scripts>');
    if (spec.scripts.preinstall !== undefined)
      lines.push('        <preinstall file="./preinstall"/>');
    if (spec.scripts.postinstall !== undefined)
      lines.push('        <postinstall file="./postinstall"/>');
    lines.push('    </scripts>');
  }
  lines.push('</pkg-info>', '');
  return lines.join('\n');
}

function distributionXml(spec: FlatPackageSpec, components: readonly ComponentSpec[]): string {
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<installer-gui-script minSpecVersion="2">',
  ];
  lines.push(`    <title>${escapeXml(spec.title ?? spec.identifier)}</title>`);
  for (const c of components) lines.push(`    <pkg-ref id="${escapeXml(c.identifier)}"/>`);
  const arch = spec.hostArchitectures;
  lines.push(
    `    <options customize="never" require-scripts="false"${arch ? ` hostArchitectures="${arch.join(',')}"` : ''}/>`,
  );
  if (spec.minOsVersion !== undefined) {
    lines.push(
      '    <volume-check>',
      '        <allowed-os-versions>',
      `            <os-version min="${escapeXml(spec.minOsVersion)}"/>`,
      '        </allowed-os-versions>',
      '    </volume-check>',
    );
  }
  lines.push('    <choices-outline>', '        <line choice="default">');
  for (const c of components) lines.push(`            <line choice="${escapeXml(c.identifier)}"/>`);
  lines.push('        </line>', '    </choices-outline>', '    <choice id="default"/>');
  for (const c of components) {
    const kb = Math.ceil(
      payloadEntries(c).reduce(
        (n, e) => n + (typeof e.data === 'string' ? e.data.length : (e.data?.length ?? 0)),
        0,
      ) / 1024,
    );
    lines.push(
      `    <choice id="${escapeXml(c.identifier)}" visible="false">`,
      `        <pkg-ref id="${escapeXml(c.identifier)}"/>`,
      '    </choice>',
      `    <pkg-ref id="${escapeXml(c.identifier)}" version="${escapeXml(c.version)}" onConclusion="none" installKBytes="${kb}">` +
        `#${escapeXml(encodeURIComponent(componentFileName(c)))}</pkg-ref>`,
    );
    if ((c.apps ?? []).length > 0) {
      lines.push(`    <pkg-ref id="${escapeXml(c.identifier)}">`, '        <bundle-version>');
      for (const app of c.apps ?? []) {
        lines.push(
          `            <bundle CFBundleShortVersionString="${escapeXml(app.shortVersion)}" ` +
            `CFBundleVersion="${escapeXml(app.bundleVersion ?? app.shortVersion)}" id="${escapeXml(app.bundleId)}" path="${escapeXml(app.path)}"/>`,
        );
      }
      lines.push('        </bundle-version>', '    </pkg-ref>');
    }
  }
  lines.push(
    `    <product id="${escapeXml(spec.identifier)}" version="${escapeXml(spec.version)}"/>`,
  );
  lines.push('</installer-gui-script>', '');
  return lines.join('\n');
}

function componentFileName(c: ComponentSpec): string {
  return c.fileName ?? `${c.identifier.split('.').at(-1) ?? 'component'}.pkg`;
}

function infoPlistXml(app: AppSpec, exe: string): string {
  const entry = (key: string, value: string): string =>
    `\t<key>${key}</key>\n\t<string>${escapeXml(value)}</string>\n`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    '<plist version="1.0">\n<dict>\n' +
    entry('CFBundleExecutable', exe) +
    entry('CFBundleIdentifier', app.bundleId) +
    entry('CFBundleName', exe) +
    entry('CFBundlePackageType', 'APPL') +
    entry('CFBundleShortVersionString', app.shortVersion) +
    entry('CFBundleVersion', app.bundleVersion ?? app.shortVersion) +
    (app.minOS !== undefined ? entry('LSMinimumSystemVersion', app.minOS) : '') +
    (app.iconFile !== undefined ? entry('CFBundleIconFile', app.iconFile) : '') +
    '</dict>\n</plist>\n'
  );
}

function digest(alg: Exclude<XarChecksumName, 'none'>, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(bytes).digest());
}

function hex(alg: Exclude<XarChecksumName, 'none'>, bytes: Uint8Array): string {
  return createHash(alg).update(bytes).digest('hex');
}

function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
