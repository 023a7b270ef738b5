/**
 * Apple flat packages (.pkg): xar archives holding either one component (top-level `PackageInfo`,
 * `Bom`, `Payload`, `Scripts`, as pkgbuild writes) or a product (`Distribution` plus `foo.pkg/`
 * component folders, as productbuild writes). This reads the metadata Munki-style tools need —
 * identifiers, versions, sizes, bundles, OS and architecture requirements — and gives access to
 * each component's payload and scripts. A Distribution's JavaScript is never executed.
 */
import { AppError } from '../lib/errors.js';
import type { ByteSource } from './byte-source.js';
import { readCpio, type CpioEntry } from './cpio.js';
import { decodePayload, decodePayloadStream } from './payload.js';
import { openXar, type XarArchive } from './xar.js';
import { attribute, child, descendants, parseXml, textOf, type XmlElement } from './xml.js';

/** A bundle a package installs or checks, with Apple's attribute names kept verbatim. */
export interface BundleInfo {
  /** The bundle identifier (`id`, or `CFBundleIdentifier` when only that is given). */
  readonly id: string;
  readonly CFBundleIdentifier?: string;
  readonly CFBundleShortVersionString?: string;
  readonly CFBundleVersion?: string;
  /** Path relative to the install location, e.g. `./Applications/Foo.app`. */
  readonly path?: string;
}

/** A component's `PackageInfo`. */
export interface PackageInfo {
  readonly identifier: string;
  readonly version: string;
  readonly installLocation?: string;
  readonly auth?: string;
  readonly formatVersion?: string;
  /** `none`, `logout`, `restart` or `shutdown`. */
  readonly postinstallAction?: string;
  readonly minimumSystemVersion?: string;
  /** `<payload>`; absent for a payload-free package, which leaves no receipt. */
  readonly payload?: { readonly numberOfFiles?: number; readonly installKBytes?: number };
  readonly bundles: readonly BundleInfo[];
  /** Script file names from `<scripts>`, e.g. `./postinstall`. */
  readonly scripts: { readonly preinstall?: string; readonly postinstall?: string };
  /** Bundle ids under `<relocate>`: installer follows them if the user moved them. */
  readonly relocate: readonly string[];
}

/** A `pkg-ref` of a Distribution, with its occurrences merged by id. */
export interface PkgRef {
  readonly id: string;
  readonly version?: string;
  readonly installKBytes?: number;
  readonly auth?: string;
  /** The element's text as written, e.g. `#Foo%20Bar.pkg`. */
  readonly file?: string;
  /** The component folder in this archive that `file` names, when it resolves. */
  readonly componentPath?: string;
  readonly bundles: readonly BundleInfo[];
}

/** One `volume-check/allowed-os-versions/os-version` range. */
export interface OsVersionRange {
  readonly min?: string;
  readonly before?: string;
}

/** A product archive's `Distribution`. */
export interface Distribution {
  readonly title?: string;
  readonly productId?: string;
  readonly productVersion?: string;
  readonly allowedOsVersions: readonly OsVersionRange[];
  /** The highest `min` of the allowed ranges (what Munki takes as minimum_os_version). */
  readonly minOsVersion?: string;
  /** The highest `before` of the allowed ranges, when every range has one. */
  readonly osVersionBefore?: string;
  /** `options@hostArchitectures`, e.g. `['x86_64', 'arm64']`; empty when unrestricted. */
  readonly hostArchitectures: readonly string[];
  readonly pkgRefs: readonly PkgRef[];
  readonly hasChoicesOutline: boolean;
}

/** A component inside a flat package. */
export interface FlatComponent {
  /** Folder inside the xar (`foo.pkg`), or `''` for a component package's top level. */
  readonly path: string;
  readonly packageInfo: PackageInfo;
  readonly hasPayload: boolean;
  readonly hasScripts: boolean;
}

/** An opened flat package. */
export interface FlatPackage {
  readonly kind: 'component' | 'product';
  readonly distribution?: Distribution;
  readonly components: readonly FlatComponent[];
  readonly archive: XarArchive;
  /** The component's payload entries (empty for a payload-free component). */
  readPayload(component: FlatComponent): Promise<CpioEntry[]>;
  /** The component's payload as decoded cpio bytes, streamed; feed them to a `CpioParser`. */
  streamPayload(component: FlatComponent): AsyncGenerator<Uint8Array, void, undefined>;
  /** The entries of the component's `Scripts` archive (empty when there is none). */
  readScripts(component: FlatComponent): Promise<CpioEntry[]>;
}

