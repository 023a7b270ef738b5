/**
 * The warning Munki's tools print when a pkginfo gives the client no way to tell whether the item is
 * installed (warnIfNoValidInstallsCriteria): no receipts, installs, installcheck_script or
 * version_script, and not OnDemand. The client would then install it again on every run.
 */
import type { PkgInfo } from '../../catalogs/index.js';
import type { Logger } from '../../lib/log.js';

/** Logs a warning when `pkginfo` has nothing the client can check installation with. */
export function warnIfNoInstallCheck(pkginfo: PkgInfo, logger: Logger): void {
  const has = (v: unknown): boolean =>
    Array.isArray(v) ? v.length > 0 : typeof v === 'string' && v !== '';
  if (
    pkginfo.OnDemand === true ||
    has(pkginfo.installcheck_script) ||
    has(pkginfo.version_script) ||
    has(pkginfo.installs) ||
    has(pkginfo.receipts)
  ) {
    return;
  }
  logger.warn(
    'pkginfo.no_install_check',
    `WARNING: pkginfo for ${pkginfo.name} has no receipts, installs, installcheck_script or version_script: the client cannot tell whether it is installed`,
  );
}
