/**
 * `repo import --extract-icon`: the first application in the package's payloads gives its icon
 * (CFBundleIconFile under Contents/Resources), whose PNG becomes `icons/<icon_name or name>.png`,
 * the name Munki's client looks for. An icon already in the repo is kept; a package without a
 * usable icon only draws a warning, as in munkiimport.
 */
import { extname } from 'node:path';
import type { PkgInfo } from '../../catalogs/index.js';
import { readFlatPackage } from '../../formats/index.js';
import type { Logger } from '../../lib/log.js';
import { readPayloadFile, type PayloadApp } from './app-bundles.js';
import { named } from './from-flat-package.js';
import { pngFromIcns } from './icns-png.js';
import { openItemFile } from './package-file.js';
import { placeIcon, type PlacedFile } from './repo-placement.js';

const MAX_ICNS_BYTES = 64 * 1024 * 1024;

/** Saves the icon of the first app of `item` into the repo; undefined when there is none to save. */
export async function extractIcon(
  repo: string,
  item: string,
  apps: readonly PayloadApp[],
  pkginfo: PkgInfo,
  logger: Logger,
): Promise<PlacedFile | undefined> {
  const skip = (why: string): undefined => {
    logger.warn('import.icon.none', `WARNING: no icon extracted: ${why}`);
    return undefined;
  };
  const app = apps[0];
  if (app === undefined) return skip(`${item} installs no application`);
  const iconFile = app.info['CFBundleIconFile'];
  if (typeof iconFile !== 'string' || iconFile === '' || iconFile.includes('/')) {
    return skip(`${app.payloadPath} names no CFBundleIconFile`);
  }
  const icnsPath = `${app.payloadPath}/Contents/Resources/${iconFile}${extname(iconFile) === '' ? '.icns' : ''}`;
  const opened = await openItemFile(item);
  let icns: Uint8Array | undefined;
  try {
    const pkg = await named(item, readFlatPackage(opened.source));
    icns = await readPayloadFile(pkg, app.component, icnsPath, item, MAX_ICNS_BYTES);
  } finally {
    await opened.close();
  }
  if (icns === undefined) return skip(`${icnsPath} is not in the package`);
  const png = pngFromIcns(icns);
  if (png === undefined) return skip(`${icnsPath} holds no PNG image`);
  const base = pkginfo.icon_name ?? pkginfo.name;
  const name = extname(base) === '' ? `${base}.png` : base;
  const placed = await placeIcon(repo, name, png);
  if (placed === undefined) logger.info('import.icon.exists', `icons/${name} already exists; kept`);
  return placed;
}