/** Opens a flat package and parses its PackageInfo and Distribution documents. */
export async function readFlatPackage(source: ByteSource): Promise<FlatPackage> {
  const archive = await openXar(source);
  const isFile = (path: string): boolean => {
    const t = archive.entry(path)?.type;
    return t === 'file' || t === 'hardlink';
  };
  const member = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

  const componentDirs: string[] = [];
  if (isFile('PackageInfo')) componentDirs.push('');
  for (const e of archive.entries) {
    if (e.type === 'directory' && !e.path.includes('/') && isFile(`${e.path}/PackageInfo`)) {
      componentDirs.push(e.path);
    }
  }
  const components: FlatComponent[] = [];
  for (const dir of componentDirs) {
    const where = member(dir, 'PackageInfo');
    components.push({
      path: dir,
      packageInfo: parsePackageInfo(await archive.read(where), where),
      hasPayload: isFile(member(dir, 'Payload')),
      hasScripts: isFile(member(dir, 'Scripts')),
    });
  }

  let distribution: Distribution | undefined;
  if (isFile('Distribution')) {
    // A ref resolves only to a component folder of this archive, so it can never name anything else.
    const known = new Set(componentDirs.filter((d) => d !== ''));
    distribution = parseDistribution(await archive.read('Distribution'), 'Distribution', (name) =>
      known.has(name) ? name : undefined,
    );
  } else if (components.length === 0) {
    throw new AppError(
      'ARCHIVE_INVALID',
      'not a flat package: the archive has neither PackageInfo nor Distribution',
    );
  }

  const decodeCpio = async (path: string): Promise<CpioEntry[]> =>
    isFile(path) ? readCpio(await decodePayload(await archive.read(path))) : [];
  const pkg: FlatPackage = {
    kind: distribution === undefined ? 'component' : 'product',
    components,
    archive,
    readPayload: (c) => decodeCpio(member(c.path, 'Payload')),
    async *streamPayload(c) {
      const path = member(c.path, 'Payload');
      if (isFile(path)) yield* decodePayloadStream(archive.stream(path));
    },
    readScripts: (c) => decodeCpio(member(c.path, 'Scripts')),
  };
  return distribution === undefined ? pkg : { ...pkg, distribution };
}

/** Parses a `PackageInfo` document; `what` names it in errors. */
export function parsePackageInfo(xml: string | Uint8Array, what = 'PackageInfo'): PackageInfo {
  const root = parseXml(xml, { what });
  if (root.name !== 'pkg-info')
    throw invalid(`${what}: root element is <${root.name}>, not <pkg-info>`);
  const identifier = attribute(root, 'identifier');
  const version = attribute(root, 'version');
  if (!identifier) throw invalid(`${what}: <pkg-info> has no identifier`);
  if (version === undefined) throw invalid(`${what}: <pkg-info> has no version`);
  const info: { -readonly [K in keyof PackageInfo]: PackageInfo[K] } = {
    identifier,
    version,
    bundles: collectBundles(root),
    scripts: {},
    relocate: descendants(child(root, 'relocate'), 'bundle')
      .map((b) => attribute(b, 'id'))
      .filter((id): id is string => id !== undefined && id !== ''),
  };
  setIfDefined(info, 'installLocation', attribute(root, 'install-location'));
  setIfDefined(info, 'auth', attribute(root, 'auth'));
  setIfDefined(info, 'formatVersion', attribute(root, 'format-version'));
  setIfDefined(info, 'postinstallAction', attribute(root, 'postinstall-action'));
  setIfDefined(info, 'minimumSystemVersion', attribute(root, 'minimumSystemVersion'));
  const payload = child(root, 'payload');
  if (payload !== undefined) {
    const p: { numberOfFiles?: number; installKBytes?: number } = {};
    setIfDefined(p, 'numberOfFiles', integer(attribute(payload, 'numberOfFiles')));
    setIfDefined(p, 'installKBytes', integer(attribute(payload, 'installKBytes')));
    info.payload = p;
  }
  const scripts = child(root, 'scripts');
  const s: { preinstall?: string; postinstall?: string } = {};
  setIfDefined(s, 'preinstall', attribute(child(scripts, 'preinstall'), 'file'));
  setIfDefined(s, 'postinstall', attribute(child(scripts, 'postinstall'), 'file'));
  info.scripts = s;
  return info;
}

/**
 * Parses a `Distribution` document. `resolveComponent` maps a pkg-ref's decoded `#name` to a
 * component folder in the archive (or undefined); without it no refs are resolved.
 */
export function parseDistribution(
  xml: string | Uint8Array,
  what = 'Distribution',
  resolveComponent: (name: string) => string | undefined = () => undefined,
): Distribution {
  const root = parseXml(xml, { what });
  if (root.name !== 'installer-gui-script' && root.name !== 'installer-script') {
    throw invalid(`${what}: root element is <${root.name}>, not <installer-gui-script>`);
  }
  const product = descendants(root, 'product')[0];
  const ranges = descendants(child(root, 'volume-check'), 'allowed-os-versions').flatMap((a) =>
    descendants(a, 'os-version').map((v) => {
      const r: { min?: string; before?: string } = {};
      setIfDefined(r, 'min', attribute(v, 'min'));
      setIfDefined(r, 'before', attribute(v, 'before'));
      return r;
    }),
  );
  const dist: { -readonly [K in keyof Distribution]: Distribution[K] } = {
    allowedOsVersions: ranges,
    hostArchitectures: (attribute(child(root, 'options'), 'hostArchitectures') ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== ''),
    pkgRefs: collectPkgRefs(root, resolveComponent),
    hasChoicesOutline: child(root, 'choices-outline') !== undefined,
  };
  const title = textOf(child(root, 'title'));
  if (title) dist.title = title;
  setIfDefined(dist, 'productId', attribute(product, 'id'));
  setIfDefined(dist, 'productVersion', attribute(product, 'version'));
  setIfDefined(dist, 'minOsVersion', highestVersion(ranges.map((r) => r.min)));
  if (ranges.length > 0 && ranges.every((r) => r.before !== undefined)) {
    setIfDefined(dist, 'osVersionBefore', highestVersion(ranges.map((r) => r.before)));
  }
  return dist;
}

