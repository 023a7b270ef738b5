/**
 * The managed installs still to do after the last check (InstallInfo.plist's managed_installs not
 * yet installed), soonest deadline (`force_install_after_date`) first: what the page lists under
 * "Pending updates" and what the user is reminded of.
 */
import { isPlistDict, type PlistDict } from '../../formats/index.js';

/** A managed install still to do, with its deadline. */
export interface PendingUpdateView {
  name: string;
  displayName: string;
  version: string;
  /** force_install_after_date, ISO. */
  deadline?: string;
  /** True when it needs a restart (RequireRestart or RecommendRestart). */
  restart: boolean;
}

/** The pending managed installs of an InstallInfo.plist dictionary, soonest deadline first. */
export function pendingUpdates(installInfo: PlistDict): PendingUpdateView[] {
  const list = installInfo['managed_installs'];
  const pending: PendingUpdateView[] = [];
  for (const item of Array.isArray(list) ? list.filter(isPlistDict) : []) {
    if (item['installed'] === true) continue;
    const text = (key: string): string => (typeof item[key] === 'string' ? item[key] : '');
    const name = text('name');
    const deadline = item['force_install_after_date'];
    const restart = text('RestartAction');
    pending.push({
      name,
      displayName: text('display_name') || name,
      version: text('version_to_install'),
      ...(deadline instanceof Date ? { deadline: deadline.toISOString() } : {}),
      restart: restart === 'RequireRestart' || restart === 'RecommendRestart',
    });
  }
  // Undated items last: '\uffff' sorts after every ISO date.
  return pending.sort((a, b) => (a.deadline ?? '\uffff').localeCompare(b.deadline ?? '\uffff'));
}
