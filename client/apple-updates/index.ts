/** The public face of `client/apple-updates/`: listing, deferring and installing Apple's updates. */

export type {
  AppleUpdate,
  AppleUpdateJson,
  AppleUpdateKind,
  ListedUpdate,
} from './apple-update-types.js';
export { toAppleUpdateJson } from './apple-update-types.js';
export {
  appleUpdatesFile,
  readAppleUpdates,
  toAppleUpdateEntry,
  writeAppleUpdates,
} from './apple-updates-plist.js';
export {
  addAppleUpdatesToCheck,
  checkAppleUpdates,
  isAppleUpdateCheckEnabled,
} from './check-apple-updates.js';
export type { AppleCheckConfig, AppleCheckOutcome } from './check-apple-updates.js';
export { runAppleUpdateSession } from './apple-update-session.js';
export type {
  AppleSessionConfig,
  AppleSessionContext,
  AppleSessionOutcome,
  AppleUpdateResult,
} from './apple-update-session.js';
