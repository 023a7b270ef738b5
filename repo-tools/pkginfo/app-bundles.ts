/**
 * The application bundles a flat package installs, read from its payloads (gzip or pbzx cpio) without
 * installing anything: Munki's makepkginfo needs the app on disk for `-f`, we read the Info.plist
 * straight out of the package. Payloads are streamed, so a multi-gigabyte package is never in memory.
 */
import { posix } from 'node:path';
import {
  CpioParser,
  isPlistDict,
  parsePlist,
  type FlatComponent,
  type FlatPackage,
  type PlistDict,
} from '../../formats/index.js';
import { AppError } from '../../lib/errors.js';

/** An application bundle found in a component's payload. */
export interface PayloadApp {
  component: FlatComponent;
  /** Path inside the payload, e.g. `Applications/Foo.app`. */
  payloadPath: string;
  /** Where it lands on the Mac: the component's install-location joined with `payloadPath`. */
  installPath: string;
  /** The bundle's Contents/Info.plist. */
  info: PlistDict;
}

// Folders that are bundles themselves: an app inside one of them (a helper) is not the product.
const BUNDLE_EXTENSIONS = /\.(app|bundle|framework|plugin|kext|appex|xpc|prefPane|qlgenerator)$/i;
// Far beyond any real Info.plist; a bigger one is not read into memory.
const MAX_INFO_PLIST_BYTES = 8 * 1024 * 1024;

/**
 * The top-level application bundles (not helpers nested in another bundle) of every component, in
 * component order and then by path. `what` names the package in errors.
 */
export async function findPayloadApps(pkg: FlatPackage, what: string): Promise<PayloadApp[]> {
  const apps: PayloadApp[] = [];
  for (const component of pkg.components) {
    if (!component.hasPayload) continue;
    const plists = await readPayloadFiles(pkg, component, isTopLevelAppInfoPlist, what);
    for (const [path, bytes] of [...plists].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const payloadPath = path.slice(0, -'/Contents/Info.plist'.length);
      const info = parsePlist(bytes, { source: `${what}: ${path}` });
      if (!isPlistDict(info)) {
        throw new AppError('ARCHIVE_INVALID', `${what}: ${path} is not a dictionary`);
      }
      const location = component.packageInfo.installLocation ?? '/';
      apps.push({
        component,
        payloadPath,
        installPath: posix.join('/', location, payloadPath),
        info,
      });
    }
  }
  return apps;
}

/** The bytes of one payload member, or undefined when the component does not have it. */
export async function readPayloadFile(
  pkg: FlatPackage,
  component: FlatComponent,
  path: string,
  what: string,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const found = await readPayloadFiles(pkg, component, (p) => p === path, what, maxBytes);
  return found.get(path);
}

/** True for `X.app/Contents/Info.plist` where no folder above X.app is a bundle. */
function isTopLevelAppInfoPlist(path: string): boolean {
  const parts = path.split('/');
  if (parts.length < 3 || parts.at(-1) !== 'Info.plist' || parts.at(-2) !== 'Contents') {
    return false;
  }
  const bundle = parts.at(-3) ?? '';
  return /\.app$/i.test(bundle) && !parts.slice(0, -3).some((p) => BUNDLE_EXTENSIONS.test(p));
}

/** Streams a component's payload once and keeps the regular files `wanted` picks. */
async function readPayloadFiles(
  pkg: FlatPackage,
  component: FlatComponent,
  wanted: (path: string) => boolean,
  what: string,
  maxBytes = MAX_INFO_PLIST_BYTES,
): Promise<Map<string, Uint8Array>> {
  const parser = new CpioParser();
  const found = new Map<string, Uint8Array>();
  let current: { path: string; parts: Uint8Array[] } | undefined;
  const finish = (): void => {
    if (current !== undefined) found.set(current.path, Buffer.concat(current.parts));
    current = undefined;
  };
  const where = component.path === '' ? what : `${what} (${component.path})`;
  try {
    for await (const chunk of pkg.streamPayload(component)) {
      for (const event of parser.push(chunk)) {
        if (event.kind === 'entry') {
          finish();
          const { path, type, size } = event.entry;
          if (type === 'file' && wanted(path)) {
            if (size > maxBytes) {
              throw new AppError(
                'ARCHIVE_INVALID',
                `${where}: ${path} is ${size} bytes, more than the ${maxBytes} read from a payload`,
              );
            }
            current = { path, parts: [] };
          }
        } else if (event.kind === 'data' && current !== undefined) {
          // Events alias the pushed chunk, which the stream reuses: keep a copy.
          current.parts.push(Uint8Array.from(event.data));
        }
      }
    }
    finish();
    parser.end();
  } catch (e) {
    // The readers below do not know the file's name: put it in front of their message.
    if (e instanceof AppError && !e.message.startsWith(where)) {
      throw new AppError(e.code, `${where}: payload: ${e.message}`, { cause: e });
    }
    throw e;
  }
  return found;
}