/** Merges every `pkg-ref` (they repeat: once in a choice, once with the file) by id, in order. */
function collectPkgRefs(root: XmlElement, resolve: (name: string) => string | undefined): PkgRef[] {
  const byId = new Map<string, { -readonly [K in keyof PkgRef]: PkgRef[K] }>();
  for (const el of descendants(root, 'pkg-ref')) {
    const id = attribute(el, 'id');
    if (!id) continue;
    let ref = byId.get(id);
    if (ref === undefined) {
      ref = { id, bundles: [] };
      byId.set(id, ref);
    }
    if (ref.version === undefined) setIfDefined(ref, 'version', attribute(el, 'version'));
    if (ref.installKBytes === undefined) {
      setIfDefined(ref, 'installKBytes', integer(attribute(el, 'installKBytes')));
    }
    if (ref.auth === undefined) setIfDefined(ref, 'auth', attribute(el, 'auth'));
    const file = el.text.trim();
    if (file !== '' && ref.file === undefined) {
      ref.file = file;
      setIfDefined(ref, 'componentPath', componentName(file, resolve));
    }
    const bundles = collectBundles(child(el, 'bundle-version'));
    if (bundles.length > 0) ref.bundles = mergeBundles([...ref.bundles, ...bundles]);
  }
  return [...byId.values()];
}

/** `#Foo%20Bar.pkg` → the folder `Foo Bar.pkg`, if the archive has it. Other ref forms stay unresolved. */
function componentName(
  file: string,
  resolve: (name: string) => string | undefined,
): string | undefined {
  if (!file.startsWith('#')) return undefined;
  let name = file.slice(1);
  try {
    name = decodeURIComponent(name);
  } catch {
    // A stray "%" is just part of the name.
  }
  return resolve(name);
}

/**
 * All `<bundle>` elements below `root`, merged by id. A nested bundle's path is relative to its
 * parent bundle (pkgbuild nests helpers inside apps), so it is joined onto the parent's path.
 */
function collectBundles(root: XmlElement | undefined): BundleInfo[] {
  const found: BundleInfo[] = [];
  const visit = (el: XmlElement, parentPath: string | undefined): void => {
    for (const c of el.children) {
      if (c.name !== 'bundle') {
        visit(c, undefined);
        continue;
      }
      const own = attribute(c, 'path');
      const path =
        own !== undefined && parentPath !== undefined ? joinBundlePath(parentPath, own) : own;
      const id = attribute(c, 'id') || attribute(c, 'CFBundleIdentifier');
      if (id) {
        const b: { -readonly [K in keyof BundleInfo]: BundleInfo[K] } = { id };
        setIfDefined(b, 'CFBundleIdentifier', attribute(c, 'CFBundleIdentifier'));
        setIfDefined(b, 'CFBundleShortVersionString', attribute(c, 'CFBundleShortVersionString'));
        setIfDefined(b, 'CFBundleVersion', attribute(c, 'CFBundleVersion'));
        setIfDefined(b, 'path', path);
        found.push(b);
      }
      visit(c, path);
    }
  };
  if (root !== undefined) visit(root, undefined);
  return mergeBundles(found);
}

/** One entry per id, first occurrence's position, each attribute from the first occurrence that has it. */
function mergeBundles(bundles: readonly BundleInfo[]): BundleInfo[] {
  const byId = new Map<string, BundleInfo>();
  for (const b of bundles) {
    const prev = byId.get(b.id);
    byId.set(b.id, prev === undefined ? b : { ...b, ...prev });
  }
  return [...byId.values()];
}

function joinBundlePath(parent: string, own: string): string {
  return `${parent.replace(/\/+$/, '')}/${own.replace(/^(\.\/)+/, '')}`;
}

/** The highest of dotted numeric versions ("10.15" < "11.0" < "11.0.1"); undefined if none. */
function highestVersion(versions: readonly (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const v of versions) {
    if (v === undefined || v === '') continue;
    if (best === undefined || compareDotted(v, best) > 0) best = v;
  }
  return best;
}

function compareDotted(a: string, b: string): number {
  const pa = a.split('.').map((p) => parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && /^\s*\d{1,15}\s*$/.test(text) ? Number(text) : undefined;
}

/** Assigns only defined values, as exactOptionalPropertyTypes wants optional keys absent, not undefined. */
function setIfDefined<T extends object, K extends keyof T>(
  target: T,
  key: K,
  value: T[K] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

function invalid(message: string): AppError {
  return new AppError('ARCHIVE_INVALID', message);
}
