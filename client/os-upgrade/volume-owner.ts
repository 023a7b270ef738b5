/**
 * On Apple silicon, startosinstall run as root still needs a volume owner's name and password
 * (`--user U --stdinpass`); without them it stops with "Error: failed to authorize for
 * installation". This is the small interface the upgrade needs from whatever supplies them (the
 * Apple-updates credential provider): a function that fetches them when asked, so the password
 * lives in memory only for the one run that uses it.
 */

/** A volume owner's account, for `--user` and the stdin of `--stdinpass`. */
export interface VolumeOwnerCredentials {
  user: string;
  password: string;
}

/** Fetches the credentials; undefined when none are configured or they could not be had. */
export type VolumeOwnerSource = () => Promise<VolumeOwnerCredentials | undefined>;

/** Replaces every occurrence of `secret` in `text` with `***` (a password must never be shown). */
export function withoutSecret(text: string, secret: string | undefined): string {
  return secret === undefined || secret === '' ? text : text.split(secret).join('***');
}
