/**
 * `softwareupdate --fetch-full-installer --full-installer-version X`: Apple's own download of an
 * Install macOS app into /Applications, for repos that do not carry one (Catalina and later).
 * It prints "Scanning for X installer", then "Install finished successfully" or
 * "Install failed with error: …" (recorded output in test/fixtures/startosinstall/README.md).
 */
import { join } from 'node:path';
import type { Logger } from '../../lib/log.js';
import { runCommand, shellExitStatus } from '../../lib/run-command.js';

/** softwareupdate's macOS path, run from under the root (tests put a fake there). */
export const SOFTWAREUPDATE = '/usr/sbin/softwareupdate';

/** What a fetch needs. */
export interface FetchFullInstaller {
  root: string;
  /** The macOS version to fetch, e.g. `15.1`. */
  version: string;
  timeoutMs: number;
  logger: Logger;
}

/** Fetches the full installer; resolves with undefined on success, else with why it failed. */
export async function fetchFullInstaller(fetch: FetchFullInstaller): Promise<string | undefined> {
  const argv = [
    join(fetch.root, SOFTWAREUPDATE),
    '--fetch-full-installer',
    '--full-installer-version',
    fetch.version,
  ];
  fetch.logger.info('osupgrade.fetch', `Fetching the macOS ${fetch.version} installer from Apple`);
  const r = await runCommand(argv, { timeoutMs: fetch.timeoutMs });
  const lines = `${r.stdout}\n${r.stderr}`
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const line of lines) fetch.logger.debug('osupgrade.fetch.output', line);
  const failure = lines.find((l) => /^Install failed/i.test(l));
  if (r.timedOut) {
    return `softwareupdate --fetch-full-installer was stopped after ${Math.round(fetch.timeoutMs / 60_000)} minutes`;
  }
  if (failure !== undefined) return `softwareupdate: ${failure}`;
  const status = shellExitStatus(r);
  if (status !== 0) {
    return `softwareupdate --fetch-full-installer exited with status ${status}${lines.length > 0 ? `: ${lines.at(-1)}` : ''}`;
  }
  if (!lines.some((l) => /^Install finished successfully/i.test(l))) {
    return 'softwareupdate --fetch-full-installer did not say it finished';
  }
  return undefined;
}
