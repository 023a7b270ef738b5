/**
 * `repo makepkginfo ITEM [options]`: prints the pkginfo of a flat package, a disk image (macOS), or a
 * `--nopkg` item as an XML plist on stdout, keys sorted so the same input gives the same bytes.
 */
import { buildPlist } from '../../formats/index.js';
import type { Logger } from '../../lib/log.js';
import { makePkginfo, type MakePkginfoContext } from '../pkginfo/make-pkginfo.js';
import type { PkginfoOptions } from '../pkginfo/options.js';
import { warnIfNoInstallCheck } from '../pkginfo/install-check-warning.js';

/** What `repo makepkginfo` takes. */
export interface MakepkginfoCommandOptions {
  item: string | undefined;
  options: PkginfoOptions;
  context: MakePkginfoContext;
  logger: Logger;
}

/** Makes the pkginfo and returns it as plist text. */
export async function makepkginfoCommand(opts: MakepkginfoCommandOptions): Promise<string> {
  const made = await makePkginfo(opts.item, opts.options, opts.context);
  if (made.kind !== 'fragment') warnIfNoInstallCheck(made.pkginfo, opts.logger);
  return buildPlist(made.pkginfo, { sortKeys: true });
}
