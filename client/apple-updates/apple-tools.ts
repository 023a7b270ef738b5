/**
 * Where Apple's tools are run from. DESIGN.md: tools the sandbox cannot stand in for run from
 * under the platform root (`<root>/usr/sbin/softwareupdate`); the root is `/` on a Mac, so this
 * is the real tool there, and a test's recording fake in a sandbox.
 */
import { join } from 'node:path';

/** The macOS paths of the tools this folder runs. */
export const APPLE_UPDATE_TOOLS = {
  softwareupdate: '/usr/sbin/softwareupdate',
  security: '/usr/bin/security',
} as const;

/** `macPath` under `root` (`/usr/sbin/softwareupdate` itself when the root is `/`). */
export function toolUnderRoot(root: string, macPath: string): string {
  return join(root, macPath);
}
