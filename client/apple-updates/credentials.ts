/**
 * The volume owner's credentials that `softwareupdate --install` needs on Apple silicon, from a
 * provider the admin configures:
 * - a script (AppleUpdateCredentialScript, an absolute path run from under the root) that prints
 *   the user name on its first line and the password on its second;
 * - a keychain item (AppleUpdateKeychainService + AppleUpdateKeychainAccount, the account being
 *   the user name), read with `<root>/usr/bin/security find-generic-password -s S -a A -w`.
 * The password never appears in an argv, a message, a log field or a thrown error: errors say
 * which provider failed and how, never what it printed on stdout.
 */
import { isAbsolute } from 'node:path';
import { AppError } from '../../lib/errors.js';
import { runCommand, type CommandResult } from '../../lib/run-command.js';
import type { Config } from '../config.js';
import { APPLE_UPDATE_TOOLS, toolUnderRoot } from './apple-tools.js';

/** Where the credentials come from. */
export type CredentialSource =
  { kind: 'script'; path: string } | { kind: 'keychain'; service: string; account: string };

/** A user name and password; the password is kept out of JSON, string forms and enumeration. */
export class VolumeOwnerCredentials {
  readonly user: string;
  readonly #password: string;

  constructor(user: string, password: string) {
    this.user = user;
    this.#password = password;
  }

  /** The password, for `--stdinpass` only. */
  get password(): string {
    return this.#password;
  }

  /** What JSON.stringify and loggers see. */
  toJSON(): { user: string } {
    return { user: this.user };
  }

  /** What string interpolation sees. */
  toString(): string {
    return this.user;
  }
}

/** How long a provider may take. */
export const CREDENTIAL_TIMEOUT_MS = 60_000;

/** The provider the preferences configure; undefined when there is none. */
export function credentialSourceFrom(
  config: Pick<
    Config,
    'AppleUpdateCredentialScript' | 'AppleUpdateKeychainService' | 'AppleUpdateKeychainAccount'
  >,
): CredentialSource | undefined {
  if (config.AppleUpdateCredentialScript !== undefined) {
    return { kind: 'script', path: config.AppleUpdateCredentialScript };
  }
  if (config.AppleUpdateKeychainService !== undefined && config.AppleUpdateKeychainAccount) {
    return {
      kind: 'keychain',
      service: config.AppleUpdateKeychainService,
      account: config.AppleUpdateKeychainAccount,
    };
  }
  return undefined;
}

/** A one-line description of a provider, for messages (no secrets in it). */
export function describeCredentialSource(source: CredentialSource): string {
  return source.kind === 'script'
    ? `credential script ${source.path}`
    : `keychain item ${source.service} (account ${source.account})`;
}

function failure(source: CredentialSource, result: CommandResult, stderrIsSafe: boolean): AppError {
  const how = result.timedOut
    ? 'timed out'
    : result.signal !== null
      ? `was killed by ${result.signal}`
      : `exited with status ${result.exitCode ?? '?'}`;
  // `security` reports its own errors on stderr; an admin's script might echo anything there.
  const said = stderrIsSafe ? result.stderr.trim().split('\n')[0]?.slice(0, 200) : undefined;
  return new AppError(
    'COMMAND_FAILED',
    `${describeCredentialSource(source)} ${how}${said ? `: ${said}` : ''}`,
    { hint: 'check the Apple update credential preferences' },
  );
}

/** Reads the credentials; throws AppError naming the provider (never its output) when it fails. */
export async function readCredentials(
  source: CredentialSource,
  root: string,
  options: { timeoutMs?: number } = {},
): Promise<VolumeOwnerCredentials> {
  const timeoutMs = options.timeoutMs ?? CREDENTIAL_TIMEOUT_MS;
  if (source.kind === 'script') {
    if (!isAbsolute(source.path) || source.path.split('/').includes('..')) {
      throw new AppError(
        'PATH_UNSAFE',
        `credential script ${source.path}: must be an absolute path without ".."`,
      );
    }
    const result = await runCommand([toolUnderRoot(root, source.path)], { timeoutMs });
    if (result.exitCode !== 0 || result.timedOut) throw failure(source, result, false);
    const lines = result.stdout.replace(/\r/g, '').replace(/\n+$/, '').split('\n');
    const [user = '', password = '', ...rest] = lines;
    if (user.trim() === '' || password === '' || rest.length > 0) {
      throw new AppError(
        'COMMAND_FAILED',
        `${describeCredentialSource(source)}: must print exactly two lines, the user name and the password`,
      );
    }
    return new VolumeOwnerCredentials(user.trim(), password);
  }
  const argv = [
    toolUnderRoot(root, APPLE_UPDATE_TOOLS.security),
    'find-generic-password',
    '-s',
    source.service,
    '-a',
    source.account,
    '-w',
  ];
  const result = await runCommand(argv, { timeoutMs });
  if (result.exitCode !== 0 || result.timedOut) throw failure(source, result, true);
  // `-w` prints the password and one newline.
  const password = result.stdout.replace(/\r?\n$/, '');
  if (password === '') {
    throw new AppError(
      'COMMAND_FAILED',
      `${describeCredentialSource(source)}: the password is empty`,
    );
  }
  return new VolumeOwnerCredentials(source.account, password);
}
