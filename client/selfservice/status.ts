/**
 * What self service says about one optional item, and which buttons it offers. The facts come from
 * four places, most recent first: a request this server is carrying out now (with the run's
 * progress), the last recorded attempt for the item (a failure is shown with its reason until the
 * user tries again), the user's choices in the SelfServeManifest (made since the last check), and
 * the optional_installs entry of the last check (installed, needs_update, will_be_installed,
 * will_be_removed).
 */
import type { PlistDict } from '../../formats/index.js';

/** One item's state on the page. */
export type ItemStatus =
  | { kind: 'not-installed' }
  | { kind: 'installed' }
  | { kind: 'update-available' }
  | { kind: 'will-be-installed' }
  | { kind: 'will-be-removed' }
  | { kind: 'installing'; action: 'install' | 'removal'; detail?: string; percent?: number }
  | { kind: 'failed'; action: 'install' | 'removal'; reason: string };

/** What the user may ask for next. */
export type ItemAction = 'install' | 'remove';

/** A request for the item that this server is carrying out. */
export interface ItemActivity {
  action: 'install' | 'removal';
  /** Progress text of the run (e.g. `Downloading … 3/10 MiB`), when there is a run. */
  detail?: string;
  percent?: number;
  /** Set when the request failed before or outside the run (e.g. another run holds the lock). */
  error?: string;
}

/** The item's most recent install or removal attempt, from the client state. */
export interface LastAttempt {
  action: 'install' | 'removal';
  result: 'success' | 'failed' | 'skipped';
  error?: string;
}

/** Everything the status of one item depends on. */
export interface StatusInput {
  /** The optional_installs entry from InstallInfo.plist. */
  offer: PlistDict;
  /** The user's SelfServeManifest says install (true), remove (false) or nothing (undefined). */
  choice: boolean | undefined;
  activity?: ItemActivity | undefined;
  lastAttempt?: LastAttempt | undefined;
}

/** The item's status. */
export function itemStatus(input: StatusInput): ItemStatus {
  const { offer, choice, activity, lastAttempt } = input;
  if (activity?.error !== undefined) {
    return { kind: 'failed', action: activity.action, reason: activity.error };
  }
  if (activity) {
    return {
      kind: 'installing',
      action: activity.action,
      ...(activity.detail !== undefined ? { detail: activity.detail } : {}),
      ...(activity.percent !== undefined ? { percent: activity.percent } : {}),
    };
  }
  const installed = offer['installed'] === true;
  const needsUpdate = installed && offer['needs_update'] === true;
  const wantsInstall = choice === true || offer['will_be_installed'] === true;
  const wantsRemoval = choice === false || offer['will_be_removed'] === true;
  const failed = (action: 'install' | 'removal'): ItemStatus | undefined =>
    lastAttempt?.result === 'failed' && lastAttempt.action === action
      ? { kind: 'failed', action, reason: lastAttempt.error ?? `the ${action} failed` }
      : undefined;

  if (installed && choice !== true && wantsRemoval) {
    return failed('removal') ?? { kind: 'will-be-removed' };
  }
  if (needsUpdate) return failed('install') ?? { kind: 'update-available' };
  if (installed) return { kind: 'installed' };
  if (wantsInstall && choice !== false) return failed('install') ?? { kind: 'will-be-installed' };
  return { kind: 'not-installed' };
}

/**
 * The buttons for an item: install while it is not (or not fully) installed and the offer has no
 * note saying why it cannot be; remove while it is installed and uninstallable, or to cancel a
 * pending install. Nothing while a request is under way.
 */
export function itemActions(status: ItemStatus, offer: PlistDict): ItemAction[] {
  const installable = offer['note'] === undefined;
  const uninstallable = offer['uninstallable'] === true;
  switch (status.kind) {
    case 'installing':
      return [];
    case 'not-installed':
      return installable ? ['install'] : [];
    case 'installed':
      return uninstallable ? ['remove'] : [];
    case 'update-available':
      return [
        ...(installable ? (['install'] as const) : []),
        ...(uninstallable ? (['remove'] as const) : []),
      ];
    case 'will-be-installed':
      return ['remove'];
    case 'will-be-removed':
      return ['install'];
    case 'failed':
      return status.action === 'install'
        ? installable
          ? ['install']
          : []
        : uninstallable
          ? ['remove']
          : [];
  }
}

/** The words the page shows for a status. */
export function statusText(status: ItemStatus): string {
  switch (status.kind) {
    case 'not-installed':
      return 'Not installed';
    case 'installed':
      return 'Installed';
    case 'update-available':
      return 'Update available';
    case 'will-be-installed':
      return 'Will be installed';
    case 'will-be-removed':
      return 'Will be removed';
    case 'installing': {
      const verb = status.action === 'install' ? 'Installing' : 'Removing';
      return status.percent !== undefined ? `${verb}… ${status.percent}%` : `${verb}…`;
    }
    case 'failed':
      return `${status.action === 'install' ? 'Install' : 'Removal'} failed: ${status.reason}`;
  }
}
