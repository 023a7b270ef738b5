/**
 * The Apple software update domain: what `softwareupdate --list` offers, how Abbot classifies it,
 * and the entry each update becomes in the plan (`appleUpdates` in `abbot check --json`, Munki's
 * `AppleUpdates.plist`).
 */

/** What kind of Apple update this is; major upgrades are offered only when the admin allows them. */
export type AppleUpdateKind = 'minor' | 'security-response' | 'major';

/** One update as `softwareupdate --list` shows it. */
export interface ListedUpdate {
  /** What `softwareupdate --install` takes, e.g. `macOS Ventura 13.6-22G120`. */
  label: string;
  title: string;
  version: string;
  /** Download size in KB (softwareupdate's `K` and `KiB` are both kibibytes); undefined if not shown. */
  sizeKb: number | undefined;
  recommended: boolean;
  /** softwareupdate's Action (`restart`), or the `[restart]` tag of the old format. */
  restartRequired: boolean;
}

/** A listed update with what Abbot decided about it. */
export interface AppleUpdate extends ListedUpdate {
  kind: AppleUpdateKind;
  /** When a check first listed this label. */
  firstSeen: Date;
  /** AppleUpdateDeferralDays after firstSeen; undefined when there is no deferral. */
  deferredUntil: Date | undefined;
  /** AppleUpdateDeadlineDays after firstSeen: installed then, with a restart; undefined when none. */
  deadline: Date | undefined;
  /** True when only a user can install it (Apple silicon without volume owner credentials). */
  userActionRequired?: boolean;
}

/** An Apple update as `abbot check --json` prints it. */
export interface AppleUpdateJson {
  label: string;
  title: string;
  version: string;
  size_kb: number | null;
  restart_required: boolean;
  kind: AppleUpdateKind;
  recommended: boolean;
  first_seen: string;
  deferred_until: string | null;
  deadline: string | null;
  user_action_required: boolean;
}

/** The JSON form of an update (dates as ISO 8601 strings). */
export function toAppleUpdateJson(update: AppleUpdate): AppleUpdateJson {
  return {
    label: update.label,
    title: update.title,
    version: update.version,
    size_kb: update.sizeKb ?? null,
    restart_required: update.restartRequired,
    kind: update.kind,
    recommended: update.recommended,
    first_seen: update.firstSeen.toISOString(),
    deferred_until: update.deferredUntil?.toISOString() ?? null,
    deadline: update.deadline?.toISOString() ?? null,
    user_action_required: update.userActionRequired === true,
  };
}
