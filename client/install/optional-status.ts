/**
 * After a session, InstallInfo.plist's optional_installs must say what is now true, so self
 * service shows "Installed" without waiting for the next check. As Munki's installer does: a
 * successful install marks the offer installed (not for OnDemand items, which are never
 * "installed"), a successful removal marks it not installed, and a failure sets `install_error`
 * or `removal_error` and clears the pending flag.
 */
import type { PlistDict } from '../../formats/index.js';

/** One attempted install or removal, as the session recorded it. */
export interface AttemptedItem {
  name: string;
  version: string;
  action: 'install' | 'removal';
  result: 'success' | 'failed' | 'skipped';
}

/** The optional_installs entries updated with `attempts` (skipped items change nothing). */
export function updateOptionalInstalls(
  optional: readonly PlistDict[],
  attempts: readonly AttemptedItem[],
): PlistDict[] {
  return optional.map((offer) => {
    const updated: PlistDict = { ...offer };
    for (const a of attempts) {
      if (a.name !== offer['name'] || a.result === 'skipped') continue;
      if (a.action === 'removal') {
        if (a.result === 'failed') updated['removal_error'] = true;
        else {
          updated['installed'] = false;
          delete updated['removal_error'];
        }
        updated['will_be_removed'] = false;
      } else if (a.version === offer['version_to_install']) {
        if (a.result === 'failed') updated['install_error'] = true;
        else {
          updated['installed'] = offer['OnDemand'] !== true;
          updated['needs_update'] = false;
          delete updated['install_error'];
        }
        updated['will_be_installed'] = false;
      }
    }
    return updated;
  });
}
