/**
 * Package scripts run as installer runs them: extracted from the gzip'd cpio `Scripts` member into
 * a private (0700) folder and started there (the working folder is the scripts folder), with argv
 * `$1` package path, `$2` install location as a path under the root, `$3` target volume (the root),
 * `$4` `/`, killed after 600 s (PackageKit's "Task has exceeded its 600 seconds of runtime"), and
 * the environment a real script sees (as dumped by scripts run by installer): INSTALLER_TEMP (a
 * private scratch folder, removed afterwards), PACKAGE_PATH, DSTVOLUME (= `$3`), DSTROOT (= `$2`),
 * SCRIPT_NAME, INSTALL_PKG_SESSION_ID (the component's id), COMMAND_LINE_INSTALL=1 and installer's
 * PATH (`/bin:/sbin:/usr/bin:/usr/sbin:/usr/libexec`), on top of this process's environment and the
 * pkginfo's installer_environment, plus ABBOT_ROOT. INSTALLER_PAYLOAD_DIR, SHARED_INSTALLER_TEMP
 * and INSTALLER_SECURE_TEMP are not set: no real dump shows the first for flat packages, and the
 * other two name PackageKit's own sandboxes. In installer_environment, `USER=CURRENT_CONSOLE_USER`
 * means root (a sandbox has no console user), with HOME `<root>/var/root`.
 *
 * install-package.ts extracts them and passes each one its argv and variables.
 */
import { runCommand } from '../../../lib/run-command.js';
import type { CommandResult, RunCommandOptions } from '../../../lib/run-command.js';
import { hostPathFor } from './files.js';

/** How long one package script may run: PackageKit ends a script after 600 seconds. */
export const PACKAGE_SCRIPT_TIMEOUT_MS = 600_000;

/** The PATH installer gives package scripts. */
export const INSTALLER_SCRIPT_PATH = '/bin:/sbin:/usr/bin:/usr/sbin:/usr/libexec';

/** installer_environment for sandbox scripts (`USER=CURRENT_CONSOLE_USER`: root, no console here). */
export function scriptEnvironment(
  root: string,
  custom: Record<string, string> | undefined,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [key, value] of Object.entries(custom ?? {})) {
    if (key === 'USER' && value === 'CURRENT_CONSOLE_USER') {
      env['USER'] = 'root';
      env['HOME'] = hostPathFor(root, '/var/root') ?? root;
    } else {
      env[key] = value;
    }
  }
  return env;
}

/** Runs one package script, retrying on ETXTBSY (a freshly written file another fork still holds). */
export async function runPackageScript(run: {
  script: string;
  scriptsDir: string;
  argv: string[];
  env: Record<string, string | undefined>;
  timeoutMs: number;
}): Promise<CommandResult> {
  const options: RunCommandOptions = {
    env: run.env,
    cwd: run.scriptsDir,
    timeoutMs: run.timeoutMs,
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await runCommand([run.script, ...run.argv], options);
    } catch (e) {
      const code = (e as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (code !== 'ETXTBSY' || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** Non-empty lines of script output. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '');
}
