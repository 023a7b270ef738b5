/** RestartAction values, as packages and pkginfo files express them, and how they combine. */
import type { RestartAction } from './platform.js';

/** RestartAction values, mildest first (installer's own order). */
export const RESTART_SEVERITY: readonly RestartAction[] = [
  'None',
  'RecommendRestart',
  'RequireLogout',
  'RequireRestart',
  'RequireShutdown',
];

/** The more demanding of two restart actions. */
export function strongerRestartAction(a: RestartAction, b: RestartAction): RestartAction {
  return RESTART_SEVERITY.indexOf(b) > RESTART_SEVERITY.indexOf(a) ? b : a;
}

/** A pkginfo or installer RestartAction string, or None when it is missing or unknown. */
export function asRestartAction(value: unknown): RestartAction {
  return typeof value === 'string' && (RESTART_SEVERITY as readonly string[]).includes(value)
    ? (value as RestartAction)
    : 'None';
}

/** PackageInfo `postinstall-action` as a RestartAction: restart, logout, shutdown; else None. */
export function restartActionFromPostinstall(action: string | undefined): RestartAction {
  switch (action?.toLowerCase()) {
    case 'restart':
      return 'RequireRestart';
    case 'logout':
      return 'RequireLogout';
    case 'shutdown':
      return 'RequireShutdown';
    default:
      return 'None';
  }
}

/**
 * A pkg-ref `onConclusion` as a RestartAction, compared without case as installer does
 * (productbuild writes `RequireLogOut`); unknown values are None.
 */
export function restartActionFromConclusion(value: string | undefined): RestartAction {
  const wanted = value?.trim().toLowerCase();
  return RESTART_SEVERITY.find((s) => s.toLowerCase() === wanted) ?? 'None';
}
